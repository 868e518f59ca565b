"""Anomaly metrics: AUPRC / AUROC against scikit-learn, FPR95 and the component metrics on
hand-made cases, and the metric naming bad input."""
import numpy as np
import pytest
import torch

from cityseg.evaluation import (
    AnomalyMetric,
    aggregate_components,
    frame_components,
    pixel_curves,
)

sklearn_metrics = pytest.importorskip('sklearn.metrics')


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_auprc_and_auroc_equal_scikit_learn_on_random_scores(seed):
    rng = np.random.default_rng(seed)
    labels = rng.random(5000) < 0.1
    scores = rng.normal(size=5000) + labels  # informative, with ties from rounding
    scores = np.round(scores, 1)
    result = pixel_curves(scores, labels)
    assert result['AUPRC'] == pytest.approx(
        sklearn_metrics.average_precision_score(labels, scores))
    assert result['AUROC'] == pytest.approx(sklearn_metrics.roc_auc_score(labels, scores))
    fpr, tpr, _ = sklearn_metrics.roc_curve(labels, scores, drop_intermediate=False)
    assert result['FPR95'] == pytest.approx(fpr[np.argmax(tpr >= 0.95)])


def test_fpr95_by_hand():
    # 20 anomalies scored 10..29, 10 in-distribution pixels scored 0..9 except one at 15.5:
    # TPR reaches 0.95 (19 of 20) at threshold 11, where 1 of 10 negatives is above: 0.1.
    scores = np.r_[np.arange(10, 30), np.arange(9), 15.5]
    labels = np.r_[np.ones(20, bool), np.zeros(10, bool)]
    result = pixel_curves(scores, labels)
    assert result['FPR95'] == pytest.approx(0.1)
    with pytest.raises(ValueError, match='both anomaly and in-distribution'):
        pixel_curves(scores[:20], labels[:20])


def test_component_metrics_on_a_hand_made_case():
    label = np.zeros((10, 20), np.uint8)
    label[1:4, 1:4] = 1        # object A: 9 pixels
    label[1:4, 10:13] = 1      # object B: 9 pixels
    label[8:10, :] = 255       # void rows
    score = np.zeros((10, 20))
    score[1:4, 1:3] = 1        # covers 6 of A: sIoU 6/9, precision 1
    score[6, 15:20] = 1        # a false component of 5 pixels: precision 0
    score[8:10, 0:5] = 1       # on void: dropped
    frame = frame_components(score, label, threshold=0.5, min_pred_size=1, min_gt_size=1)
    assert sorted(frame['sIoU_gt']) == pytest.approx([0.0, 6 / 9])  # B is missed
    assert sorted(frame['prec_pred']) == pytest.approx([0.0, 1.0])
    result = aggregate_components([frame])
    assert result['sIoU'] == pytest.approx(1 / 3)
    assert result['PPV'] == pytest.approx(0.5)
    # every threshold 0.25..0.65: TP 1 (A), FN 1 (B), FP 1 (the false one): F1 = 2/4;
    # 0.70 and 0.75 (> 6/9): TP 0, FN 2, FP 1: F1 0
    assert result['mean_F1'] == pytest.approx(9 * 0.5 / 11)
    assert result['F1_25'] == pytest.approx(0.5) and result['F1_75'] == 0


def test_one_prediction_over_two_objects_is_not_punished_for_the_other():
    label = np.zeros((5, 12), np.uint8)
    label[1:4, 1:4] = 1
    label[1:4, 5:8] = 1
    score = np.zeros((5, 12))
    score[1:4, 1:8] = 1  # one component over both objects and the gap between them
    frame = frame_components(score, label, 0.5, 1, 1)
    # object 1: intersection 9; union = 21 (prediction) + 9 - 9 - 9 (on object 2) = 12
    assert frame['sIoU_gt'] == pytest.approx([9 / 12, 9 / 12])
    assert frame['prec_pred'] == pytest.approx([18 / 21])


def test_small_components_are_dropped_as_the_benchmark_does():
    label = np.zeros((6, 6), np.uint8)
    label[0, 0] = 1  # a 1-pixel object: becomes void with min_gt_size 2
    score = np.zeros((6, 6))
    score[4, 4] = 1  # a 1-pixel prediction: removed with min_pred_size 2
    frame = frame_components(score, label, 0.5, 2, 2)
    assert frame == dict(sIoU_gt=[], sIoU_pred=[], prec_pred=[])


def sample(label, score, path='a.png'):
    return dict(seg_map_path=path, gt_sem_seg=dict(data=torch.as_tensor(label)[None]),
                anomaly_scores=dict(msp=torch.as_tensor(score, dtype=torch.float32)[None]))


def test_metric_scores_each_map_and_names_bad_input():
    label = np.zeros((4, 4), np.uint8)
    label[0] = 1
    label[3] = 255
    score = label.astype(np.float32)
    metric = AnomalyMetric(components='obstacle')
    metric.process(None, [sample(label, score)])
    result = metric.evaluate(1)
    assert result['msp/AUPRC'] == 1 and result['msp/FPR95'] == 0
    assert 'msp/sIoU' in result and 'curve' in metric.details['msp']
    with pytest.raises(ValueError, match=r'b.png: the anomaly mask is 4x4 but the msp map is '
                                         r'4x3'):
        metric.process(None, [sample(label, score[:3], 'b.png')])
    with pytest.raises(ValueError, match=r'c.png: anomaly mask values \[7\]'):
        metric.process(None, [sample(np.full((4, 4), 7, np.uint8), score, 'c.png')])
    without_mask = sample(label, score, 'd.png')
    del without_mask['gt_sem_seg']
    with pytest.raises(ValueError, match='d.png: no anomaly mask'):
        metric.process(None, [without_mask])
