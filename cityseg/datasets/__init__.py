from .cache import DecodedSampleCache
from .cityscapes import CityscapesDataset
from .corruptions import ImageCorruption
from .loading import LoadCityscapesImage, LoadCityscapesLabel
from .synthetic import SyntheticCityscapesDataset
from .transforms import Albu, PackSegInputs, ResizeByRatio

__all__ = ['Albu', 'CityscapesDataset', 'DecodedSampleCache', 'ImageCorruption',
           'LoadCityscapesImage', 'LoadCityscapesLabel', 'PackSegInputs', 'ResizeByRatio',
           'SyntheticCityscapesDataset']
from .acdc import ACDCDataset
from .bdd100k import BDD100KDataset
from .dark_zurich import DarkZurichDataset
from .paired import CityscapesClassesDataset, PairedSegDataset
from .seg_folder import SegFolderDataset

__all__ += ['ACDCDataset', 'BDD100KDataset', 'CityscapesClassesDataset', 'DarkZurichDataset',
            'PairedSegDataset', 'SegFolderDataset']
