"""Pixel-level segmentation metrics from one confusion matrix, as the Cityscapes benchmark counts.

Everything is derived from a ``num_classes x num_classes`` confusion matrix (rows = ground
truth, columns = prediction) that is accumulated with one ``torch.bincount`` per image on the
device the predictions live on, so a GPU validation never copies label maps to the host: only
the small matrix travels. The class IoUs and their mean reproduce cityscapesscripts'
``evalPixelLevelSemanticLabeling`` (checked by a parity test on label-id PNGs):

- ground-truth pixels equal to ``ignore_index`` (void labels) count nowhere, neither as false
  negatives nor as false positives of the class predicted on them;
- a class predicted but absent from the ground truth has IoU ``0`` (TP = 0, FP > 0);
- a class absent from both ground truth and prediction has IoU ``nan`` and is left out of the
  mean, as the official ``getScoreAverage`` skips nan.

Scores are fractions in ``[0, 1]``, not percentages (mmsegmentation reports percentages): the
log table alone shows percentages, for reading.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from terminaltables import AsciiTable

from cityseg.registry import METRICS

SUMMARY_METRICS = ('mIoU', 'mDice', 'mFscore')


def confusion_matrix(pred: torch.Tensor, gt: torch.Tensor, num_classes: int,
                     ignore_index: int = 255) -> torch.Tensor:
    """Count ``(ground truth, prediction)`` pixel pairs of one image, skipping ignored pixels.

    Args:
        pred: predicted class indices, any shape, integer dtype. Both maps are validated
            and counted as int32, which any label map fits.
        gt: ground-truth class indices of the same shape; ``ignore_index`` marks void pixels.
            It is moved to ``pred``'s device, where the counting happens.
        num_classes: number of classes ``C``.
        ignore_index: ground-truth value of pixels left out of the counts; must be
            non-negative (label maps are stored as uint8 PNGs, void is 255 there).

    Returns:
        ``(C, C)`` int64 tensor on ``pred``'s device; entry ``[i, j]`` counts the pixels of
        class ``i`` predicted as ``j``.

    Raises:
        ValueError: shapes differ, a prediction lies outside ``[0, C)``, or a ground-truth
            value is neither in ``[0, C)`` nor ``ignore_index``. Out-of-range values would
            otherwise be folded silently into other cells of the matrix; they usually mean
            that the config's number of classes does not match the checkpoint or the labels.
    """
    if pred.shape != gt.shape:
        raise ValueError(f'prediction shape {tuple(pred.shape)} differs from ground-truth '
                         f'shape {tuple(gt.shape)}')
    if ignore_index < 0:
        raise ValueError(f'ignore_index must be non-negative, got {ignore_index}')
    # The bincount below has one row of C cells for every ground-truth value up to top_row:
    # the void row and the rows of invalid values are read, for validation, and dropped.
    top_row = max(num_classes - 1, ignore_index)
    size = (top_row + 1) * num_classes
    # int32 (int64 only for a huge ignore_index) halves the memory traffic of int64 label maps
    # and has faster min/max/bincount kernels: ~1.4x faster on a 1024x2048 CPU image.
    dtype = torch.int32 if size <= torch.iinfo(torch.int32).max else torch.int64
    pred = pred.to(dtype, copy=True)  # a private copy: it is overwritten by the index below
    gt = gt.to(device=pred.device, dtype=dtype)
    # One host synchronisation for the four bounds instead of one per bound.
    p_lo, p_hi, g_lo, g_hi = torch.stack([*torch.aminmax(pred), *torch.aminmax(gt)]).tolist()
    if p_lo < 0 or p_hi >= num_classes:
        raise ValueError(f'predictions must lie in [0, {num_classes}), found values in '
                         f'[{p_lo}, {p_hi}]: does num_classes match the model?')
    if g_lo < 0 or g_hi > top_row:
        _raise_bad_gt([v for v in (g_lo, g_hi) if v < 0 or v > top_row], num_classes,
                      ignore_index)
    index = torch.add(pred, gt, alpha=num_classes, out=pred)
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


def per_class_table(class_names: Sequence[str], per_class: dict[str, np.ndarray]) -> str:
    """ASCII table of per-class scores, as percentages with two decimals (nan as 'nan')."""
    header = ['Class', *per_class]
    rows = [[name, *('nan' if np.isnan(v[i]) else f'{100 * v[i]:.2f}'
                     for v in per_class.values())]
            for i, name in enumerate(class_names)]
    return AsciiTable([header, *rows]).table


@METRICS.register_module()
class IoUMetric(BaseMetric):
    """aAcc, mIoU, mAcc, mDice (and optionally mFscore, mPrecision, mRecall) over a dataset.

    Matches the official Cityscapes class IoU and mean IoU (see the module docstring): a class
    absent from both ground truth and prediction is nan and excluded from every mean. The
    returned values are fractions in ``[0, 1]``; a per-class table (percentages) is logged, and
    the per-class fractions are kept in :attr:`last_per_class` for tools that save them.

    ``process`` appends one CPU int64 ``C x C`` matrix per *image* to ``self.results`` (a few
    KB each), not per batch: mmengine's ``collect_results`` interleaves the ranks' lists and
    truncates them to the dataset size, which drops the samples the distributed sampler padded
    in only when there is one result per sample.

    Args:
        num_classes: number of classes; ``None`` takes ``len(dataset_meta['classes'])``, which
            the Runner sets from the dataset's metainfo.
        ignore_index: ground-truth value of void pixels (non-negative).
        iou_metrics: any of ``'mIoU'``, ``'mDice'``, ``'mFscore'``; ``aAcc`` and ``mAcc`` are
            always reported, ``'mFscore'`` adds ``mPrecision`` and ``mRecall``. (Not named
            ``metrics``: mmengine's Runner would take such a dict for an ``Evaluator`` config.)
        nan_to_num: if not ``None``, per-class nan scores are replaced by this value *before*
            averaging, so those classes then count in the means (the official evaluator
            behaves as ``None``).
        beta: weight of recall in the F-score.
        format_only: compute nothing (for the unlabelled test split, where only the files
            written by ``tools/test.py --out`` matter).
        collect_device: ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        prefix: prefix of the metric names in the returned dict.
    """

    def __init__(self,
                 num_classes: int | None = None,
                 ignore_index: int = 255,
                 iou_metrics: Sequence[str] = ('mIoU', 'mDice'),
                 nan_to_num: float | None = None,
                 beta: float = 1,
                 format_only: bool = False,
                 collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        metrics = (iou_metrics, ) if isinstance(iou_metrics, str) else tuple(iou_metrics)
        unknown = set(metrics) - set(SUMMARY_METRICS)
        if unknown:
            raise ValueError(f'unknown metrics {sorted(unknown)}; choose from {SUMMARY_METRICS}')
        if ignore_index < 0:
            raise ValueError(f'ignore_index must be non-negative, got {ignore_index}')
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.metrics = metrics
        self.nan_to_num = nan_to_num
        self.beta = beta
        self.format_only = format_only
        self.last_per_class: dict[str, dict[str, float]] = {}

    def process(self, data_batch: object, data_samples: Sequence[dict]) -> None:
        """Add one confusion matrix per sample of the batch to ``self.results``.

        ``data_samples`` are the dicts mmengine's Evaluator makes of ``SegDataSample``s:
        ``['pred_sem_seg']['data']`` and ``['gt_sem_seg']['data']`` of shape ``(1, H, W)``.
        The matrices are computed on the predictions' device and copied to the host once per
        batch.
        """
        if self.format_only:
            return
        num_classes = self._num_classes()
        mats = []
        for sample in data_samples:
            try:
                mats.append(confusion_matrix(sample['pred_sem_seg']['data'],
                                             sample['gt_sem_seg']['data'], num_classes,
                                             self.ignore_index))
            except ValueError as err:
                raise ValueError(f"{sample.get('img_path', 'an image')}: {err}") from err
        # numpy rows pickle only their own C x C values when results are gathered across ranks.
        self.results.extend(torch.stack(mats).cpu().numpy())

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Sum the per-image matrices and reduce them to dataset-level scores (fractions).

        Also logs the per-class table and stores the per-class fractions in
        :attr:`last_per_class` (``{class name: {'IoU': ..., 'Acc': ..., ...}}``); under
        distributed evaluation only the main process runs this, so only it has them.
        """
        if self.format_only:
            return {}
        conf = np.sum(results, axis=0)
        scores = metrics_from_confusion(conf, beta=self.beta)
        keys = ['IoU'] if 'mIoU' in self.metrics else []
        keys.append('Acc')
        if 'mDice' in self.metrics:
            keys.append('Dice')
        if 'mFscore' in self.metrics:
            keys += ['Fscore', 'Precision', 'Recall']
        per_class = {k: scores[k] for k in keys}
        if self.nan_to_num is not None:
            per_class = {k: np.nan_to_num(v, nan=self.nan_to_num) for k, v in per_class.items()}

        names = self._class_names(len(conf))
        print_log('per-class results (%):\n' + per_class_table(names, per_class),
                  logger='current')
        self.last_per_class = {name: {k: float(v[i]) for k, v in per_class.items()}
                               for i, name in enumerate(names)}
        total = conf.sum()
        summary = {'aAcc': float(np.trace(conf) / total) if total else float('nan')}
        summary.update({f'm{k}': float(np.nanmean(v)) for k, v in per_class.items()})
        return summary

    def _num_classes(self) -> int:
        """The configured class count, else the dataset's; a mismatch of the two is an error."""
        classes = (self.dataset_meta or {}).get('classes')
        if self.num_classes is None:
            if classes is None:
                raise ValueError("IoUMetric needs num_classes or dataset_meta['classes']")
            return len(classes)
        if classes is not None and len(classes) != self.num_classes:
            raise ValueError(f'IoUMetric has num_classes={self.num_classes} but the dataset '
                             f'has {len(classes)} classes')
        return self.num_classes

    def _class_names(self, num_classes: int) -> list[str]:
        """Names for the table: the dataset's classes, else the class indices."""
        classes = (self.dataset_meta or {}).get('classes')
        return list(classes) if classes is not None else [str(i) for i in range(num_classes)]
