from .data_preprocessor import SegDataPreProcessor
from .losses import DiceLoss, FocalLoss, JointLoss
from .networks import build_network
from .segmentor import SMPSegmentor

__all__ = ['DiceLoss', 'FocalLoss', 'JointLoss', 'SMPSegmentor', 'SegDataPreProcessor',
           'build_network']
