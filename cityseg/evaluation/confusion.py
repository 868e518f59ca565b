"""The confusion matrix of one image, and the per-class scores of a summed matrix.

Rows are ground truth, columns predictions. Two ways of counting, chosen per image, give the
same matrix:

- on the CPU, for uint8 maps (what the data pipeline and the segmentor hand to the metric),
  the ``(ground truth, prediction)`` pairs are counted run by run: a label map is made of
  regions, so along a row most pixels repeat their left neighbour's pair, and one weighted
  ``numpy.bincount`` over the runs replaces a histogram loop over all two million pixels of
  a Cityscapes frame (``IoUMetric.process`` 1.1 ms per image when 1.8 % of the pixels start a
  run, against 2.5 ms for the next way; ``tools/analysis_tools/benchmark_metric.py``). Maps
  whose neighbours differ more often (fine detail, noise) take the next way, which is then
  faster;
- everywhere else, one ``torch.bincount`` over ``gt * C + pred`` on the device the prediction
  lives on, so a GPU evaluation never copies label maps to the host: only the small matrix
  travels. Narrow maps are counted in int16 without being widened; on the CPU, consecutive
  pixels fill different copies of the histogram, which makes the counting loop's speed
  independent of the data.

Both ways validate every value of both maps.
"""
from __future__ import annotations

from typing import NoReturn

import numpy as np
import torch

# The run-by-run counting does two passes over the pixels plus work per run; above this
# fraction of pixels starting a new run it is slower than one bincount over all pixels
# (measured crossing: 5-6 % on 1024x2048 maps, one thread of a 2-core x86 CPU).
MAX_RUN_FRACTION = 1 / 20
# Copies of the histogram that CPU bincount fills in turn, one pixel each.
CPU_LANES = 4


