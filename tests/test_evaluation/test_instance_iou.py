"""iIoU: a hand-computed example, parity with cityscapesscripts' instance-level scores, and how
IoUMetric finds (or refuses) the instanceIds files."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest
import torch
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling
from helpers.label_maps import blobby_pairs, metric_sample
from helpers.official_eval import (
    assert_class_scores_match,
    label_ids_with_every_void,
    official_evaluation,
    write_eval_files,
)
from PIL import Image

from cityseg.datasets.labels import CLASSES, ID_TO_TRAIN_ID, IGNORE_INDEX, NUM_CLASSES
from cityseg.evaluation import IoUMetric, instance_counts
from cityseg.evaluation.instance_iou import instance_ids_path

AVG_SIZE = evalPixelLevelSemanticLabeling.args.avgClassSize
INSTANCE_CLASSES = ['person', 'rider', 'car', 'truck', 'bus', 'train', 'motorcycle', 'bicycle']
PERSON, CAR, ROAD = (CLASSES.index(c) for c in ('person', 'car', 'road'))

# One row of 12 pixels: person A (4 px), person B (2 px), car (3 px), road (3 px).
HAND_INST = [24001] * 4 + [24002] * 2 + [26001] * 3 + [7] * 3
HAND_GT = [PERSON] * 6 + [CAR] * 3 + [ROAD] * 3
# A: 3 of 4 right, one as road; B: both as car; the car right; one road pixel as person.
HAND_PRED = [PERSON] * 3 + [ROAD] + [CAR] * 2 + [CAR] * 3 + [PERSON, ROAD, ROAD]


def _hand_expected() -> dict[str, float]:
    """iIoU = iTP / (iTP + FP + iFN), each instance's pixels weighted by avgClassSize / size."""
    a, c = AVG_SIZE['person'], AVG_SIZE['car']
    person_tp = 3 * a / 4 + 0 * a / 2
    person_fn = 1 * a / 4 + 2 * a / 2
    person = person_tp / (person_tp + 1 + person_fn)  # FP: the road pixel
    car = (3 * c / 3) / (3 * c / 3 + 2 + 0)  # FP: person B's two pixels
    return {'person': person, 'car': car}


def _hand_metric(tmp_path, instance_iou=True) -> IoUMetric:
    """The hand example's metric after ``process``; it writes ``tmp_path/metrics.json``."""
    stem = tmp_path / 'city_000000_000019'
    Image.fromarray(np.array([HAND_INST], dtype=np.uint16)).save(
        f'{stem}_gtFine_instanceIds.png')
    metric = IoUMetric(num_classes=NUM_CLASSES, instance_iou=instance_iou,
                       output_file=str(tmp_path / 'metrics.json'))
    metric.dataset_meta = {'classes': CLASSES}
    sample = metric_sample([HAND_PRED], [HAND_GT], 'city_000000_000019_leftImg8bit.png')
    sample['seg_map_path'] = f'{stem}_gtFine_labelIds.png'  # need not exist
    metric.process(None, [sample])
    return metric


def test_hand_computed_iiou(tmp_path):
    metric = _hand_metric(tmp_path)
    res = metric.compute_metrics(metric.results)
    with open(tmp_path / 'metrics.json') as f:
        per_class = json.load(f)['per_class']
    expected = _hand_expected()
    iiou = {c: per_class[c]['iIoU'] for c in CLASSES}
    assert iiou['person'] == pytest.approx(expected['person'], rel=1e-12)
    assert iiou['car'] == pytest.approx(expected['car'], rel=1e-12)
    # Instance classes with no instance and no false positive, and all stuff classes: nan.
    assert all(v is None for c, v in iiou.items() if c not in expected)
    assert res['iIoU'] == pytest.approx((expected['person'] + expected['car']) / 2)
    # Plain IoU of person for contrast: TP 3, FN 3, FP 1.
    assert per_class['person']['IoU'] == pytest.approx(3 / 7)


def test_counts_on_a_group_and_an_ignored_instance_class():
    # Person pixels without an instance (id 24, a crowd) and a caravan instance (ignored in
    # evaluation) contribute nothing; the lone person instance is half right.
    inst = torch.tensor([[24, 24, 29001, 29001, 24005, 24005]])
    pred = torch.tensor([[PERSON, PERSON, CAR, CAR, PERSON, ROAD]])
    counts = instance_counts(pred, inst, NUM_CLASSES)
    w = AVG_SIZE['person'] / 2
    expected = torch.zeros(2, NUM_CLASSES, dtype=torch.float64)
    expected[:, PERSON] = torch.tensor([w, w], dtype=torch.float64)
    assert torch.allclose(counts, expected, rtol=1e-12, atol=0)


