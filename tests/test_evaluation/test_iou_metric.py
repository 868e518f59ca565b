"""Tests of IoUMetric: hand counts, parity with the official Cityscapes evaluator, distributed
collection (with a real 2-process gloo group), input validation and nan handling; what it
writes to metrics.json is tested in test_metrics_file.py."""
from __future__ import annotations

import json
import math
import os
import pickle

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from helpers.label_maps import blobby_pairs, histogram_reference, metric_sample
from helpers.official_eval import (
    assert_class_scores_match,
    label_ids_with_every_void,
    official_evaluation,
    write_eval_files,
)
from mmengine.evaluator import Evaluator
from mmengine.structures import PixelData

from cityseg.datasets.labels import CLASSES, IGNORE_INDEX, NUM_CLASSES
from cityseg.evaluation import IoUMetric, confusion_matrix, metrics_from_confusion
from cityseg.registry import METRICS
from cityseg.structures.seg_data_sample import SegDataSample

# 3 classes, one 2x4 image; 255 = void.
HAND_GT = [[0, 0, 1, 255],
           [2, 2, 1, 255]]
HAND_PRED = [[0, 1, 1, 2],
             [2, 0, 1, 0]]
# Counted by hand over the six non-void pixels, rows = gt, cols = pred:
# gt 0 -> pred 0, 1; gt 1 -> pred 1, 1; gt 2 -> pred 2, 0.
HAND_CONF = [[1, 1, 0],
             [0, 2, 0],
             [1, 0, 1]]
# IoU = TP / (TP + FP + FN): class 0: 1/(1+1+1); class 1: 2/(2+1+0); class 2: 1/(1+0+1).
HAND_IOU = [1 / 3, 2 / 3, 1 / 2]


def _evaluate(pairs, dtype=torch.int64, **kwargs) -> dict:
    """The summary of an IoUMetric over ``pairs``."""
    metric = IoUMetric(num_classes=NUM_CLASSES, **kwargs)
    metric.dataset_meta = {'classes': CLASSES}
    metric.process(None, [metric_sample(p, g, dtype=dtype) for p, g in pairs])
    return metric.compute_metrics(metric.results)


def _read(path) -> dict:
    with open(path) as f:
        return json.load(f)


def test_hand_counted_confusion_and_scores(tmp_path):
    conf = confusion_matrix(torch.tensor(HAND_PRED), torch.tensor(HAND_GT), 3)
    assert conf.dtype == torch.int64
    assert conf.tolist() == HAND_CONF

    metric = METRICS.build(dict(type='IoUMetric', num_classes=3,
                                iou_metrics=['mIoU', 'mDice', 'mFscore'],
                                output_file=str(tmp_path / 'metrics.json')))
    metric.process(None, [metric_sample(HAND_PRED, HAND_GT, 'a.png')])
    res = metric.compute_metrics(metric.results)
    assert res['aAcc'] == pytest.approx(4 / 6)
    assert res['mIoU'] == pytest.approx(sum(HAND_IOU) / 3)
    # Acc = TP / (TP + FN): 1/2, 2/2, 1/2; Dice = 2TP / (2TP + FP + FN): 2/4, 4/5, 2/3.
    assert res['mAcc'] == pytest.approx((1 / 2 + 1 + 1 / 2) / 3)
    assert res['mDice'] == pytest.approx((2 / 4 + 4 / 5 + 2 / 3) / 3)
    # Precision = TP / (TP + FP): 1/2, 2/3, 1/1; with beta=1 the F-score is the Dice.
    assert res['mPrecision'] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert res['mRecall'] == pytest.approx(res['mAcc'])
    assert res['mFscore'] == pytest.approx(res['mDice'])
    per_class = _read(tmp_path / 'metrics.json')['per_class']
    assert [per_class[str(c)]['IoU'] for c in range(3)] == pytest.approx(HAND_IOU)


