from .class_weight_hook import ClassWeightHook
from .encoder_unfreeze_hook import EncoderUnfreezeHook
from .mean_teacher_hook import MeanTeacherHook
from .metric_output_dir_hook import MetricOutputDirHook
from .non_finite_loss_hook import NonFiniteLossHook
from .prediction_writer_hook import PredictionWriterHook
from .resume_validation_hook import ResumeValidationHook
from .rng_state_hook import RNGStateHook
from .seg_visualization_hook import SegVisualizationHook
from .sync_buffers_hook import SyncBuffersEveryIterHook
from .training_curves_hook import TrainingCurvesHook
from .worst_images_hook import WorstImagesHook

__all__ = ['ClassWeightHook', 'EncoderUnfreezeHook', 'MeanTeacherHook',
           'MetricOutputDirHook', 'NonFiniteLossHook',
           'PredictionWriterHook', 'ResumeValidationHook', 'RNGStateHook', 'SegVisualizationHook',
           'SyncBuffersEveryIterHook', 'TrainingCurvesHook', 'WorstImagesHook']