def _instance_scene(pairs, rng):
    """Label-id and instanceIds maps for train-id ground truths: instances are the 16x16 cells
    of each instance-class region, the top rows are a crowd (no instance id), and a caravan
    instance (ignored by the benchmark) sits in a void area."""
    scenes = []
    for _, gt in pairs:
        label_ids = label_ids_with_every_void(gt, rng).astype(np.uint16)
        h, w = gt.shape
        cell = (np.arange(h)[:, None] // 16) * (w // 16) + np.arange(w)[None] // 16 + 1
        inst = label_ids.copy()
        is_instance = np.isin(label_ids, [24, 25, 26, 27, 28, 31, 32, 33])
        is_instance[:4] = False  # a crowd: label id only
        inst[is_instance] = label_ids[is_instance] * 1000 + cell[is_instance]
        ys, xs = np.nonzero(gt == IGNORE_INDEX)
        label_ids[ys[:20], xs[:20]] = 29
        inst[ys[:20], xs[:20]] = 29001
        scenes.append((label_ids.astype(np.uint8), inst))
    return scenes


def test_parity_with_official_instance_scores(tmp_path):
    pairs = blobby_pairs(seed=11, n=3)
    scenes = _instance_scene(pairs, np.random.default_rng(2))
    pred_files, gt_files = write_eval_files(tmp_path, [p for p, _ in pairs],
                                            [label_ids for label_ids, _ in scenes],
                                            [inst for _, inst in scenes])
    samples = []
    for (pred, _), (label_ids, _), pred_file, gt_file in zip(pairs, scenes, pred_files,
                                                              gt_files):
        # Our side reads train ids, as the dataset makes them from the same label file.
        sample = metric_sample(pred, ID_TO_TRAIN_ID[label_ids], pred_file)
        sample['seg_map_path'] = gt_file
        samples.append(sample)
    ref = official_evaluation(pred_files, gt_files, instance_level=True)

    metric = IoUMetric(num_classes=NUM_CLASSES, instance_iou='auto',
                       output_file=str(tmp_path / 'metrics.json'))
    metric.dataset_meta = {'classes': CLASSES}
    metric.process(None, samples)
    res = metric.compute_metrics(metric.results)
    with open(tmp_path / 'metrics.json') as f:
        per_class = json.load(f)['per_class']
    assert res['mIoU'] == pytest.approx(ref['averageScoreClasses'], abs=1e-6)
    assert res['iIoU'] == pytest.approx(ref['averageScoreInstClasses'], abs=1e-6)
    iiou = {name: scores['iIoU'] for name, scores in per_class.items()}
    # The scene has instances of most classes, so the check has teeth.
    assert assert_class_scores_match(iiou, ref['classInstScores']) >= 6
    assert ref['classInstScores']['bus'] == 0  # predicted, never in the ground truth


def test_instance_ids_path_from_either_label_type():
    assert instance_ids_path('/d/gtFine/val/c/c_1_2_gtFine_labelIds.png') == \
        '/d/gtFine/val/c/c_1_2_gtFine_instanceIds.png'
    assert instance_ids_path('c_1_2_gtFine_labelTrainIds.png') == 'c_1_2_gtFine_instanceIds.png'
    assert instance_ids_path('c_1_2_color.png') is None


@pytest.mark.parametrize('name', ['GOPR0475_frame_000041_gt_labelTrainIds.png',  # ACDC
                                  '7d06fefd-f7be05a6.png',  # BDD100K
                                  'beach/0001_mask.png'])  # your own
def test_auto_skips_iiou_for_labels_not_named_like_cityscapes(tmp_path, name):
    """'auto' (tools/test.py's default) gives the pixel metrics and no iIoU; True names the
    label file it cannot pair."""
    sample = metric_sample([HAND_PRED], [HAND_GT])
    sample['seg_map_path'] = str(tmp_path / name)
    metric = IoUMetric(num_classes=NUM_CLASSES, instance_iou='auto')
    metric.process(None, [sample, sample])
    res = metric.compute_metrics(metric.results)
    assert 'iIoU' not in res
    reference = IoUMetric(num_classes=NUM_CLASSES, instance_iou=False)
    reference.process(None, [sample, sample])
    assert res == reference.compute_metrics(reference.results)
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / name))):
        IoUMetric(num_classes=NUM_CLASSES, instance_iou=True).process(None, [sample])


def test_auto_without_files_reports_no_iiou_and_true_requires_them(tmp_path):
    sample = metric_sample([HAND_PRED], [HAND_GT])
    sample['seg_map_path'] = str(tmp_path / 'x_gtFine_labelIds.png')
    metric = IoUMetric(num_classes=NUM_CLASSES, instance_iou='auto')
    metric.process(None, [sample])
    assert 'iIoU' not in metric.compute_metrics(metric.results)
    with pytest.raises(FileNotFoundError, match='x_gtFine_instanceIds.png'):
        IoUMetric(num_classes=NUM_CLASSES, instance_iou=True).process(None, [sample])


def test_off_by_default_reads_no_file(tmp_path):
    metric = _hand_metric(tmp_path, instance_iou=False)
    assert 'iIoU' not in metric.compute_metrics(metric.results)
    assert IoUMetric().instance_iou is False


def test_instance_files_for_part_of_the_images_is_an_error(tmp_path):
    metric = _hand_metric(tmp_path, instance_iou='auto')
    other = metric_sample([HAND_PRED], [HAND_GT])
    other['seg_map_path'] = str(tmp_path / 'missing_gtFine_labelIds.png')
    metric.process(None, [other])
    with pytest.raises(ValueError, match='1 of 2 images'):
        metric.compute_metrics(metric.results)


def test_instance_of_a_class_without_instances_names_the_image(tmp_path):
    stem = tmp_path / 'city_000000_000019'
    Image.fromarray(np.array([[7001, 7001]], dtype=np.uint16)).save(
        f'{stem}_gtFine_instanceIds.png')  # 'road' has no instances
    sample = metric_sample([[ROAD, ROAD]], [[ROAD, ROAD]], 'road.png')
    sample['seg_map_path'] = f'{stem}_gtFine_labelIds.png'
    with pytest.raises(ValueError, match=r'road\.png.*\[7001\].*without instances'):
        IoUMetric(num_classes=NUM_CLASSES, instance_iou=True).process(None, [sample])
