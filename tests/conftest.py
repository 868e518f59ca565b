"""Shared fixtures: one small synthetic dataset per test session."""
import os.path as osp

import pytest
import torch

from cityseg.utils import register_all_modules

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SMALL_SYNTHETIC = dict(num_train=4, num_val=2, num_test=1, size=(128, 64), seed=0)

torch.set_num_threads(2)
register_all_modules()


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A Cityscapes-layout synthetic dataset, 128x64 images, generated once per session."""
    from cityseg.datasets.synthetic import ensure_synthetic_cityscapes
    root = tmp_path_factory.mktemp('synthetic') / 'cityscapes'
    ensure_synthetic_cityscapes(root, **SMALL_SYNTHETIC)
    return str(root)


def tiny_cfg_options(data_root: str, work_dir: str) -> list[str]:
    """--cfg-options that shrink the quickstart to seconds on the session's tiny dataset."""
    opts = [f'work_dir={work_dir}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False', f'{loader}.batch_size=2']
        opts += [f'{loader}.dataset.generate.{k}={list(v) if isinstance(v, tuple) else v}'
                 .replace(' ', '') for k, v in SMALL_SYNTHETIC.items()]
    return opts + [
        'train_dataloader.dataset.pipeline.2.transforms.0.height=64',
        'train_dataloader.dataset.pipeline.2.transforms.0.width=64',
        'model.encoder_name=resnet18',
        'model.model_kwargs.decoder_channels=[16,16,16,16,16]',
        'train_cfg.max_iters=4', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
        'param_scheduler.0.end=4',
    ]
