"""Per-class thresholds: FreeMatch's self-adaptive ones (the averages against a hand
computation) and CBST's class-balanced ones (each class's portion counted by hand), and their
use in SemiSegmentor's pseudo-labels, checkpoints and config checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.semi_batch import preprocessed, semi_batch, semi_model
from mmengine.optim import OptimWrapper

from cityseg.models.semi import SelfAdaptiveThreshold, class_balanced_thresholds, pixel_weights


def _probs(seed: int, n: int = 2, c: int = 3, h: int = 4, w: int = 5) -> torch.Tensor:
    return torch.randn(n, c, h, w, generator=torch.Generator().manual_seed(seed)).softmax(1)


def test_averages_and_class_thresholds_match_freematch_by_hand():
    sat = SelfAdaptiveThreshold(num_classes=3, momentum=0.9)
    valid = torch.ones(2, 4, 5, dtype=torch.bool)
    valid[1, :, 3:] = False  # padding: left out of both averages
    tau, q = 1 / 3, np.full(3, 1 / 3)
    for seed in (0, 1):
        probs = _probs(seed)
        sat.update(probs, valid)
        pixels = np.stack([probs[i, :, y, x].numpy() for i, y, x in zip(*np.nonzero(
            valid.numpy()))])  # P x C, by hand
        tau = 0.9 * tau + 0.1 * pixels.max(1).mean()
        q = 0.9 * q + 0.1 * pixels.mean(0)
    np.testing.assert_allclose(sat.global_confidence.item(), tau, rtol=1e-6)
    np.testing.assert_allclose(sat.class_thresholds().numpy(), tau * q / q.max(), rtol=1e-6)
    labels = torch.tensor([[2, 0, 1]])
    np.testing.assert_allclose(sat(labels).numpy(), [(tau * q / q.max())[[2, 0, 1]]],
                               rtol=1e-6)


def test_a_class_the_teacher_rarely_predicts_gets_a_lower_bar():
    sat = SelfAdaptiveThreshold(num_classes=2, momentum=0.0)
    probs = torch.tensor([0.9, 0.1])[None, :, None, None].repeat(1, 1, 2, 4)
    probs[0, :, 0, 0] = torch.tensor([0.2, 0.8])  # one pixel of the rare class 1
    sat.update(probs, torch.ones(1, 2, 4, dtype=torch.bool))
    common, rare = sat.class_thresholds().tolist()
    assert common == pytest.approx(0.9 * 7 / 8 + 0.8 / 8)  # the mean top probability
    assert rare == pytest.approx(common * (0.1 * 7 + 0.8) / (0.9 * 7 + 0.2))
    confidence, labels = probs.max(1)
    weights = pixel_weights(confidence, torch.ones_like(labels, dtype=torch.bool),
                            sat(labels), 'threshold')
    assert weights[0, 0, 0] == 1  # 0.8 passes the rare class's bar, though below 0.9
    assert weights.sum() == 8


def test_an_empty_batch_leaves_the_averages():
    sat = SelfAdaptiveThreshold(num_classes=3)
    sat.update(_probs(0), torch.zeros(2, 4, 5, dtype=torch.bool))
    assert sat.global_confidence.item() == pytest.approx(1 / 3)


def test_semi_segmentor_pseudo_labels_pass_their_class_threshold():
    model = semi_model(threshold='self_adaptive', threshold_momentum=0.5, mix=None)
    batch = preprocessed(model, semi_batch(partners=False))
    weak, samples = batch['inputs']['unsup_weak'], batch['data_samples']['unsup_weak']
    with torch.no_grad():
        probs = model.teacher(weak, mode='tensor').softmax(1)
        pseudo = model.pseudo_label(weak, samples)
    confidence, labels = probs.max(1)
    # by hand: one update from 1/C with momentum 0.5, then the class thresholds
    tau = 0.5 / 5 + 0.5 * confidence.mean()
    q = 0.5 / 5 + 0.5 * probs.mean((0, 2, 3))
    expected = (confidence >= (tau * q / q.max())[labels]).float()
    torch.testing.assert_close(pseudo.weights, expected)
    assert 0 < pseudo.confident < 1


def test_train_step_logs_the_threshold_and_checkpoints_carry_it():
    model = semi_model(threshold='self_adaptive', mix=None)
    optim = OptimWrapper(torch.optim.SGD(
        [p for p in model.parameters() if p.requires_grad], lr=0.1))
    initial = model.adaptive_threshold.global_confidence.item()  # 1/5 as float32
    log = model.train_step(semi_batch(partners=False), optim)
    assert log['pseudo_threshold'] > initial  # moved towards the teacher's confidence
    state = model.state_dict()
    assert state['adaptive_threshold.global_confidence'] == log['pseudo_threshold']
    fresh = semi_model(threshold='self_adaptive', mix=None)
    fresh.load_state_dict(state)  # what --resume does: the averages continue
    assert fresh.adaptive_threshold.global_confidence == log['pseudo_threshold']
    assert 'adaptive_threshold.global_confidence' not in semi_model().state_dict()


def _kept_by_hand(confidence: np.ndarray, labels: np.ndarray, portion: float) -> np.ndarray:
    """1 where a pixel is among the ceil(portion * n) most confident of its class's n."""
    kept = np.zeros(confidence.shape, bool)
    for cls in np.unique(labels):
        where = np.flatnonzero(labels == cls)
        ranked = where[np.argsort(-confidence.ravel()[where])]
        kept.ravel()[ranked[:int(np.ceil(portion * len(where)))]] = True
    return kept


