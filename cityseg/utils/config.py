"""The one way tools read a config: cityseg's modules registered, overrides merged."""
from __future__ import annotations

import os.path as osp

from mmengine.config import Config

from .setup_env import register_all_modules


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    """``Config.fromfile(path)`` with ``--cfg-options`` deep-merged (list items by index), then
    :func:`drop_persistent_workers_without_workers` and :func:`check_num_classes`."""
    register_all_modules()
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    drop_persistent_workers_without_workers(cfg)
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


def drop_persistent_workers_without_workers(cfg: Config) -> None:
    """Set ``persistent_workers=False`` in every ``*_dataloader`` with ``num_workers=0``.

    The dataset configs keep their workers alive between epochs, and PyTorch's ``DataLoader``
    refuses ``persistent_workers=True`` without workers (mmengine passes both through), so
    ``--cfg-options train_dataloader.num_workers=0``, the usual first debugging step, would
    otherwise fail before training starts. With no workers there is nothing to keep alive.
    """
    for key, loader in cfg.items():
        if (key.endswith('_dataloader') and isinstance(loader, dict)
                and loader.get('num_workers') == 0 and loader.get('persistent_workers')):
            loader['persistent_workers'] = False


def apply_tta(cfg: Config) -> None:
    """Merge the config's ``tta_cfg`` (flips and scales; default: a horizontal flip) into
    ``model.test_cfg``, as ``--tta`` asks."""
    cfg.model.setdefault('test_cfg', {}).update(cfg.get('tta_cfg', dict(flip=True)))


def resolve_work_dir(cfg: Config, config_path: str, work_dir: str | None = None) -> str:
    """``--work-dir``, else the config's ``work_dir``, else ``work_dirs/<config name>``."""
    return work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(config_path))[0])
