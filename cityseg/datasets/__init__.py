from .acdc import ACDCDataset
from .anomaly import (
    FishyscapesLAFDataset,
    RoadAnomaly21Dataset,
    RoadObstacle21Dataset,
    SyntheticAnomalyDataset,
)
from .bdd100k import BDD100KDataset
from .cache import DecodedSampleCache
from .camvid import CamVidDataset
from .cityscapes import CityscapesDataset
from .corruptions import ImageCorruption
from .dark_zurich import DarkZurichDataset
from .gta5 import GTA5Dataset
from .image_folder import ImageFolderDataset
from .loading import LoadCityscapesImage, LoadCityscapesLabel
from .multi_branch import MultiBranch
from .multi_source import MultiSourceDataset
from .paired import CityscapesClassesDataset, PairedSegDataset
from .samplers import MultiSourceSampler
from .seg_folder import SegFolderDataset
from .subset import subset_dataset
from .synthetic import SyntheticCityscapesDataset
from .synthia import SynthiaDataset
from .transforms import Albu, PackSegInputs, ResizeByRatio

__all__ = ['ACDCDataset', 'Albu', 'BDD100KDataset', 'CamVidDataset', 'CityscapesClassesDataset',
           'CityscapesDataset', 'DarkZurichDataset', 'DecodedSampleCache',
           'FishyscapesLAFDataset', 'GTA5Dataset', 'ImageCorruption', 'ImageFolderDataset',
           'LoadCityscapesImage', 'LoadCityscapesLabel', 'MultiBranch', 'MultiSourceDataset',
           'MultiSourceSampler', 'PackSegInputs', 'PairedSegDataset', 'ResizeByRatio',
           'RoadAnomaly21Dataset', 'RoadObstacle21Dataset', 'SegFolderDataset',
           'SyntheticAnomalyDataset', 'SynthiaDataset', 'SyntheticCityscapesDataset',
           'subset_dataset']
