"""Evaluation metrics, registered into cityseg's METRICS registry on import."""
from .iou_metric import IoUMetric, confusion_matrix, metrics_from_confusion

__all__ = ['IoUMetric', 'confusion_matrix', 'metrics_from_confusion']
