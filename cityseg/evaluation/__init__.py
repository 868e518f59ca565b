"""Evaluation metrics, registered into cityseg's METRICS registry on import."""
from .anomaly_components import aggregate_components, frame_components
from .anomaly_curves import pixel_curves
from .anomaly_metric import AnomalyMetric
from .calibration import CalibrationMetric, calibration_scores, calibration_sums
from .confusion import confusion_matrix, metrics_from_confusion
from .instance_iou import instance_counts, instance_iou
from .iou_metric import IoUMetric
from .metrics_file import read_metrics_file, write_metrics_file
from .temperature import fit_temperature

__all__ = ['AnomalyMetric', 'CalibrationMetric', 'IoUMetric', 'aggregate_components',
           'calibration_scores', 'calibration_sums', 'fit_temperature', 'frame_components',
           'pixel_curves', 'confusion_matrix', 'instance_counts', 'instance_iou',
           'metrics_from_confusion', 'read_metrics_file', 'write_metrics_file']
