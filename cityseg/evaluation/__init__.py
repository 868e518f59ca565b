"""Evaluation metrics, registered into cityseg's METRICS registry on import."""
from .calibration import CalibrationMetric, calibration_scores, calibration_sums
from .confusion import confusion_matrix, metrics_from_confusion
from .instance_iou import instance_counts, instance_iou
from .iou_metric import IoUMetric
from .metrics_file import read_metrics_file, write_metrics_file
from .temperature import fit_temperature

__all__ = ['CalibrationMetric', 'IoUMetric', 'calibration_scores', 'calibration_sums',
           'fit_temperature', 'confusion_matrix', 'instance_counts', 'instance_iou',
           'metrics_from_confusion', 'read_metrics_file', 'write_metrics_file']