def confusion_matrix(pred: torch.Tensor, gt: torch.Tensor, num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """Count ``(ground truth, prediction)`` pixel pairs of one image, skipping ignored pixels.

    Args:
        pred: predicted class indices, any shape, any integer dtype (uint8 is the fastest:
            a 1024x2048 int64 map alone is 16 MB to read). Values of wider maps are checked
            after narrowing to int32, so magnitudes beyond 2**31, which no label file or
            argmax holds, are not guaranteed to be caught.
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
    rows = None
    if pred.device.type == 'cpu' and pred.dtype == gt.dtype == torch.uint8:
        rows = _gt_rows_by_runs(pred.numpy(), gt.cpu().numpy(), num_classes)
    if rows is None:
        rows = _gt_rows_by_bincount(pred, gt, num_classes, ignore_index)
    return _confusion_from_gt_rows(rows, num_classes, ignore_index)


def _gt_rows_by_runs(pred: np.ndarray, gt: np.ndarray, num_classes: int) -> torch.Tensor | None:
    """``(256, 256)`` int64 counts of the ``(gt, pred)`` byte pairs of two uint8 maps,
    predictions checked; None when more than :data:`MAX_RUN_FRACTION` of the pixels start a
    run (bincount is then faster).

    A run is a stretch of consecutive pixels (in memory order) with the same pair; its first
    pixel holds the pair and the distance to the next run's start is its length.
    """
    pred, gt = pred.reshape(-1), gt.reshape(-1)
    changes = pred[1:] != pred[:-1]
    changes |= gt[1:] != gt[:-1]
    if np.count_nonzero(changes) > MAX_RUN_FRACTION * pred.size:
        return None
    starts = np.flatnonzero(changes)
    starts += 1
    bounds = np.concatenate(([0], starts, [pred.size]))
    first = bounds[:-1]
    pairs = gt[first].astype(np.intp) << 8
    pairs |= pred[first]
    # float64 weights add run lengths exactly (every count stays far below 2**53).
    counts = np.bincount(pairs, weights=np.diff(bounds), minlength=256 * 256)
    rows = counts.astype(np.int64).reshape(256, 256)
    predicted = np.flatnonzero(rows.any(0))
    if predicted[-1] >= num_classes:
        _raise_bad_pred(int(predicted[0]), int(predicted[-1]), num_classes)
    return torch.from_numpy(rows)


def _gt_rows_by_bincount(pred: torch.Tensor, gt: torch.Tensor, num_classes: int,
                         ignore_index: int) -> torch.Tensor:
    """``(top_row + 1, C)`` counts of ``(gt, pred)`` pairs by one ``torch.bincount`` on
    ``pred``'s device, ``top_row = max(C - 1, ignore_index)``, predictions checked.

    The void row and the rows of invalid ground-truth values are counted too, for
    :func:`_confusion_from_gt_rows` to check and drop."""
    top_row = max(num_classes - 1, ignore_index)
    size = (top_row + 1) * num_classes
    lanes = CPU_LANES if pred.device.type == 'cpu' else 1
    # Everything is counted in the narrowest type that holds both maps and the index: int16
    # for uint8/int16 maps (no wide bytes are ever read), int32 otherwise (one read of the
    # wide values; int32 holds any value of a label file or an argmax, and the values beyond
    # it, which the narrowing would wrap, cannot occur in either).
    narrow = max(pred.dtype.itemsize, gt.dtype.itemsize) <= 2 and \
        size * lanes <= torch.iinfo(torch.int16).max
    dtype = torch.int16 if narrow else torch.int32
    # A fresh contiguous copy: the sum is written into it and it is viewed as one row.
    index = gt.to(device=pred.device, dtype=dtype, copy=True,
                  memory_format=torch.contiguous_format)
    pred = pred.to(dtype)
    # One host synchronisation for the four bounds instead of one per bound.
    p_lo, p_hi, g_lo, g_hi = torch.stack([*torch.aminmax(pred), *torch.aminmax(index)]).tolist()
    if p_lo < 0 or p_hi >= num_classes:
        _raise_bad_pred(p_lo, p_hi, num_classes)
    if g_lo < 0 or g_hi > top_row:
        _raise_bad_gt([v for v in (g_lo, g_hi) if v < 0 or v > top_row], num_classes,
                      ignore_index)
    torch.add(pred, index, alpha=num_classes, out=index)
    index = index.view(-1)
    if lanes > 1:
        # Consecutive pixels go to different copies of the histogram (pixel i to copy i % 4),
        # so the increments of CPU bincount's loop do not wait on each other: data-
        # independent 1.3 ms instead of 1.8-2.9 ms over 2M pixels. The lane pattern spans
        # 64 pixels, which keeps the broadcast add as fast as a contiguous one; the last
        # pixels of a size not divisible by 64 stay in copy 0.
        offsets = torch.arange(64, dtype=dtype, device=index.device) % lanes * size
        whole = index.numel() // 64 * 64
        index[:whole].view(-1, 64).add_(offsets)
    rows = torch.bincount(index, minlength=size * lanes).view(lanes, top_row + 1, num_classes)
    return rows.sum(0) if lanes > 1 else rows[0]


def _confusion_from_gt_rows(rows: torch.Tensor, num_classes: int,
                            ignore_index: int) -> torch.Tensor:
    """The ``(C, C)`` matrix from counts whose row ``r`` holds the pixels of ground-truth value
    ``r`` (at least ``C`` columns), after checking that rows beyond the classes are void."""
    beyond = torch.nonzero(rows[num_classes:].sum(1)).flatten().add(num_classes).tolist()
    bad = [v for v in beyond if v != ignore_index]
    if bad:
        _raise_bad_gt(bad, num_classes, ignore_index)
    conf = rows[:num_classes, :num_classes].clone()
    if ignore_index < num_classes:
        conf[ignore_index] = 0
    return conf


def _raise_bad_pred(lo: int, hi: int, num_classes: int) -> NoReturn:
    """Raise the error for predictions outside the classes, given their range."""
    raise ValueError(f'predictions must lie in [0, {num_classes}), found values in '
                     f'[{lo}, {hi}]: does num_classes match the model?')


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