def test_inputs_are_not_modified():
    # The maps are widened into a new index, never modified.
    pred, gt = torch.tensor(HAND_PRED, dtype=torch.int32), torch.tensor(HAND_GT)
    assert confusion_matrix(pred, gt, 3).tolist() == HAND_CONF
    assert pred.tolist() == HAND_PRED and gt.tolist() == HAND_GT


def test_fscore_beta():
    # Class 0 of the hand example: TP=1, FP=1, FN=1; beta=2 -> 5TP / (5TP + 4FN + FP) = 5/10.
    f = metrics_from_confusion(np.array(HAND_CONF), beta=2)['Fscore']
    assert f[0] == pytest.approx(0.5)


@pytest.mark.parametrize('dtype', [torch.uint8, torch.int64])
def test_parity_with_official_cityscapes_evaluator(tmp_path, dtype):
    pairs = blobby_pairs()
    res = _evaluate(pairs, dtype=dtype, output_file=str(tmp_path / 'metrics.json'))
    per_class = {name: scores['IoU']
                 for name, scores in _read(tmp_path / 'metrics.json')['per_class'].items()}

    # The same maps as the official tool reads them: label ids, every kind of void label id
    # in the ground truth (the evaluator must ignore all of them, not only 0 'unlabeled').
    rng = np.random.default_rng(1)
    pred_files, gt_files = write_eval_files(
        tmp_path, [p for p, _ in pairs], [label_ids_with_every_void(g, rng) for _, g in pairs])
    export = str(tmp_path / 'result.json')
    ref = official_evaluation(pred_files, gt_files, export_file=export)
    assert _read(export)['averageScoreClasses'] == pytest.approx(ref['averageScoreClasses'])

    assert res['mIoU'] == pytest.approx(ref['averageScoreClasses'], abs=1e-6)
    assert assert_class_scores_match(per_class, ref['classScores']) == NUM_CLASSES - 1
    assert ref['classScores']['bus'] == 0 and per_class['bus'] == 0
    assert math.isnan(ref['classScores']['train']) and per_class['train'] is None


def test_results_of_two_halves_sum_to_the_whole():
    pairs = blobby_pairs(seed=3, n=4)
    whole = _evaluate(pairs)
    rank0, rank1 = IoUMetric(num_classes=NUM_CLASSES), IoUMetric(num_classes=NUM_CLASSES)
    rank0.process(None, [metric_sample(p, g) for p, g in pairs[:2]])
    rank1.process(None, [metric_sample(p, g) for p, g in pairs[2:]])
    assert len(rank0.results) == len(rank1.results) == 2  # one matrix per image
    merged = IoUMetric(num_classes=NUM_CLASSES).compute_metrics(rank0.results + rank1.results)
    assert merged == pytest.approx(whole, nan_ok=True)


def _dist_worker(rank, world_size, workdir, pairs, out_file):
    """One rank of a real gloo group: DefaultSampler split (with padding) + metric.evaluate;
    rank 0 writes metrics.json into ``workdir``."""
    from mmengine.dataset import DefaultSampler

    os.chdir(workdir)  # mmengine's collect_results_cpu creates '.dist_test' in the cwd
    dist.init_process_group('gloo', init_method=f'file://{workdir}/init', rank=rank,
                            world_size=world_size)
    metric = IoUMetric(num_classes=NUM_CLASSES, output_file='metrics.json')
    indices = list(DefaultSampler(list(range(len(pairs))), shuffle=False))
    for start in range(0, len(indices), 2):  # batches of two
        metric.process(None, [metric_sample(*pairs[i], img_path=f'{i}.png')
                              for i in indices[start:start + 2]])
    res = metric.evaluate(len(pairs))
    if rank == 0:
        with open(out_file, 'wb') as f:
            pickle.dump(res, f)
    dist.destroy_process_group()


