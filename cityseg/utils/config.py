"""The one way tools read a config: cityseg's modules registered, overrides merged."""
from __future__ import annotations

from mmengine.config import Config

from .setup_env import register_all_modules


def load_config(path: str, cfg_options: dict | None = None) -> Config:
    """``Config.fromfile(path)`` with ``--cfg-options`` deep-merged (list items by index)."""
    register_all_modules()
    cfg = Config.fromfile(path)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
