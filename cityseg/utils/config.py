"""The one way tools read a config: cityseg's modules registered, overrides merged."""
from __future__ import annotations

import os.path as osp

from mmengine.config import Config

from .setup_env import register_all_modules


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    """``Config.fromfile(path)`` with ``--cfg-options`` deep-merged (list items by index)."""
    register_all_modules()
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    check_num_classes(cfg)
    return cfg


def check_num_classes(cfg: Config) -> None:
    """Refuse a model whose ``num_classes`` differs from the classes a dataloader's dataset
    states (``classes=`` or ``metainfo.classes``), naming both: such a model would train and
    be scored against the wrong number of classes."""
    num_classes = (cfg.get('model') or {}).get('num_classes')
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        dataset = (cfg.get(loader) or {}).get('dataset') or {}
        classes = dataset.get('classes', (dataset.get('metainfo') or {}).get('classes'))
        if num_classes is not None and classes is not None and len(classes) != num_classes:
            raise ValueError(f'model.num_classes={num_classes} but {loader}.dataset has '
                             f'{len(classes)} classes {tuple(classes)}: set '
                             f'model.num_classes={len(classes)}, or the same classes everywhere')


def apply_tta(cfg: Config) -> None:
    """Merge the config's ``tta_cfg`` (flips and scales; default: a horizontal flip) into
    ``model.test_cfg``, as ``--tta`` asks."""
    cfg.model.setdefault('test_cfg', {}).update(cfg.get('tta_cfg', dict(flip=True)))


def resolve_work_dir(cfg: Config, config_path: str, work_dir: str | None = None) -> str:
    """``--work-dir``, else the config's ``work_dir``, else ``work_dirs/<config name>``."""
    return work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config_path))[0])
