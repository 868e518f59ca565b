"""cityseg.apis.build_runner / train: a Runner built from Python gets the tools' checks and lock."""
import os
import os.path as osp
import subprocess
import sys

import pytest
import torch
from helpers.cli import QUICKSTART, ROOT
from helpers.engine import tiny_config
from mmengine.config import Config

from cityseg.apis import RunRefusedError, build_runner, train
from cityseg.models import SMPSegmentor
from cityseg.utils.work_dir import claim_work_dir


@pytest.mark.integration
def test_train_from_python_returns_the_trained_model_and_frees_the_work_dir(synthetic_root,
                                                                           tmp_path):
    work_dir = str(tmp_path / 'run')
    cfg = tiny_config(synthetic_root, work_dir, 'train_cfg.max_iters=2', 'train_cfg.val_begin=9')
    model = train(cfg)
    assert isinstance(model, SMPSegmentor)
    saved = torch.load(osp.join(work_dir, 'iter_2.pth'))['state_dict']
    for key, value in model.state_dict().items():
        assert torch.equal(value, saved[key]), key
    claim_work_dir(work_dir).release()  # released when training ended


def test_train_from_python_refuses_a_busy_work_dir_before_building(synthetic_root, tmp_path):
    work_dir = str(tmp_path / 'busy')
    lock = claim_work_dir(work_dir)
    try:
        with pytest.raises(RunRefusedError, match=f'work dir {work_dir} is in use by process '
                                                  f'{os.getpid()}'):
            train(tiny_config(synthetic_root, work_dir))
    finally:
        lock.release()
    assert sorted(os.listdir(work_dir)) == ['.train.lock'], 'the refused run wrote files'


@pytest.mark.integration
def test_a_new_training_refuses_a_work_dir_holding_another_runs_checkpoints(synthetic_root,
                                                                             tmp_path):
    work_dir = str(tmp_path / 'run')
    train(tiny_config(synthetic_root, work_dir, 'train_cfg.max_iters=2', 'train_cfg.val_begin=9'))
    before = {f: os.path.getmtime(osp.join(work_dir, f)) for f in os.listdir(work_dir)
              if f.endswith('.pth')}
    assert 'iter_2.pth' in before
    again = tiny_config(synthetic_root, work_dir, 'train_cfg.max_iters=2', 'train_cfg.val_begin=9')
    with pytest.raises(RunRefusedError, match=r'holds another run.s checkpoints \(iter_2\.pth\)'
                                              r'.*--resume.*another --work-dir'):
        train(again)
    assert {f: os.path.getmtime(osp.join(work_dir, f)) for f in os.listdir(work_dir)
            if f.endswith('.pth')} == before, 'the refused run touched the checkpoints'
    again.allow_existing_work_dir = True  # the opt-in tools/train.py --allow-existing-work-dir sets
    assert isinstance(train(again), SMPSegmentor)


def test_train_from_python_names_a_missing_dataset_folder(tmp_path):
    cfg = tiny_config(str(tmp_path / 'nowhere'), str(tmp_path / 'run'))
    cfg.train_dataloader.dataset.type = 'CityscapesDataset'
    cfg.train_dataloader.dataset.pop('generate')
    with pytest.raises(RunRefusedError, match=r"train_dataloader\.dataset\.data_root="
                                              rf"'{tmp_path}/nowhere'"):
        train(cfg)
    assert not osp.exists(tmp_path / 'run')


def test_build_runner_checks_a_config_that_did_not_come_through_load_config():
    cfg = Config.fromfile(QUICKSTART)
    cfg.default_hooks.checkpoint.intervall = 1
    with pytest.raises(TypeError, match=r'default_hooks\.checkpoint\.intervall in .*'
                                        r'quickstart_synthetic\.py.*did you mean '
                                        r'default_hooks\.checkpoint\.interval\?'):
        build_runner(cfg)


@pytest.mark.integration
def test_build_runner_compiles_the_network_only(synthetic_root, tmp_path):
    cfg = tiny_config(synthetic_root, str(tmp_path))
    cfg.compile = dict(backend='eager')
    runner = build_runner(cfg)
    assert 'compile' not in runner.cfg  # mmengine would compile the whole train_step
    assert runner.model.net._compiled_call_impl is not None


@pytest.mark.integration
def test_importing_cityseg_leaves_mmengine_checkpoint_loading_alone():
    code = ('import cityseg, cityseg.apis, cityseg.models, cityseg.engine\n'
            'from mmengine.runner import CheckpointLoader\n'
            "print(CheckpointLoader._schemes[''].__module__)\n"
            'from cityseg.utils import register_all_modules\n'
            'register_all_modules()\n'
            "print(CheckpointLoader._schemes[''].__module__)\n")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout.split()
    assert out == ['mmengine.runner.checkpoint', 'cityseg.utils.checkpoint_loading']
