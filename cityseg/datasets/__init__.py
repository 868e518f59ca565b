from .cache import DecodedSampleCache
from .cityscapes import CityscapesDataset
from .corruptions import ImageCorruption
from .loading import LoadCityscapesImage, LoadCityscapesLabel
from .synthetic import SyntheticCityscapesDataset
from .transforms import Albu, PackSegInputs, ResizeByRatio

__all__ = ['Albu', 'CityscapesDataset', 'DecodedSampleCache', 'ImageCorruption',
           'LoadCityscapesImage', 'LoadCityscapesLabel', 'PackSegInputs', 'ResizeByRatio',
           'SyntheticCityscapesDataset']