def test_class_balanced_thresholds_keep_each_class_portion_by_hand():
    gen = torch.Generator().manual_seed(0)
    confidence = torch.rand(2, 6, 7, generator=gen)  # distinct values: no ties
    labels = torch.randint(0, 3, (2, 6, 7), generator=gen)  # class 3 of 4: never predicted
    valid = torch.ones(2, 6, 7, dtype=torch.bool)
    valid[1, 4:] = False  # padding: neither ranked nor kept
    thresholds = class_balanced_thresholds(confidence, labels, valid, 4, portion=0.3)
    assert thresholds[3] == float('inf')
    kept = (confidence >= thresholds[labels]) & valid
    expected = np.zeros(valid.shape, bool)
    expected[valid.numpy()] = _kept_by_hand(confidence[valid].numpy(), labels[valid].numpy(),
                                            0.3)
    np.testing.assert_array_equal(kept.numpy(), expected)
    for cls in range(3):  # ceil(0.3 n) of each class's n valid pixels
        n = int(((labels == cls) & valid).sum())
        assert int((kept & (labels == cls)).sum()) == int(np.ceil(0.3 * n))


def test_a_rare_class_keeps_its_portion_under_class_balanced_thresholds():
    # a frequent, confident class and a rare, unsure one: 0.95 keeps the first alone
    confidence = torch.tensor([[[0.99, 0.98, 0.97, 0.96, 0.5, 0.4]]])
    labels = torch.tensor([[[0, 0, 0, 0, 1, 1]]])
    thresholds = class_balanced_thresholds(confidence, labels, torch.ones_like(labels).bool(),
                                           2, portion=0.5)
    assert thresholds.tolist() == pytest.approx([0.98, 0.5])
    assert (confidence >= thresholds[labels]).int().tolist() == [[[1, 1, 0, 0, 1, 0]]]


def test_semi_segmentor_pseudo_labels_keep_each_class_portion():
    model = semi_model(threshold='class_balanced', class_portion=0.25, mix=None)
    batch = preprocessed(model, semi_batch(partners=False))
    weak, samples = batch['inputs']['unsup_weak'], batch['data_samples']['unsup_weak']
    with torch.no_grad():
        confidence, labels = model.teacher(weak, mode='tensor').softmax(1).max(1)
        pseudo = model.pseudo_label(weak, samples)
    expected = _kept_by_hand(confidence.numpy(), labels.numpy(), 0.25)
    np.testing.assert_array_equal(pseudo.weights.numpy(), expected.astype(np.float32))
    assert pseudo.confident.item() == pytest.approx(expected.mean())


@pytest.mark.parametrize('semi_cfg, message', [
    (dict(threshold='adaptive'), r"threshold must be a number in \[0, 1\], 'self_adaptive' or "
                                 r"'class_balanced', got 'adaptive'"),
    (dict(threshold='class_balanced', class_portion=0),
     r'class_portion must be a number in \(0, 1\], got 0'),
    (dict(class_portion=1.5), r'class_portion must be a number in \(0, 1\], got 1.5'),
    (dict(threshold='self_adaptive', threshold_momentum=1.0),
     r'threshold_momentum must be a number in \[0, 1\), got 1.0'),
])
def test_bad_threshold_settings_are_named(semi_cfg, message):
    with pytest.raises(ValueError, match=message):
        semi_model(**semi_cfg)
