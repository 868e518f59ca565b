from .cache import DecodedSampleCache
from .cityscapes import CityscapesDataset
from .loading import LoadCityscapesImage, LoadCityscapesLabel
from .synthetic import SyntheticCityscapesDataset
from .transforms import Albu, PackSegInputs, ResizeByRatio

__all__ = ['Albu', 'CityscapesDataset', 'DecodedSampleCache', 'LoadCityscapesImage',
           'LoadCityscapesLabel', 'PackSegInputs', 'ResizeByRatio', 'SyntheticCityscapesDataset']
