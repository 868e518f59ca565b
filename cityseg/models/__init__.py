from .data_preprocessor import SegDataPreProcessor
from .losses import DiceLoss, FocalLoss, JointLoss
from .segmentor import SMPSegmentor

__all__ = ['DiceLoss', 'FocalLoss', 'JointLoss', 'SMPSegmentor', 'SegDataPreProcessor']