@pytest.mark.integration
def test_distributed_evaluation_drops_sampler_padding(tmp_path):
    # 5 images on 2 ranks: DefaultSampler pads rank 1 with image 0 again.
    pairs = blobby_pairs(seed=4, n=5)
    whole = _evaluate(pairs)
    out = tmp_path / 'res.pkl'
    mp.spawn(_dist_worker, args=(2, str(tmp_path), pairs, str(out)), nprocs=2)
    with open(out, 'rb') as f:
        assert pickle.load(f) == pytest.approx(whole, nan_ok=True)
    # One per-image entry per image, in dataset order, although the ranks saw them
    # interleaved and image 0 twice.
    per_image = _read(tmp_path / 'metrics.json')['per_image']
    assert [s['file'] for s in per_image] == [f'{i}.png' for i in range(5)]
    # Counting image 0 twice would change the result, so the check above has teeth.
    padded = _evaluate(pairs + pairs[:1])
    assert padded['mIoU'] != pytest.approx(whole['mIoU'])


def test_evaluator_path_with_data_elements():
    """Through mmengine's Evaluator, which turns SegDataSamples into dicts itself."""
    pairs = blobby_pairs(seed=5, n=3)
    evaluator = Evaluator(IoUMetric(prefix='val'))  # num_classes from dataset_meta
    evaluator.dataset_meta = {'classes': CLASSES}
    for pred, gt in pairs:
        ds = SegDataSample()
        ds.pred_sem_seg = PixelData(data=torch.from_numpy(pred)[None].long())
        ds.gt_sem_seg = PixelData(data=torch.from_numpy(gt)[None].long())
        evaluator.process([ds])
    res = evaluator.evaluate(len(pairs))
    ref = _evaluate(pairs)
    assert res == pytest.approx({f'val/{k}': v for k, v in ref.items()}, nan_ok=True)


def test_shape_mismatch_names_image_and_shapes():
    metric = IoUMetric(num_classes=3)
    with pytest.raises(ValueError, match=r'city_1\.png.*\(1, 2, 4\).*\(1, 2, 3\)'):
        metric.process(None, [metric_sample(HAND_PRED, [row[:3] for row in HAND_GT], 'city_1.png')])


@pytest.mark.parametrize('which, value', [('pred', 3), ('pred', -1), ('gt', 3), ('gt', 254)])
def test_values_outside_the_classes_raise(which, value):
    pred, gt = np.array(HAND_PRED), np.array(HAND_GT)
    (pred if which == 'pred' else gt)[0, 0] = value
    metric = IoUMetric(num_classes=3)
    with pytest.raises(ValueError, match=r'\[0, 3\)'):
        metric.process(None, [metric_sample(pred, gt)])


def test_class_count_mismatch_with_dataset_raises():
    metric = IoUMetric(num_classes=3)
    metric.dataset_meta = {'classes': CLASSES}
    with pytest.raises(ValueError, match='num_classes=3'):
        metric.process(None, [metric_sample(HAND_PRED, HAND_GT)])


def test_void_ignore_index_inside_class_range():
    # ignore_index=1: class 1 pixels of the ground truth are void and counted nowhere.
    conf = confusion_matrix(torch.tensor(HAND_PRED), torch.tensor([[0, 0, 1, 2], [2, 2, 1, 1]]),
                            3, ignore_index=1)
    assert conf.tolist() == [[1, 1, 0], [0, 0, 0], [1, 0, 2]]


def test_class_absent_everywhere_is_nan_and_excluded(tmp_path):
    # Class 3 is predicted on a void pixel only, so it counts nowhere; class 2 is predicted
    # once but absent from the ground truth.
    gt = [[0, 0, 1, 1, 1, 255]]
    pred = [[0, 2, 1, 1, 1, 3]]
    metric = IoUMetric(num_classes=4, output_file=str(tmp_path / 'metrics.json'))
    metric.process(None, [metric_sample(pred, gt)])
    res = metric.compute_metrics(metric.results)
    per_class = _read(tmp_path / 'metrics.json')['per_class']
    iou = [per_class[str(c)]['IoU'] for c in range(4)]
    # class 0: TP 1, FN 1 -> 1/2; class 1: TP 3 -> 1; class 2: FP 1 -> 0; class 3: nan.
    assert iou[:3] == pytest.approx([1 / 2, 1, 0])
    assert iou[3] is None  # nan, written as null
    assert res['mIoU'] == pytest.approx(np.nanmean([1 / 2, 1, 0, np.nan]))
    assert res['mIoU'] == pytest.approx(1 / 2)
    # Acc of a class absent from the ground truth is undefined too and left out of mAcc.
    assert res['mAcc'] == pytest.approx((1 / 2 + 1) / 2)

    metric = IoUMetric(num_classes=4, nan_to_num=0)
    metric.process(None, [metric_sample(pred, gt)])
    assert metric.compute_metrics(metric.results)['mIoU'] == pytest.approx((1 / 2 + 1) / 4)


