"""The confusion matrix of one image, and the per-class scores of a summed matrix.

Rows are ground truth, columns predictions. The counting is one ``torch.bincount`` over
``gt * C + pred`` on the device the prediction lives on, so a GPU evaluation never copies label
maps to the host: only the small matrix travels. On the CPU the cost is set by how many bytes
the maps hold and by bincount's serial loop, so label maps passed as uint8 are counted in
int16 without ever being widened (2.5x faster than int64 maps, see
``tools/analysis_tools/benchmark_metric.py``).
"""
from __future__ import annotations

from typing import NoReturn

import numpy as np
import torch


def confusion_matrix(pred: torch.Tensor, gt: torch.Tensor, num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """Count ``(ground truth, prediction)`` pixel pairs of one image, skipping ignored pixels.

    Args:
        pred: predicted class indices, any shape, any integer dtype (uint8 is the fastest:
            a 1024x2048 int64 map alone is 16 MB to read). Values are checked after
            narrowing to int32, so magnitudes beyond 2**31, which no label file or argmax
            holds, are not guaranteed to be caught.
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
    # One bincount row of C cells for every ground-truth value up to top_row: the void row
    # and the rows of invalid values are read, for validation, and dropped.
    top_row = max(num_classes - 1, ignore_index)
    size = (top_row + 1) * num_classes
    # Everything is counted in the narrowest type that holds both maps and the index: int16
    # for uint8/int16 maps (no wide bytes are ever read), int32 otherwise (one read of the
    # wide values; int32 holds any value of a label file or an argmax, and the values beyond
    # it, which the narrowing would wrap, cannot occur in either).
    narrow = max(pred.dtype.itemsize, gt.dtype.itemsize) <= 2 and \
        size <= torch.iinfo(torch.int16).max
    dtype = torch.int16 if narrow else torch.int32
    index = gt.to(device=pred.device, dtype=dtype, copy=True)  # the sum is written into it
    pred = pred.to(dtype)
    # One host synchronisation for the four bounds instead of one per bound.
    p_lo, p_hi, g_lo, g_hi = torch.stack([*torch.aminmax(pred), *torch.aminmax(index)]).tolist()
    if p_lo < 0 or p_hi >= num_classes:
        raise ValueError(f'predictions must lie in [0, {num_classes}), found values in '
                         f'[{p_lo}, {p_hi}]: does num_classes match the model?')
    if g_lo < 0 or g_hi > top_row:
        _raise_bad_gt([v for v in (g_lo, g_hi) if v < 0 or v > top_row], num_classes,
                      ignore_index)
    torch.add(pred, index, alpha=num_classes, out=index)
    rows = torch.bincount(index.flatten(), minlength=size).view(top_row + 1, num_classes)
    if g_hi >= num_classes:
        present = torch.nonzero(rows[num_classes:].sum(1)).flatten().add(num_classes).tolist()
        bad = [v for v in present if v != ignore_index]
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
