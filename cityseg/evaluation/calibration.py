"""Pixel-level calibration of a segmenter's probabilities: ECE, per-class ECE, NLL, Brier score.

Every counted (non-void) pixel is one prediction with confidence ``max_c p_c``:

- ECE (Guo et al., ICML 2017): the pixels fall into ``num_bins`` equal-width confidence bins
  ``((m - 1) / M, m / M]``; ``ECE = sum_m |acc_m - conf_m| * n_m / N``, accuracy and mean
  confidence of each bin weighted by its share of the pixels;
- per-class ECE: the same over the pixels *predicted* as each class (how far "road, 90 %"
  is from being right 90 % of the time), and ``mECE`` their mean over the classes predicted;
- NLL: the mean of ``-log p_y``, ``y`` the true class;
- Brier score: the mean over pixels of ``sum_c (p_c - [y = c])^2`` (the multi-class form,
  in ``[0, 2]``).

As :class:`~.iou_metric.IoUMetric`, each image is reduced where its logits live to a few
small sums (:func:`calibration_sums`: three bincounts of ``C x num_bins`` bins and three
scalars); the per-image sums are what mmengine gathers across ranks, and their total gives
every score (:func:`calibration_scores`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from cityseg.registry import METRICS

NUM_BINS = 15


def calibration_sums(logits: torch.Tensor, target: torch.Tensor, num_bins: int = NUM_BINS,
                     ignore_index: int = 255) -> tuple[torch.Tensor, torch.Tensor]:
    """One image's counts: ``(bins, totals)``.

    Args:
        logits: ``C x H x W`` logits (the temperature already applied).
        target: ``H x W`` (or ``1 x H x W``) true classes; ``ignore_index`` pixels count
            nowhere.

    Returns:
        ``bins``: ``3 x C x num_bins`` float64: pixels, summed confidence and correct pixels
        per (predicted class, confidence bin); ``totals``: float64 ``[sum of -log p_y, sum of
        the Brier terms, pixels]``.
    """
    num_classes = logits.shape[0]
    target = target.reshape(logits.shape[1:]).long()
    valid = target != ignore_index
    y = target[valid]
    if y.numel() and (y.min() < 0 or y.max() >= num_classes):
        bad = torch.unique(y[(y < 0) | (y >= num_classes)]).tolist()
        raise ValueError(f'label values {bad} are neither classes 0..{num_classes - 1} nor '
                         f'ignore_index {ignore_index}')
    logp = logits.float()[:, valid].T.log_softmax(1).double()  # N x C
    p = logp.exp()
    conf, pred = p.max(1)
    correct = (pred == y).double()
    m = (conf * num_bins).ceil().long().clamp(1, num_bins) - 1  # bin ((m-1)/M, m/M]
    index = pred * num_bins + m
    size = num_classes * num_bins
    bins = torch.stack([torch.bincount(index, minlength=size).double(),
                        torch.bincount(index, conf, minlength=size),
                        torch.bincount(index, correct, minlength=size)])
    p_true = p.gather(1, y[:, None])[:, 0]
    nll = -logp.gather(1, y[:, None]).sum()
    brier = ((p * p).sum(1) - 2 * p_true + 1).sum()
    totals = torch.stack([nll, brier, torch.tensor(float(y.numel()), device=nll.device,
                                                   dtype=torch.float64)])
    return bins.reshape(3, num_classes, num_bins), totals


def _ece(count: np.ndarray, conf: np.ndarray, correct: np.ndarray) -> float:
    """ECE of bins given as pixel counts, confidence sums and correct-pixel sums."""
    total = count.sum()
    if not total:
        return float('nan')
    return float(np.abs(correct - conf).sum() / total)  # |acc - conf| * n = |correct - conf|


def calibration_scores(bins: np.ndarray, totals: np.ndarray) -> dict:
    """Dataset scores from summed :func:`calibration_sums` (numpy arrays).

    Returns ``ECE``, ``mECE``, ``NLL``, ``Brier``, ``accuracy`` and ``confidence`` (floats),
    ``per_class_ECE`` (C floats, nan for a class never predicted) and ``reliability``: per
    confidence bin, ``lower``/``upper`` edges, ``count``, ``accuracy`` and ``confidence``
    (nan for an empty bin).
    """
    count, conf, correct = bins  # each C x M
    n = totals[2]
    per_class = np.array([_ece(count[c], conf[c], correct[c]) for c in range(len(count))])
    merged = [a.sum(0) for a in (count, conf, correct)]
    num_bins = count.shape[1]
    with np.errstate(invalid='ignore', divide='ignore'):
        reliability = dict(
            lower=(np.arange(num_bins) / num_bins).tolist(),
            upper=(np.arange(1, num_bins + 1) / num_bins).tolist(),
            count=merged[0].tolist(),
            accuracy=(merged[2] / merged[0]).tolist(),
            confidence=(merged[1] / merged[0]).tolist())
    defined = per_class[~np.isnan(per_class)]
    return dict(
        ECE=_ece(*(m[None] for m in merged)) if n else float('nan'),
        mECE=float(defined.mean()) if defined.size else float('nan'),
        NLL=float(totals[0] / n) if n else float('nan'),
        Brier=float(totals[1] / n) if n else float('nan'),
        accuracy=float(merged[2].sum() / n) if n else float('nan'),
        confidence=float(merged[1].sum() / n) if n else float('nan'),
        per_class_ECE=per_class.tolist(), reliability=reliability)


def sample_pixels(logits: torch.Tensor, target: torch.Tensor, k: int, generator: torch.Generator,
                  ignore_index: int = 255) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``k`` random non-void pixels' ``(logits N x C, labels N)``, on the CPU: what the
    temperature is fitted on, a bounded sample instead of every pixel of a split."""
    target = target.reshape(logits.shape[1:])
    where = (target != ignore_index).flatten().nonzero()[:, 0].cpu()
    if len(where) > k:
        where = where[torch.randperm(len(where), generator=generator)[:k]]
    flat = logits.flatten(1).cpu()
    return flat[:, where].T.float().contiguous(), target.flatten().cpu()[where].long()


