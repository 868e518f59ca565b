"""Refuse a training run whose dataset folders are missing before anything slow starts.

Runner builds the model (and downloads its encoder weights) before it builds a dataset, so a
fresh clone without data would wait for a download before hearing that the data is missing.
"""
from __future__ import annotations

import os.path as osp

from mmengine.config import Config

from cityseg.registry import DATASETS

_LOADERS = ('train_dataloader', 'val_dataloader')


def check_dataset_roots(cfg: Config) -> None:
    """Raise FileNotFoundError naming every ``data_root`` of the train/val sets that is missing.

    The message gives the ``--cfg-options`` key of each root and the dataset's own hint (the
    environment variable its config reads, e.g. ``CITYSCAPES_DATASET``).
    """
    problems = []
    for loader in _LOADERS:
        if cfg.get(loader) and cfg[loader].get('dataset') is not None:
            problems += _missing_roots(cfg[loader]['dataset'], f'{loader}.dataset')
    if problems:
        raise FileNotFoundError('dataset folder not found (nothing was trained):\n'
                                + '\n'.join(problems))


def _missing_roots(dataset: dict, key: str) -> list[str]:
    """The missing roots of ``dataset`` and of the datasets it wraps (Concat/Repeat)."""
    problems = []
    if isinstance(dataset.get('dataset'), dict):
        problems += _missing_roots(dataset['dataset'], f'{key}.dataset')
    for i, inner in enumerate(dataset.get('datasets') or []):
        problems += _missing_roots(inner, f'{key}.datasets.{i}')
    root = dataset.get('data_root')
    cls = DATASETS.get(dataset.get('type')) if isinstance(dataset.get('type'), str) else None
    if getattr(cls, 'creates_data_root', False):  # e.g. the synthetic data generates itself
        return problems
    if isinstance(root, str) and not osp.isdir(root):
        hint = getattr(cls, 'root_hint', '')
        problems.append(' '.join(filter(None, (
            f'  {key}.data_root={root!r} ({osp.abspath(root)}) does not exist.', hint,
            f'Or pass --cfg-options {key}.data_root=PATH'))))
    return problems
