from .acdc import ACDCDataset
from .anomaly import (
    FishyscapesLAFDataset,
    RoadAnomaly21Dataset,
    RoadObstacle21Dataset,
    SyntheticAnomalyDataset,
)
from .bdd100k import BDD100KDataset
from .cache import DecodedSampleCache
from .cityscapes import CityscapesDataset
from .corruptions import ImageCorruption
from .dark_zurich import DarkZurichDataset
from .loading import LoadCityscapesImage, LoadCityscapesLabel
from .paired import CityscapesClassesDataset, PairedSegDataset
from .seg_folder import SegFolderDataset
from .synthetic import SyntheticCityscapesDataset
from .transforms import Albu, PackSegInputs, ResizeByRatio

__all__ = ['ACDCDataset', 'Albu', 'BDD100KDataset', 'CityscapesClassesDataset',
           'CityscapesDataset', 'DarkZurichDataset', 'DecodedSampleCache', 'FishyscapesLAFDataset',
           'ImageCorruption', 'LoadCityscapesImage', 'LoadCityscapesLabel', 'PackSegInputs',
           'PairedSegDataset', 'ResizeByRatio', 'RoadAnomaly21Dataset', 'RoadObstacle21Dataset',
           'SegFolderDataset', 'SyntheticAnomalyDataset', 'SyntheticCityscapesDataset']
