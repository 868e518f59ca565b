"""The self-training configs (configs/semi FixMatch, configs/uda DACS) trained for 4 iterations
through tools/train.py on tiny synthetic data, once per test run, shared by every module that
needs a semi-supervised or a domain-adaptation checkpoint.

``self_training_run`` (a fixture parametrised over ``'semi'`` and ``'uda'``, reaching every
test module through ``pytest_plugins`` in tests/conftest.py) trains on first use into a folder
shared by the whole run (helpers/shared_dir.py), as helpers/tiny_checkpoint.py does for the
supervised quickstart. FixMatch predicts with its EMA teacher (``predict_on='teacher'``), DACS
with its student, so the two checkpoints cover both predicting networks.
"""
from __future__ import annotations

import os.path as osp
from dataclasses import dataclass

import pytest

from helpers.cli import ROOT, run_tool
from helpers.shared_dir import shared_dir

SEMI = osp.join(ROOT, 'configs', 'semi', 'fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py')
UDA = osp.join(ROOT, 'configs', 'uda', 'dacs_unet-r18_8xb8-600it_synthetic-day2night.py')
TRAIN = 'train_dataloader.dataset.datasets'


def _generate(key: str, **settings) -> list[str]:
    """--cfg-options giving the dataset at ``key`` tiny synthetic data."""
    settings = {'num_train': 8, 'num_val': 2, 'num_test': 0, 'size': '[128,64]', 'seed': 0,
                **settings}
    return [f'{key}.generate.{name}={value}' for name, value in settings.items()]


def _crop(key: str, at: int) -> list[str]:
    return [f'{key}.pipeline.{at}.transforms.0.height=64',
            f'{key}.pipeline.{at}.transforms.0.width=64']


def _semi_data(root: str) -> list[str]:
    opts = ['train_dataloader.dataset.fraction=0.25']
    for half, crop_at in (('labelled', 2), ('unlabelled', 1)):  # Load, (LoadLabel), crop
        key = f'train_dataloader.dataset.{half}'
        opts += [f'{key}.data_root={root}', *_generate(key), *_crop(key, crop_at)]
    for loader in ('val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={root}', *_generate(f'{loader}.dataset')]
    return opts


def _uda_data(root: str) -> list[str]:
    day, night = osp.join(root, 'day'), osp.join(root, 'night')
    target = dict(seed=1, style='night', num_train=4)
    opts = [f'{TRAIN}.0.data_root={day}', *_generate(f'{TRAIN}.0', num_train=4, num_val=0),
            *_crop(f'{TRAIN}.0', 2), f'{TRAIN}.1.data_root={night}',
            *_generate(f'{TRAIN}.1', **target), *_crop(f'{TRAIN}.1', 1)]
    for loader in ('val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={night}',
                 *_generate(f'{loader}.dataset', **target)]
    return opts


CONFIGS = {'semi': (SEMI, _semi_data), 'uda': (UDA, _uda_data)}


def self_training_options(kind: str, root: str, work_dir: str) -> list[str]:
    """--cfg-options shrinking the ``kind`` config (``'semi'`` or ``'uda'``) to seconds on
    tiny synthetic data under ``root`` (generated on first use), training into ``work_dir``."""
    opts = [f'work_dir={work_dir}', 'train_dataloader.batch_size=2']  # the sampler's too
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.num_workers=0']
    return opts + CONFIGS[kind][1](root) + [
        'val_dataloader.batch_size=2', 'test_dataloader.batch_size=2',
        'model.student.model_kwargs.decoder_channels=[16,16,16,16,16]',
        'train_cfg.max_iters=4', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']


@dataclass(frozen=True)
class SelfTrainingRun:
    """One shared training: its config, data, work dir (``iter_2.pth``, ``iter_4.pth``) and
    the training log."""

    kind: str
    data_root: str
    work_dir: str
    log: str

    @property
    def config(self) -> str:
        return CONFIGS[self.kind][0]

    @property
    def checkpoint(self) -> str:
        """The final checkpoint (student and teacher)."""
        return osp.join(self.work_dir, 'iter_4.pth')

    def options(self, work_dir: str) -> list[str]:
        """The run's --cfg-options (its data, its tiny model) with another ``work_dir``."""
        return self_training_options(self.kind, self.data_root, work_dir)


def trained_run(tmp_path_factory, kind: str) -> SelfTrainingRun:
    """The ``kind`` training of this test run, made on first use."""
    def train(folder: str) -> None:
        log = run_tool('train.py', CONFIGS[kind][0], '--cfg-options', *self_training_options(
            kind, osp.join(folder, 'data'), osp.join(folder, 'work')))
        with open(osp.join(folder, 'train.log'), 'w') as f:
            f.write(log)

    folder = shared_dir(tmp_path_factory, f'self_training_{kind}', train)
    with open(osp.join(folder, 'train.log')) as f:
        log = f.read()
    return SelfTrainingRun(kind, osp.join(folder, 'data'), osp.join(folder, 'work'), log)


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def self_training_run(request, tmp_path_factory) -> SelfTrainingRun:
    """The FixMatch (``semi``) and the DACS (``uda``) run, trained once per test run."""
    return trained_run(tmp_path_factory, request.param)
