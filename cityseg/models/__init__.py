from .data_preprocessor import SegDataPreProcessor
from .losses import DiceLoss, FocalLoss, JointLoss
from .networks import build_network
from .predictor import predicting_segmentor
from .segmentor import SMPSegmentor
from .semi import DACS, MIC, ClassMix, CutMix, FixMatch, SemiSegmentor, UniMatch

__all__ = ['DACS', 'MIC', 'ClassMix', 'CutMix', 'DiceLoss', 'FixMatch', 'FocalLoss',
           'JointLoss', 'SMPSegmentor', 'SegDataPreProcessor', 'SemiSegmentor', 'UniMatch',
           'build_network', 'predicting_segmentor']
