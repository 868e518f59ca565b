from .cityscapes import CityscapesDataset
from .synthetic_dataset import SyntheticCityscapesDataset
from .transforms import Albu, LoadCityscapesLabel, PackSegInputs, ResizeByRatio

__all__ = ['Albu', 'CityscapesDataset', 'LoadCityscapesLabel', 'PackSegInputs', 'ResizeByRatio',
           'SyntheticCityscapesDataset']
