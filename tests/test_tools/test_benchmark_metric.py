"""tools/analysis_tools/benchmark_metric.py times only after both sides agree: it runs end to
end on small maps, through both counting paths, and refuses to print when the matrices differ."""
import importlib.util
import os.path as osp
import subprocess
import sys
from unittest import mock

import pytest
from conftest import ROOT

SCRIPT = osp.join(ROOT, 'tools', 'analysis_tools', 'benchmark_metric.py')
SMALL = ['--num-images', '2', '--height', '64', '--width', '256', '--repeat', '1']


@pytest.mark.parametrize('extra', [[], ['--noise', '0.3'], ['--iiou']])
def test_prints_ratios_after_the_agreement_check(extra):
    out = subprocess.run([sys.executable, SCRIPT, *SMALL, *extra], capture_output=True,
                         text=True, check=True, cwd=ROOT).stdout
    assert '% of pixels start a run' in out
    assert out.count('ms/image') == (3 if '--iiou' in extra else 4)


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
            pytest.raises(RuntimeError, match='disagree'):
        module.main()
