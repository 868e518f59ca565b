"""Semi-supervised and domain-adaptive configs end to end: tools/train.py, --resume (exact:
student and teacher), tools/test.py, on tiny synthetic data."""
from __future__ import annotations

import os.path as osp
import shutil

import pytest
import torch
from helpers.cli import ROOT, read_test_metrics, run_tool

from cityseg.utils.checkpoint_loading import safe_torch_load

pytestmark = pytest.mark.integration

SEMI = osp.join(ROOT, 'configs', 'semi', 'fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py')
TINY = dict(num_train=8, num_val=2, num_test=0, size='[128,64]', seed=0)


def _generate(key: str) -> list[str]:
    """--cfg-options giving the dataset at ``key`` the tiny synthetic data's settings."""
    return [f'{key}.generate.{name}={value}' for name, value in TINY.items()]


def _semi_options(root: str, work_dir: str) -> list[str]:
    train = 'train_dataloader.dataset.datasets'
    opts = [f'work_dir={work_dir}', 'train_dataloader.batch_size=2',
            'train_dataloader.sampler.batch_size=2', 'train_dataloader.num_workers=0']
    for i, crop_at in ((0, 2), (1, 1)):  # labelled: Load, LoadLabel, crop; unlabelled: Load, crop
        opts += [f'{train}.{i}.fraction=0.25', f'{train}.{i}.dataset.data_root={root}',
                 *_generate(f'{train}.{i}.dataset'),
                 f'{train}.{i}.dataset.pipeline.{crop_at}.transforms.0.height=64',
                 f'{train}.{i}.dataset.pipeline.{crop_at}.transforms.0.width=64']
    for loader in ('val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={root}', *_generate(f'{loader}.dataset'),
                 f'{loader}.num_workers=0', f'{loader}.batch_size=2']
    return opts + ['model.student.model_kwargs.decoder_channels=[16,16,16,16,16]',
                   'train_cfg.max_iters=4', 'train_cfg.val_interval=2',
                   'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']


def _weights(path: str) -> dict:
    return safe_torch_load(path, map_location='cpu')['state_dict']


@pytest.fixture(scope='module')
def semi_run(tmp_path_factory) -> tuple[str, str]:
    tmp = tmp_path_factory.mktemp('semi')
    root, work_dir = str(tmp / 'data'), str(tmp / 'work')
    log = run_tool('train.py', SEMI, '--cfg-options', *_semi_options(root, work_dir))
    assert 'loss_unsup' in log and 'pseudo_confident' in log
    return root, work_dir


def test_semi_checkpoint_holds_teacher_and_student(semi_run):
    weights = _weights(osp.join(semi_run[1], 'iter_4.pth'))
    teacher = {k[len('teacher.'):]: v for k, v in weights.items() if k.startswith('teacher.')}
    student = {k[len('student.'):]: v for k, v in weights.items() if k.startswith('student.')}
    assert teacher.keys() == student.keys() and teacher
    # EMA (momentum 0.99, warm-up: 0.75 at the 4th update): the teacher lags the student
    assert any(not torch.equal(teacher[k], student[k]) for k in teacher)


def test_semi_resume_is_exact(semi_run, tmp_path):
    root, work_dir = semi_run
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(osp.join(work_dir, 'iter_2.pth'), resumed / 'iter_2.pth')
    run_tool('train.py', SEMI, '--resume', str(resumed / 'iter_2.pth'), '--cfg-options',
             *_semi_options(root, str(resumed)))
    straight, again = _weights(osp.join(work_dir, 'iter_4.pth')), _weights(
        str(resumed / 'iter_4.pth'))
    assert straight.keys() == again.keys()
    for key in straight:
        assert torch.equal(straight[key], again[key]), key


def test_semi_checkpoint_evaluates_with_test_py(semi_run, tmp_path):
    root, work_dir = semi_run
    test_dir = str(tmp_path / 'test')
    run_tool('test.py', SEMI, osp.join(work_dir, 'iter_4.pth'), '--cfg-options',
             *_semi_options(root, test_dir))
    metrics = read_test_metrics(test_dir)
    assert metrics['checkpoint'].endswith('iter_4.pth') and 0 <= metrics['mIoU'] <= 1