def test_unknown_metric_rejected():
    with pytest.raises(ValueError, match='mAP'):
        IoUMetric(iou_metrics=['mIoU', 'mAP'])


DEVICES = ['cpu', *(['cuda'] if torch.cuda.is_available() else [])]


@pytest.mark.parametrize('device', DEVICES)
def test_counts_on_the_prediction_device(device):
    pairs = blobby_pairs(seed=6, n=1)
    pred, gt = (torch.from_numpy(a).long() for a in pairs[0])
    conf = confusion_matrix(pred.to(device), gt, NUM_CLASSES)  # gt follows the prediction
    assert conf.device.type == device
    assert conf.cpu().numpy().tolist() == histogram_reference(*pairs[0]).tolist()


@pytest.mark.parametrize('dtype', [torch.uint8, torch.int16, torch.int32, torch.int64])
def test_every_integer_dtype_counts_the_same(dtype):
    pred, gt = (torch.from_numpy(a) for a in blobby_pairs(seed=7, n=1)[0])
    ref = confusion_matrix(pred.long(), gt.long(), NUM_CLASSES)
    assert torch.equal(confusion_matrix(pred.to(dtype), gt.to(dtype), NUM_CLASSES), ref)
    assert ref.sum() == int((gt != IGNORE_INDEX).sum())


@pytest.mark.parametrize('dtype, value', [(torch.int64, 2 ** 16 + 1), (torch.int64, -(2 ** 16)),
                                          (torch.int32, 2 ** 15 + 1), (torch.uint8, 200)])
def test_values_are_not_wrapped_into_the_narrow_index(dtype, value):
    # A value that would wrap to a valid class in int16 or uint8 must still be rejected, in
    # either map: the bounds are checked before the maps are narrowed to the int32 index.
    for which in ('pred', 'gt'):
        pred, gt = torch.tensor(HAND_PRED, dtype=dtype), torch.tensor(HAND_GT, dtype=dtype)
        (pred if which == 'pred' else gt)[0, 0] = value
        with pytest.raises(ValueError, match=r'\[0, 3\)'):
            confusion_matrix(pred, gt, 3)


def test_float_maps_rejected():
    with pytest.raises(ValueError, match='integer class indices.*float32'):
        confusion_matrix(torch.tensor(HAND_PRED, dtype=torch.float32), torch.tensor(HAND_GT), 3)


