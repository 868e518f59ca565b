"""Pixel-level anomaly detection scores: AUPRC, AUROC, FPR at 95 % TPR, as the benchmarks count.

The definitions follow SegmentMeIfYouCan's ``road_anomaly_benchmark/metrics/
pixel_classification_curves.py`` (also used for Fishyscapes Lost & Found there):

- every distinct score value is a threshold; a pixel is predicted anomalous when its score is
  at least the threshold (higher = more anomalous);
- AUPRC (average precision) ``= sum_n (R_n - R_{n-1}) P_n`` over the thresholds from high to
  low, the step-wise sum scikit-learn's ``average_precision_score`` computes (not a trapezoid);
- AUROC: the trapezoid area under (FPR, TPR), as ``roc_auc_score``;
- FPR95: the FPR at the highest threshold whose TPR reaches 0.95;
- the threshold of best pixel F1, where the benchmark's component metrics binarise the scores.
"""
from __future__ import annotations

import numpy as np


def pixel_curves(scores: np.ndarray, labels: np.ndarray, curve_points: int = 200) -> dict:
    """The scores of one anomaly map set (flattened pixels, void already removed).

    Args:
        scores: float scores, higher = more anomalous.
        labels: the same number of booleans, True = anomaly.
        curve_points: about how many points of the PR curve to keep for plotting.

    Returns:
        ``AUPRC``, ``AUROC``, ``FPR95``, ``best_F1``, ``best_F1_threshold`` and ``curve``
        (``precision``/``recall`` lists).
    """
    scores = np.asarray(scores, dtype=np.float64).ravel()
    labels = np.asarray(labels, dtype=bool).ravel()
    if scores.shape != labels.shape:
        raise ValueError(f'{scores.size} scores but {labels.size} labels')
    positives = int(labels.sum())
    negatives = labels.size - positives
    if not positives or not negatives:
        raise ValueError(f'anomaly metrics need both anomaly and in-distribution pixels; got '
                         f'{positives} anomaly and {negatives} in-distribution pixels')
    order = np.argsort(-scores, kind='stable')
    scores, labels = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]  # last index per threshold
    tps = np.cumsum(labels)[last].astype(np.float64)
    fps = (last + 1) - tps
    precision = tps / (tps + fps)
    recall = tps / positives
    tpr, fpr = np.r_[0.0, recall], np.r_[0.0, fps / negatives]
    reach = np.flatnonzero(recall >= 0.95)[0]  # recall ends at 1, so some threshold reaches it
    f1 = 2 * tps / (tps + fps + positives)
    best = int(np.argmax(f1))
    keep = np.unique(np.linspace(0, len(last) - 1, min(curve_points, len(last))).astype(int))
    return dict(
        AUPRC=float(np.sum(np.diff(np.r_[0.0, recall]) * precision)),
        AUROC=float(np.trapezoid(tpr, fpr)),
        FPR95=float(fps[reach] / negatives),
        best_F1=float(f1[best]), best_F1_threshold=float(scores[last[best]]),
        curve=dict(precision=precision[keep].tolist(), recall=recall[keep].tolist()))
