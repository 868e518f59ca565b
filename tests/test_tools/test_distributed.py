"""Scale-out with PyTorch's own launcher: 2-process gloo training on CPU through torchrun."""
import glob
import json
import os.path as osp
import sys

import pytest
from helpers.cli import (
    ONE_THREAD,
    QUICKSTART,
    ROOT,
    read_scalars,
    run_command,
    tiny_cfg_options,
    torchrun_env,
)

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration


@pytest.fixture(scope='module')
def dist_run(synthetic_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('dist'))
    log = run_command(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), QUICKSTART, '2',
                       '--cfg-options', *tiny_cfg_options(synthetic_root, work_dir)],
                      env=torchrun_env(work_dir))
    return work_dir, log


def test_two_process_gloo_training_writes_checkpoints(dist_run):
    work_dir, log = dist_run
    assert 'Distributed training: True' in log and 'GPU number: 2' in log  # = world size
    assert "'backend': 'gloo'" in log or "backend='gloo'" in log
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    assert len(glob.glob(osp.join(work_dir, 'best_mIoU_iter_*.pth'))) == 1


def test_distributed_validation_equals_single_process(dist_run, synthetic_root, tmp_path):
    """The last validation ran on 2 ranks; the single-process test of its weights must agree."""
    work_dir, _ = dist_run
    dist_miou = {r['step']: r['mIoU'] for r in read_scalars(work_dir) if 'mIoU' in r}[4]
    single_dir = str(tmp_path / 'single')
    run_command([sys.executable, osp.join(ROOT, 'tools', 'test.py'), QUICKSTART,
                 osp.join(work_dir, 'iter_4.pth'), '--cfg-options',
                 *tiny_cfg_options(synthetic_root, single_dir)], env=ONE_THREAD)
    (metrics_path,) = glob.glob(osp.join(single_dir, '*', 'metrics.json'))
    with open(metrics_path) as f:
        single_miou = json.load(f)['mIoU']
    assert abs(dist_miou - single_miou) < 1e-6
