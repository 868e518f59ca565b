"""Semi-supervised and domain-adaptive self-training: a student, its EMA teacher, mixing;
one base (:class:`SemiSegmentor`) and a class per method."""
from .data_preprocessor import MultiBranchDataPreprocessor
from .ema import ema_update
from .methods import DACS, MIC, FixMatch, UniMatch
from .mixing import ClassMix, CutMix, mix
from .pseudo_labels import pixel_weights, pseudo_labels, weighted_cross_entropy
from .segmentor import MixSource, PseudoLabels, SemiSegmentor
from .thresholds import SelfAdaptiveThreshold, class_balanced_thresholds

__all__ = ['DACS', 'MIC', 'ClassMix', 'CutMix', 'FixMatch', 'MixSource',
           'MultiBranchDataPreprocessor', 'PseudoLabels', 'SelfAdaptiveThreshold',
           'SemiSegmentor', 'UniMatch', 'class_balanced_thresholds', 'ema_update', 'mix',
           'pixel_weights', 'pseudo_labels', 'weighted_cross_entropy']