def _pixels_of(conf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (pred, gt) pair of 1 x N maps whose confusion matrix is ``conf`` (rows = gt)."""
    gt, pred = np.nonzero(conf)
    counts = conf[gt, pred]
    return np.repeat(pred, counts)[None], np.repeat(gt, counts)[None]


def test_class_subset_means_match_numpy_on_a_hand_made_matrix(tmp_path):
    from cityseg.datasets.synthia_labels import PROTOCOL_CLASSES
    rng = np.random.default_rng(0)
    conf = rng.integers(0, 50, (NUM_CLASSES, NUM_CLASSES)) * (rng.random((19, 19)) < 0.3)
    conf[np.arange(19), np.arange(19)] += rng.integers(50, 500, 19)
    wall, fence, bus = CLASSES.index('wall'), CLASSES.index('fence'), CLASSES.index('bus')
    conf[wall, :] = conf[:, wall] = 0  # wall in neither map: nan, left out of mIoU16
    conf[fence, :] = 0  # fence predicted, never in the ground truth: IoU 0, counted
    conf[bus, fence] = 7
    pred, gt = _pixels_of(conf)
    metric = IoUMetric(class_subsets='synthia', output_file=str(tmp_path / 'metrics.json'))
    metric.dataset_meta = {'classes': CLASSES}
    metric.process(None, [metric_sample(pred, gt)])
    res = metric.compute_metrics(metric.results)

    tp = np.diag(conf).astype(float)
    with np.errstate(invalid='ignore'):
        iou = tp / (conf.sum(0) + conf.sum(1) - tp)
    assert np.isnan(iou[wall]) and iou[fence] == 0
    for n in (16, 13):
        idx = [CLASSES.index(c) for c in PROTOCOL_CLASSES[n]]
        assert res[f'mIoU{n}'] == pytest.approx(np.nanmean(iou[idx]))
    assert res['mIoU'] == pytest.approx(np.nanmean(iou))
    assert list(res)[:4] == ['aAcc', 'mIoU', 'mIoU16', 'mIoU13']  # next to mIoU
    report = _read(tmp_path / 'metrics.json')
    assert (report['mIoU16'], report['mIoU13']) == pytest.approx((res['mIoU16'],
                                                                  res['mIoU13']))
    assert report['class_subsets'] == {f'mIoU{n}': list(PROTOCOL_CLASSES[n]) for n in (16, 13)}

    # nan_to_num applies before the subset means, as before mIoU: wall counts as 0 in mIoU16.
    metric = IoUMetric(class_subsets='synthia', nan_to_num=0)
    metric.dataset_meta = {'classes': CLASSES}
    metric.process(None, [metric_sample(pred, gt)])
    idx = [CLASSES.index(c) for c in PROTOCOL_CLASSES[16]]
    assert metric.compute_metrics(metric.results)['mIoU16'] == pytest.approx(
        np.nan_to_num(iou[idx]).mean())


def test_class_subset_by_hand():
    metric = IoUMetric(class_subsets=dict(mIoU2=['road', 'sidewalk']))
    metric.dataset_meta = {'classes': ('road', 'sidewalk', 'building')}
    metric.process(None, [metric_sample(HAND_PRED, HAND_GT)])
    res = metric.compute_metrics(metric.results)
    assert res['mIoU2'] == pytest.approx((HAND_IOU[0] + HAND_IOU[1]) / 2)  # (1/3 + 2/3) / 2


def test_class_subset_errors_name_the_key_the_subset_and_the_class():
    metric = IoUMetric(class_subsets=dict(mIoU16=['road', 'wal']))
    with pytest.raises(ValueError, match=r"class_subsets\['mIoU16'\]: unknown class 'wal'"):
        metric.dataset_meta = {'classes': CLASSES}
    # Without dataset_meta the classes are named by index, checked at evaluation.
    metric = IoUMetric(num_classes=3, class_subsets=dict(first=['0', 'road']))
    metric.process(None, [metric_sample(HAND_PRED, HAND_GT)])
    with pytest.raises(ValueError, match=r"class_subsets\['first'\]: unknown class 'road'"):
        metric.compute_metrics(metric.results)
    with pytest.raises(ValueError, match="class_subsets='gta'.*'synthia'"):
        IoUMetric(class_subsets='gta')
    with pytest.raises(ValueError, match=r"class_subsets\['mIoU'\].*summary keys"):
        IoUMetric(class_subsets=dict(mIoU=['road']))
    with pytest.raises(ValueError, match=r"class_subsets\['x'\] must be a non-empty list"):
        IoUMetric(class_subsets=dict(x='road'))
    with pytest.raises(ValueError, match=r"class_subsets\['x'\] names \['car'\] more than"):
        IoUMetric(class_subsets=dict(x=['car', 'road', 'car']))
    with pytest.raises(ValueError, match="add 'mIoU' to iou_metrics"):
        IoUMetric(iou_metrics=['mDice'], class_subsets='synthia')
