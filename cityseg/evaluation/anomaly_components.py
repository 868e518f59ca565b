"""SegmentMeIfYouCan's component-level metrics: sIoU, PPV and mean F1 of anomaly segments.

Reimplemented from the definitions in ``road_anomaly_benchmark/metrics/instance_segmentation.py``
(``default_instancer``, ``segment_metrics``, ``MetricSegment.aggregate``):

- the score map is binarised at a threshold (the best pixel F1's); predicted pixels on void
  are dropped; ground-truth and predicted components are 8-connected;
- predicted components smaller than ``min_pred_size`` pixels are removed, ground-truth
  components smaller than ``min_gt_size`` become void; both maps are then restricted to the
  non-void region;
- sIoU of a ground-truth component ``k``: ``|k ∩ P| / |k ∪ P \\ A|`` with ``P`` the predicted
  components touching ``k`` and ``A`` the pixels of ``P`` on *other* ground-truth components
  (an adjusted IoU that does not punish one prediction covering several objects); the same,
  with the roles swapped, for each predicted component, whose precision is
  ``|j ∩ G| / |j|`` (``G``: the ground-truth components ``j`` touches);
- per threshold ``t`` in 0.25, 0.30, ..., 0.75: TP = ground-truth components with sIoU >= t,
  FN = the others, FP = predicted components with precision < t, summed over the images;
  ``F1_t = 2 TP / (2 TP + FN + FP)`` and mean F1 their average; sIoU and PPV are the means over
  all ground-truth and all predicted components of the dataset.

The two benchmark tracks' sizes: RoadAnomaly21 ``min_pred_size=500, min_gt_size=100``,
RoadObstacle21 ``50, 10`` (:data:`TRACK_SIZES`).
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

SIOU_THRESHOLDS = tuple(np.round(np.linspace(0.25, 0.75, 11), 2).tolist())
# (min_pred_size, min_gt_size) of SMIYC's SegEval-AnomalyTrack and SegEval-ObstacleTrack.
TRACK_SIZES = {'anomaly': (500, 100), 'obstacle': (50, 10)}


def _components(mask: np.ndarray) -> np.ndarray:
    """8-connected component ids (0 = background) of a boolean mask."""
    return cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)[1]


def _adjusted(a: np.ndarray, b: np.ndarray) -> tuple[list[float], list[float], list[int]]:
    """For each component of ``a``: adjusted IoU with the components of ``b`` touching it,
    its precision against them and its size."""
    sious, precs, sizes = [], [], []
    for k in np.unique(a[a > 0]):
        inside = a == k
        touching = np.unique(b[inside & (b > 0)])
        covered = np.isin(b, touching)
        intersection = np.count_nonzero(inside & covered)
        adjustment = np.count_nonzero(covered & (a > 0) & ~inside)
        union = np.count_nonzero(covered) + np.count_nonzero(inside) - intersection - adjustment
        sious.append(intersection / union)
        precs.append(intersection / np.count_nonzero(inside))
        sizes.append(int(np.count_nonzero(inside)))
    return sious, precs, sizes


def frame_components(score: np.ndarray, label: np.ndarray, threshold: float,
                     min_pred_size: int, min_gt_size: int) -> dict:
    """One image's component results: ``sIoU_gt``, ``sIoU_pred``, ``prec_pred`` (lists).

    Args:
        score: ``H x W`` anomaly scores (higher = more anomalous).
        label: ``H x W`` 0 in-distribution, 1 anomaly, 255 void.
        threshold: a pixel is predicted anomalous when its score is at least this.
    """
    void = label == 255
    gt = _components(label == 1)
    pred = _components((score >= threshold) & ~void)
    ids, sizes = np.unique(pred, return_counts=True)
    pred[np.isin(pred, ids[(ids > 0) & (sizes < min_pred_size)])] = 0
    ids, sizes = np.unique(gt, return_counts=True)
    void |= np.isin(gt, ids[(ids > 0) & (sizes < min_gt_size)])
    gt, pred = gt[~void], pred[~void]
    siou_gt, _, _ = _adjusted(gt, pred)
    siou_pred, prec_pred, _ = _adjusted(pred, gt)
    return dict(sIoU_gt=siou_gt, sIoU_pred=siou_pred, prec_pred=prec_pred)


def aggregate_components(frames: Sequence[dict],
                         thresholds: Sequence[float] = SIOU_THRESHOLDS) -> dict:
    """Dataset ``sIoU``, ``PPV``, ``mean_F1`` and ``F1_25``/``F1_50``/``F1_75`` (nan where a
    mean has no component to average)."""
    siou = [v for f in frames for v in f['sIoU_gt']]
    prec = [v for f in frames for v in f['prec_pred']]
    f1 = {}
    for t in thresholds:
        tp = sum(np.count_nonzero(np.asarray(f['sIoU_gt']) >= t) for f in frames)
        fn = sum(np.count_nonzero(np.asarray(f['sIoU_gt']) < t) for f in frames)
        fp = sum(np.count_nonzero(np.asarray(f['prec_pred']) < t) for f in frames)
        f1[t] = 2 * tp / (2 * tp + fn + fp) if tp + fn + fp else float('nan')
    return dict(sIoU=float(np.mean(siou)) if siou else float('nan'),
                PPV=float(np.mean(prec)) if prec else float('nan'),
                mean_F1=float(np.mean(list(f1.values()))),
                **{f'F1_{round(100 * t)}': f1[t] for t in (0.25, 0.5, 0.75) if t in f1})
