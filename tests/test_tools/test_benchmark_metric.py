"""tools/analysis_tools/benchmark_metric.py prints the metric's share of evaluation time, and
only after the metric's confusion matrix agreed with numpy's count of the same pixels."""
import importlib.util
import os.path as osp
import re
import sys
from unittest import mock

import pytest
from helpers.cli import QUICKSTART, ROOT, run_tool

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_metric.py')
SMALL = [QUICKSTART, '--num-images', '2', '--size', '64', '128', '--cfg-options',
         'model.model_kwargs.decoder_channels=[16,16,16,16,16]']


def test_prints_both_times_and_the_share():
    out = run_tool('analysis_tools/benchmark_metric.py', *SMALL)
    times = [float(t) for t in re.findall(r'([\d.]+) ms/image', out)]
    assert len(times) == 2 and all(t > 0 for t in times)  # prediction, metric
    share = float(re.search(r'metric share of evaluation time: ([\d.]+) %', out).group(1))
    # The printed share is the metric's fraction of the sum of the two printed times. Each
    # time is rounded to 0.0005 ms (the share's relative error up to 0.0005 / metric + 0.001
    # / sum) and the share itself to 0.0005 %: the two bounds add (pytest.approx would take
    # the larger one only, and failed at 1.124 vs 1.1259 with bounds 0.0013 + 0.0005).
    expected = 100 * times[1] / sum(times)
    bound = expected * (0.0005 / times[1] + 0.001 / sum(times)) + 0.0005
    assert abs(share - expected) <= bound, (share, expected, bound)


def test_disagreement_is_an_error(monkeypatch):
    monkeypatch.syspath_prepend(osp.dirname(SCRIPT))  # as when run: its folder's timing.py
    spec = importlib.util.spec_from_file_location('benchmark_metric', SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    from cityseg.evaluation import iou_metric  # what the script times counts through this

    def off_by_one(*args, **kwargs):
        conf = original(*args, **kwargs)
        conf[0, 0] += 1
        return conf

    original = iou_metric.confusion_matrix
    monkeypatch.setattr(iou_metric, 'confusion_matrix', off_by_one)
    with mock.patch.object(sys, 'argv', [SCRIPT, *SMALL]), \
            pytest.raises(RuntimeError, match='disagrees'):
        module.main()
