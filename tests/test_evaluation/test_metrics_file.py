"""What IoUMetric writes to metrics.json (layout, per-image scores, nan as null), when it
writes nothing, how MetricOutputDirHook puts the file into the run's log dir, and how
read_metrics_file reads it back (and names the file when it is not one)."""
from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from helpers.label_maps import blobby_pairs, histogram_reference, metric_sample
from mmengine.evaluator import Evaluator

from cityseg.datasets.labels import CLASSES, NUM_CLASSES
from cityseg.engine.hooks import MetricOutputDirHook
from cityseg.evaluation import IoUMetric, read_metrics_file

# Image a, 3 classes, 255 = void; rows = gt, cols = pred, counted by hand:
# [[1, 1, 0], [0, 2, 0], [1, 0, 1]] -> IoU 1/3, 2/3, 1/2; 4 of 6 counted pixels right.
GT_A, PRED_A = [[0, 0, 1, 255], [2, 2, 1, 255]], [[0, 1, 1, 2], [2, 0, 1, 0]]
# Image b: [[2, 0, 0], [1, 1, 0], [0, 0, 0]], class 2 in neither map -> IoU of class 0:
# 2/(2+1) = 2/3, of class 1: 1/(1+1) = 1/2, of class 2 nan (left out of the image's mIoU).
GT_B, PRED_B = [[0, 0, 1, 1]], [[0, 0, 1, 0]]
# Image c: all void, so nothing is counted and every score is undefined.
GT_C, PRED_C = [[255, 255]], [[1, 2]]


def _write(tmp_path, samples, num_classes=3, **kwargs) -> tuple[dict, dict]:
    """The summary IoUMetric returns and the metrics.json it writes."""
    path = tmp_path / 'metrics.json'
    metric = IoUMetric(num_classes=num_classes, output_file=str(path), **kwargs)
    metric.process(None, samples)
    summary = metric.compute_metrics(metric.results)
    with open(path) as f:
        return summary, json.load(f)


def test_layout_and_per_image_scores(tmp_path):
    meta = dict(config='c.py', checkpoint='w.pth', split='val', tta=False)
    summary, report = _write(tmp_path, [metric_sample(PRED_A, GT_A, 'a.png'),
                                        metric_sample(PRED_B, GT_B, 'b.png'),
                                        metric_sample(PRED_C, GT_C, 'c.png')],
                             output_meta=meta)
    assert list(report)[:4] == list(meta) and all(report[k] == v for k, v in meta.items())
    assert list(report)[4:] == [*summary, 'per_class', 'confusion_matrix', 'per_image']
    assert {k: report[k] for k in summary} == pytest.approx(summary)
    assert report['confusion_matrix'] == dict(
        classes=['0', '1', '2'], rows='ground truth', columns='prediction',
        counts=[[1 + 2, 1, 0], [0 + 1, 2 + 1, 0], [1, 0, 1]])  # a + b; c counts nothing
    assert list(report['per_class']) == ['0', '1', '2']
    assert set(report['per_class']['0']) == {'IoU', 'Acc', 'Dice'}
    a, b, c = report['per_image']
    # pytest.approx is for numbers only (pytest 9.2 refuses a str with a relative tolerance),
    # so the file name is compared on its own.
    assert (a.pop('file'), b.pop('file')) == ('a.png', 'b.png')
    assert a == pytest.approx({'mIoU': (1 / 3 + 2 / 3 + 1 / 2) / 3, 'aAcc': 4 / 6})
    assert b == pytest.approx({'mIoU': (2 / 3 + 1 / 2) / 2, 'aAcc': 3 / 4})
    assert c == {'file': 'c.png', 'mIoU': None, 'aAcc': None}  # nan written as null


def test_per_image_scores_match_numpy(tmp_path):
    pairs = blobby_pairs(seed=9, n=3)
    _, report = _write(tmp_path, [metric_sample(p, g, f'{k}.png')
                                  for k, (p, g) in enumerate(pairs)], num_classes=NUM_CLASSES,
                       nan_to_num=0)  # nan_to_num is for the dataset means only
    expected = []
    for k, (pred, gt) in enumerate(pairs):
        conf = histogram_reference(pred, gt).astype(float)
        tp, union = np.diag(conf), conf.sum(0) + conf.sum(1) - np.diag(conf)
        iou = tp[union > 0] / union[union > 0]
        expected.append({'file': f'{k}.png', 'mIoU': iou.mean(),
                         'aAcc': tp.sum() / conf.sum()})
    assert len(report['per_image']) == len(expected)
    for entry, reference in zip(report['per_image'], expected):
        assert entry.pop('file') == reference.pop('file')  # approx is for the numbers only
        assert entry == pytest.approx(reference, rel=1e-12)