@METRICS.register_module()
class CalibrationMetric(BaseMetric):
    """ECE, mECE, NLL and Brier score of the predictions' ``seg_logits`` (see the module doc).

    The model must attach its logits: ``model.test_cfg.return_logits=True``
    (``tools/analysis_tools/calibration.py`` and ``tools/test.py --calibration`` set it).
    After an evaluation, ``details`` holds the scores with the per-class ECE and the
    reliability bins (what the JSON file, the diagram and the report need) and,
    with ``fit_pixels_per_image``, ``fit_pixels`` holds the sampled ``(logits, labels)`` for
    :func:`~.temperature.fit_temperature`; the returned dict has the scalar scores only.

    Args:
        num_bins: equal-width confidence bins (15, as Guo et al.).
        ignore_index: ground-truth value of void pixels.
        fit_pixels_per_image: keep up to this many random non-void pixels of each image
            (0: none).
        seed: of the pixel sampling, so a fit is reproducible.
    """

    def __init__(self, num_bins: int = NUM_BINS, ignore_index: int = 255,
                 fit_pixels_per_image: int = 0, seed: int = 0, collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if num_bins < 1:
            raise ValueError(f'num_bins must be >= 1, got {num_bins}')
        self.num_bins = num_bins
        self.ignore_index = ignore_index
        self.fit_pixels_per_image = fit_pixels_per_image
        self.generator = torch.Generator().manual_seed(seed)
        self.details: dict = {}
        self.fit_pixels: tuple[torch.Tensor, torch.Tensor] | None = None

    def process(self, data_batch: object, data_samples: Sequence[dict]) -> None:
        """Add one image's calibration sums (and sampled pixels) per sample to ``results``."""
        for sample in data_samples:
            where = sample.get('img_path', 'an image')
            if 'seg_logits' not in sample:
                raise ValueError(f'{where}: the prediction has no seg_logits; set '
                                 'model.test_cfg.return_logits=True for CalibrationMetric')
            logits = sample['seg_logits']['data']
            target = sample['gt_sem_seg']['data']
            if tuple(target.shape[-2:]) != tuple(logits.shape[-2:]):
                raise ValueError(f'{where}: logits of size {tuple(logits.shape[-2:])} but a '
                                 f'label of size {tuple(target.shape[-2:])}')
            try:
                bins, totals = calibration_sums(logits, target.to(logits.device),
                                                self.num_bins, self.ignore_index)
            except ValueError as err:
                raise ValueError(f'{sample.get("seg_map_path", where)}: {err}') from err
            fit = None if not self.fit_pixels_per_image else sample_pixels(
                logits, target, self.fit_pixels_per_image, self.generator, self.ignore_index)
            self.results.append((bins.cpu().numpy(), totals.cpu().numpy(), fit))

    def compute_metrics(self, results: list) -> dict[str, float]:
        bins = np.sum([r[0] for r in results], axis=0)
        totals = np.sum([r[1] for r in results], axis=0)
        scores = calibration_scores(bins, totals)
        names = (self.dataset_meta or {}).get('classes') or [
            str(i) for i in range(len(scores['per_class_ECE']))]
        per_class = dict(zip(names, scores.pop('per_class_ECE')))
        reliability = scores.pop('reliability')
        self.details = dict(scores, per_class_ECE=per_class, reliability=reliability,
                            num_bins=self.num_bins)
        fits = [r[2] for r in results if r[2] is not None]
        self.fit_pixels = (torch.cat([f[0] for f in fits]), torch.cat([f[1] for f in fits])
                           ) if fits else None
        print_log('calibration: ' + ', '.join(f'{k} {v:.4f}' for k, v in scores.items()),
                  logger='current')
        return scores
