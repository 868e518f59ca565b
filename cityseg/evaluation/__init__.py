"""Evaluation metrics, registered into cityseg's METRICS registry on import."""
from .confusion import confusion_matrix, metrics_from_confusion
from .instance_iou import instance_counts, instance_iou
from .iou_metric import IoUMetric

__all__ = ['IoUMetric', 'confusion_matrix', 'instance_counts', 'instance_iou',
           'metrics_from_confusion']