def test_nothing_written_without_output_file_or_with_format_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    metric = IoUMetric(num_classes=3)
    metric.process(None, [metric_sample(PRED_A, GT_A)])
    metric.compute_metrics(metric.results)
    metric = IoUMetric(num_classes=3, format_only=True, output_file='metrics.json')
    metric.process(None, [metric_sample(PRED_A, GT_A)])
    assert metric.compute_metrics(metric.results) == {}
    assert list(tmp_path.iterdir()) == []


def test_hook_puts_relative_output_files_into_the_log_dir(tmp_path):
    metrics = [IoUMetric(output_file='metrics.json'),
               IoUMetric(output_file=str(tmp_path / 'elsewhere.json')), IoUMetric()]
    runner = SimpleNamespace(log_dir=str(tmp_path / '20240101_000000'),
                             test_loop=SimpleNamespace(evaluator=Evaluator(metrics)))
    MetricOutputDirHook().before_test(runner)
    assert [m.output_file for m in metrics] == [
        str(tmp_path / '20240101_000000' / 'metrics.json'), str(tmp_path / 'elsewhere.json'),
        None]


def test_class_names_label_the_file(tmp_path):
    metric = IoUMetric(output_file=str(tmp_path / 'm.json'))
    metric.dataset_meta = {'classes': CLASSES}
    pred, gt = blobby_pairs(seed=1, n=1)[0]
    metric.process(None, [metric_sample(pred, gt)])
    metric.compute_metrics(metric.results)
    with open(tmp_path / 'm.json') as f:
        report = json.load(f)
    assert list(report['per_class']) == report['confusion_matrix']['classes'] == list(CLASSES)
    assert report['confusion_matrix']['counts'] == histogram_reference(pred, gt).tolist()


def test_read_metrics_file_returns_what_the_metric_wrote(tmp_path):
    _, written = _write(tmp_path, [metric_sample(PRED_A, GT_A, 'a.png'),
                                   metric_sample(PRED_C, GT_C, 'c.png')],
                        output_meta=dict(config='c.py', checkpoint=None))
    read = read_metrics_file(str(tmp_path / 'metrics.json'))
    assert read == written  # json.load's view of the file, nulls included
    assert read['per_image'][1] == {'file': 'c.png', 'mIoU': None, 'aAcc': None}


@pytest.mark.parametrize('text, error', [
    ('{"mIoU": 0.5,\n "per_class": }', r'is not valid JSON \(Expecting value, line 2 column 15\)'),
    ('[1, 2]', 'holds a JSON list, not an object'),
    ('{"mIoU": 0.5, "per_class": {}}', "has no 'confusion_matrix', 'per_image'"),
    ('{"per_class": {}, "per_image": [], "confusion_matrix": {"classes": ["a", "b"], '
     '"counts": [[1, 2]]}}', r'confusion matrix of shape \(1, 2\) for 2 classes'),
])
def test_read_metrics_file_names_the_file_and_the_fault(tmp_path, text, error):
    path = tmp_path / 'broken' / 'metrics.json'
    path.parent.mkdir()
    path.write_text(text)
    with pytest.raises(ValueError, match=error) as info:
        read_metrics_file(str(path))
    assert str(info.value).startswith(str(path))


def test_read_metrics_file_checks_only_the_keys_asked_for(tmp_path):
    path = tmp_path / 'metrics.json'
    path.write_text('{"mIoU": 0.25, "per_class": {"road": {"IoU": 0.25}}}')
    assert read_metrics_file(str(path), require=('per_class',))['mIoU'] == 0.25
    with pytest.raises(FileNotFoundError, match=f'{tmp_path / "nowhere.json"} does not exist'):
        read_metrics_file(str(tmp_path / 'nowhere.json'))


def test_summary_keys_put_the_recorded_class_subsets_after_miou():
    from cityseg.evaluation.metrics_file import summary_keys
    keys = ('aAcc', 'mIoU', 'mAcc')
    assert summary_keys({}, keys) == list(keys)
    metrics = {'class_subsets': {'mIoU16': ['road'], 'mIoU13': ['road']}}
    assert summary_keys(metrics, keys) == ['aAcc', 'mIoU', 'mIoU16', 'mIoU13', 'mAcc']
