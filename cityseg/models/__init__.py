from .data_preprocessor import SegDataPreProcessor
from .losses import DiceLoss, FocalLoss, JointLoss
from .networks import build_network
from .predictor import predicting_segmentor
from .segmentor import SMPSegmentor
from .semi import ClassMix, CutMix, SemiSegmentor

__all__ = ['ClassMix', 'CutMix', 'DiceLoss', 'FocalLoss', 'JointLoss', 'SMPSegmentor',
           'SegDataPreProcessor', 'SemiSegmentor', 'build_network', 'predicting_segmentor']
