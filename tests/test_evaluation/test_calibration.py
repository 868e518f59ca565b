"""ECE, NLL and Brier score against hand-computed values; the temperature fit; the metric."""
import math

import numpy as np
import pytest
import torch

from cityseg.evaluation import (
    CalibrationMetric,
    calibration_scores,
    calibration_sums,
    fit_temperature,
)


def logits_of(probs: list[list[float]]) -> torch.Tensor:
    """``C x 1 x N`` logits whose softmax is ``probs`` (one row per pixel)."""
    return torch.tensor(probs, dtype=torch.float64).log().T[:, None, :]


def test_scores_match_hand_computed_values():
    # Three pixels, two classes, two bins: confidences 0.9, 0.6 (bin 2) and 0.8 (bin 2).
    logits = logits_of([[0.9, 0.1], [0.4, 0.6], [0.8, 0.2]])
    target = torch.tensor([[0, 0, 1]])
    bins, totals = calibration_sums(logits, target, num_bins=2)
    scores = calibration_scores(bins.numpy(), totals.numpy())
    # bin (0.5, 1]: 3 pixels, mean confidence 2.3 / 3, one correct: ECE = |1 - 2.3| / 3.
    assert scores['ECE'] == pytest.approx(1.3 / 3)
    # predicted class 0: pixels 1 and 3 (conf 0.9, 0.8; 1 correct): |1 - 1.7| / 2;
    # predicted class 1: pixel 2 (conf 0.6, wrong): 0.6.
    assert scores['mECE'] == pytest.approx((0.35 + 0.6) / 2)
    assert scores['NLL'] == pytest.approx(-(math.log(0.9) + math.log(0.4) + math.log(0.2)) / 3)
    brier = [(0.9 - 1) ** 2 + 0.1 ** 2, (0.4 - 1) ** 2 + 0.6 ** 2, 0.8 ** 2 + (0.2 - 1) ** 2]
    assert scores['Brier'] == pytest.approx(sum(brier) / 3)
    assert scores['accuracy'] == pytest.approx(1 / 3)
    assert scores['reliability']['count'] == [0.0, 3.0]


def test_void_pixels_count_nowhere_and_bins_are_right_closed():
    logits = logits_of([[0.5, 0.5], [0.99, 0.01], [0.3, 0.7]])
    target = torch.tensor([[255, 0, 255]])
    bins, totals = calibration_sums(logits, target, num_bins=15)
    assert totals[2] == 1
    scores = calibration_scores(bins.numpy(), totals.numpy())
    assert scores['ECE'] == pytest.approx(0.01, abs=1e-6)
    # confidence exactly 0.5 falls in (7/15, 8/15]
    bins, _ = calibration_sums(logits_of([[0.5, 0.5]]), torch.tensor([[0]]), num_bins=2)
    assert bins[0].sum(0).tolist() == [1.0, 0.0]


def test_bad_label_is_named():
    with pytest.raises(ValueError, match=r'label values \[7\]'):
        calibration_sums(logits_of([[0.5, 0.5]]), torch.tensor([[7]]))


def test_temperature_fit_recovers_a_known_temperature():
    gen = torch.Generator().manual_seed(0)
    true_logits = 3 * torch.randn(20000, 5, generator=gen)
    labels = torch.distributions.Categorical(logits=true_logits).sample()
    # logits made over-confident by a factor 2.5: the fit must undo it
    assert fit_temperature(true_logits * 2.5, labels) == pytest.approx(2.5, rel=0.05)
    assert fit_temperature(true_logits / 1.5, labels) == pytest.approx(1 / 1.5, rel=0.05)


def test_temperature_fit_refuses_empty_input():
    with pytest.raises(ValueError, match='N > 0'):
        fit_temperature(torch.zeros(0, 3), torch.zeros(0))


def test_metric_accumulates_per_image_and_samples_fit_pixels():
    metric = CalibrationMetric(num_bins=2, fit_pixels_per_image=2)
    metric.dataset_meta = dict(classes=('a', 'b'))
    samples = []
    for probs, target in (([[0.9, 0.1], [0.4, 0.6]], [[0, 0]]), ([[0.8, 0.2]], [[1]])):
        logits = logits_of(probs).float()
        samples.append(dict(seg_logits=dict(data=logits),
                            gt_sem_seg=dict(data=torch.tensor(target)[None])))
    metric.process(None, samples)
    scores = metric.evaluate(2)
    assert scores['ECE'] == pytest.approx(1.3 / 3)
    assert set(metric.details['per_class_ECE']) == {'a', 'b'}
    logits, labels = metric.fit_pixels
    assert logits.shape == (3, 2) and sorted(labels.tolist()) == [0, 0, 1]


def test_metric_needs_logits():
    metric = CalibrationMetric()
    with pytest.raises(ValueError, match='return_logits=True'):
        metric.process(None, [dict(img_path='x.png', gt_sem_seg=dict(data=np.zeros(1)))])
