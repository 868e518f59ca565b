"""The confusion matrix of one image, and the per-class scores of a summed matrix.

Rows are ground truth, columns predictions. One ``torch.bincount`` over ``gt * C + pred``
counts every pair, on the device the prediction lives on, so a GPU evaluation never copies
label maps to the host: only the small matrix travels. On the CPU this costs a few
milliseconds per 1024x2048 image against seconds for the prediction itself
(``tools/analysis_tools/benchmark_metric.py``), so there is no second, faster way to keep
in agreement with it.
"""
from __future__ import annotations

from typing import NoReturn

import numpy as np
import torch


def confusion_matrix(pred: torch.Tensor, gt: torch.Tensor, num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """Count ``(ground truth, prediction)`` pixel pairs of one image, skipping ignored pixels.

    Args:
        pred: predicted class indices, any shape, any integer dtype.
        gt: ground-truth class indices of the same shape; ``ignore_index`` marks void pixels.
            It is moved to ``pred``'s device, where the counting happens.
        num_classes: number of classes ``C``.
        ignore_index: ground-truth value of pixels left out of the counts; must be
            non-negative (label maps are stored as uint8 PNGs, void is 255 there).

    Returns:
        ``(C, C)`` int64 tensor on ``pred``'s device; entry ``[i, j]`` counts the pixels of
        class ``i`` predicted as ``j``.

    Raises:
        ValueError: shapes differ, a map is not of an integer dtype, a prediction lies outside
            ``[0, C)``, or a ground-truth value is neither in ``[0, C)`` nor ``ignore_index``.
            Out-of-range values would otherwise be folded silently into other cells of the
            matrix; they usually mean that the config's number of classes does not match the
            checkpoint or the labels.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'prediction shape {tuple(pred.shape)} differs from ground-truth '
                         f'shape {tuple(gt.shape)}')
    for name, t in (('prediction', pred), ('ground truth', gt)):
        if t.dtype.is_floating_point or t.dtype.is_complex or t.dtype == torch.bool:
            raise ValueError(f'{name} must hold integer class indices, got dtype {t.dtype}')
    if ignore_index < 0:
        raise ValueError(f'ignore_index must be non-negative, got {ignore_index}')
    if pred.numel() == 0:
        return torch.zeros(num_classes, num_classes, dtype=torch.int64, device=pred.device)
    gt = gt.to(pred.device)
    # Bounds in the maps' own dtypes, widened before comparing: no value can wrap into range.
    # One host synchronisation for the four of them.
    p_lo, p_hi, g_lo, g_hi = torch.stack(
        [b.to(torch.int64) for b in (*torch.aminmax(pred), *torch.aminmax(gt))]).tolist()
    if p_lo < 0 or p_hi >= num_classes:
        raise ValueError(f'predictions must lie in [0, {num_classes}), found values in '
                         f'[{p_lo}, {p_hi}]: does num_classes match the model?')
    # Rows up to the void label are counted too, so that values between the classes and
    # ignore_index show up as counts in rows that must stay empty.
    top_row = max(num_classes - 1, ignore_index)
    if g_lo < 0 or g_hi > top_row:
        _raise_bad_gt([v for v in (g_lo, g_hi) if v < 0 or v > top_row], num_classes,
                      ignore_index)
    size = (top_row + 1) * num_classes
    # Both maps are checked to be in range, so int32 holds every index exactly; it halves
    # the bytes of int64 (on the CPU, 2-3 ms instead of 15-20 ms for 2M pixels).
    dtype = torch.int32 if size <= torch.iinfo(torch.int32).max else torch.int64
    index = gt.to(dtype) * num_classes + pred.to(dtype)
    rows = torch.bincount(index.reshape(-1), minlength=size)
    rows = rows.view(top_row + 1, num_classes)
    beyond = torch.nonzero(rows[num_classes:].sum(1)).flatten().add(num_classes).tolist()
    bad = [v for v in beyond if v != ignore_index]
    if bad:
        _raise_bad_gt(bad, num_classes, ignore_index)
    conf = rows[:num_classes].clone()
    if ignore_index < num_classes:
        conf[ignore_index] = 0
    return conf


def _raise_bad_gt(values: list[int], num_classes: int, ignore_index: int) -> NoReturn:
    """Raise the error for ground-truth values that are neither a class nor void."""
    raise ValueError(f'ground truth contains values {values} outside [0, {num_classes}) that '
                     f'are not ignore_index={ignore_index}: does num_classes match the labels?')


def metrics_from_confusion(conf: np.ndarray, beta: float = 1.0) -> dict[str, np.ndarray]:
    """Per-class scores (fractions) of a ``(C, C)`` confusion matrix, rows = ground truth.

    Returns arrays of length ``C`` under ``'IoU'`` (TP / (TP + FP + FN)), ``'Acc'`` and
    ``'Recall'`` (TP / (TP + FN)), ``'Precision'`` (TP / (TP + FP)), ``'Dice'``
    (2TP / (2TP + FP + FN)) and ``'Fscore'`` ((1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP),
    with ``b = beta``).

    A score is nan where its denominator is zero: IoU, Dice and F-score exactly for classes
    absent from both ground truth and prediction, Acc/Recall for classes absent from the ground
    truth, Precision for classes never predicted. The F-score is written in TP/FP/FN rather
    than from precision and recall so that a class present but never predicted scores 0, not
    nan.
    """
    conf = np.asarray(conf, dtype=np.float64)
    tp = np.diag(conf)
    gt_total = conf.sum(axis=1)  # TP + FN
    pred_total = conf.sum(axis=0)  # TP + FP
    b2 = beta ** 2
    with np.errstate(divide='ignore', invalid='ignore'):
        return {
            'IoU': tp / (gt_total + pred_total - tp),
            'Acc': tp / gt_total,
            'Dice': 2 * tp / (gt_total + pred_total),
            'Fscore': (1 + b2) * tp / (b2 * gt_total + pred_total),
            'Precision': tp / pred_total,
            'Recall': tp / gt_total,
        }
