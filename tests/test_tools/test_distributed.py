"""Scale-out with PyTorch's own launcher: 2-process gloo training on CPU through torchrun."""
import glob
import json
import os
import os.path as osp
import socket
import subprocess
import sys

import pytest
from conftest import ROOT, tiny_cfg_options

QUICKSTART = osp.join(ROOT, 'configs', 'quickstart_synthetic.py')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def run(cmd: list[str], env: dict | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, 'OMP_NUM_THREADS': '1', **(env or {})})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def val_mious(work_dir: str) -> dict[int, float]:
    (path,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        records = [json.loads(line) for line in f]
    return {r['step']: r['mIoU'] for r in records if 'mIoU' in r}


@pytest.fixture(scope='module')
def dist_run(synthetic_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('dist'))
    log = run(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), QUICKSTART, '2',
               '--cfg-options', *tiny_cfg_options(synthetic_root, work_dir)],
              env={'PORT': str(free_port())})
    return work_dir, log


def test_two_process_gloo_training_writes_checkpoints(dist_run):
    work_dir, log = dist_run
    assert 'world_size: 2' in log or 'Distributed launcher: pytorch' in log
    assert "'backend': 'gloo'" in log or "backend='gloo'" in log
    assert osp.isfile(osp.join(work_dir, 'iter_4.pth'))
    assert len(glob.glob(osp.join(work_dir, 'best_mIoU_iter_*.pth'))) == 1


def test_distributed_validation_equals_single_process(dist_run, synthetic_root, tmp_path):
    """The last validation ran on 2 ranks; the single-process test of its weights must agree."""
    work_dir, _ = dist_run
    dist_miou = val_mious(work_dir)[4]
    single_dir = str(tmp_path / 'single')
    run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), QUICKSTART,
         osp.join(work_dir, 'iter_4.pth'), '--cfg-options',
         *tiny_cfg_options(synthetic_root, single_dir)])
    (metrics_path,) = glob.glob(osp.join(single_dir, '*', 'metrics.json'))
    with open(metrics_path) as f:
        single_miou = json.load(f)['mIoU']
    assert abs(dist_miou - single_miou) < 1e-6
