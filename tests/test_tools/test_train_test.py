"""End to end through the CLIs: train a tiny model, find its checkpoints, test it."""
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch
from conftest import ROOT, tiny_cfg_options
from PIL import Image

from cityseg.datasets.labels import VALID_LABEL_IDS

QUICKSTART = osp.join(ROOT, 'configs', 'quickstart_synthetic.py')


def run_tool(script: str, *args: str, env: dict | None = None) -> str:
    proc = subprocess.run([sys.executable, osp.join(ROOT, 'tools', script), *args],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, 'OMP_NUM_THREADS': '2', **(env or {})})
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def read_scalars(work_dir: str) -> list[dict]:
    (path,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('work'))
    log = run_tool('train.py', QUICKSTART, '--cfg-options',
                   *tiny_cfg_options(synthetic_root, work_dir))
    return work_dir, log


def test_train_leaves_best_last_log_and_scalars(trained):
    work_dir, log = trained
    assert 'per-class' in log.lower() or '| road' in log, 'per-class table not printed'
    best = glob.glob(osp.join(work_dir, 'best_mIoU_iter_*.pth'))
    assert len(best) == 1
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        last = f.read().strip()
    assert osp.basename(last) == 'iter_4.pth' and osp.isfile(last)
    assert glob.glob(osp.join(work_dir, '*', '*.log'))
    val_records = [r for r in read_scalars(work_dir) if 'mIoU' in r]
    assert [r['step'] for r in val_records] == [2, 4]
    assert all(0 <= r['mIoU'] <= 1 for r in val_records)


def test_test_tool_reproduces_best_validation_miou(trained, synthetic_root, tmp_path):
    work_dir, _ = trained
    (best,) = glob.glob(osp.join(work_dir, 'best_mIoU_iter_*.pth'))
    best_miou = max(r['mIoU'] for r in read_scalars(work_dir) if 'mIoU' in r)
    out_dir = tmp_path / 'out'
    test_dir = str(tmp_path / 'test_work')
    run_tool('test.py', QUICKSTART, best, '--out', str(out_dir), '--cfg-options',
             *tiny_cfg_options(synthetic_root, test_dir))
    (metrics_path,) = glob.glob(osp.join(test_dir, '*', 'metrics.json'))
    with open(metrics_path) as f:
        metrics = json.load(f)
    assert abs(metrics['mIoU'] - best_miou) < 1e-4
    pngs = sorted(out_dir.glob('*_leftImg8bit.png'))
    val_imgs = sorted(glob.glob(osp.join(synthetic_root, 'leftImg8bit', 'val', '*', '*.png')))
    assert [p.name for p in pngs] == [osp.basename(p) for p in val_imgs]
    pred = np.asarray(Image.open(pngs[0]))
    assert pred.shape == np.asarray(Image.open(val_imgs[0])).shape[:2]
    assert set(np.unique(pred)) <= VALID_LABEL_IDS


def test_custom_imports_registers_user_model_and_trains(synthetic_root, tmp_path):
    (tmp_path / 'my_nets.py').write_text(textwrap.dedent('''
        from torch import nn
        from cityseg.registry import MODELS

        @MODELS.register_module()
        class TinyFCN(nn.Module):
            """A user's network with smp's constructor arguments."""
            def __init__(self, encoder_name=None, encoder_weights=None, in_channels=3,
                         classes=19):
                super().__init__()
                self.encoder = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1),
                                             nn.ReLU())
                self.segmentation_head = nn.Conv2d(8, classes, 1)

            def forward(self, x):
                return self.segmentation_head(self.encoder(x))
        '''))
    config = tmp_path / 'my_config.py'
    config.write_text(textwrap.dedent(f'''
        _base_ = [{QUICKSTART!r}]
        custom_imports = dict(imports=['my_nets'], allow_failed_imports=False)
        model = dict(arch='TinyFCN', model_kwargs=dict(_delete_=True))
        '''))
    work_dir = str(tmp_path / 'work')
    opts = [o for o in tiny_cfg_options(synthetic_root, work_dir)
            if not o.startswith(('model.', 'train_cfg.'))]
    log = run_tool('train.py', str(config), '--cfg-options', *opts, 'train_cfg.max_iters=2',
                   'train_cfg.val_interval=2', env={'PYTHONPATH': str(tmp_path)})
    assert 'TinyFCN' in log
    state = torch.load(osp.join(work_dir, 'iter_2.pth'))['state_dict']
    assert state['net.encoder.0.weight'].shape == (8, 3, 3, 3)
    assert state['net.segmentation_head.1.weight'].shape == (19, 8, 1, 1)  # after the dropout
