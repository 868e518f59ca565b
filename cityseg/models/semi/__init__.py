"""Semi-supervised and domain-adaptive self-training: a student, its EMA teacher, mixing."""
from .data_preprocessor import MultiBranchDataPreprocessor
from .ema import ema_update
from .mixing import ClassMix, CutMix, mix
from .pseudo_labels import pixel_weights, pseudo_labels, weighted_cross_entropy
from .segmentor import SemiSegmentor

__all__ = ['ClassMix', 'CutMix', 'MultiBranchDataPreprocessor', 'SemiSegmentor', 'ema_update',
           'mix', 'pixel_weights', 'pseudo_labels', 'weighted_cross_entropy']
