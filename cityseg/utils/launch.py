"""Distributed launch settings shared by tools/train.py and tools/test.py."""
from __future__ import annotations

import torch
from mmengine.config import Config


def apply_launcher(cfg: Config, launcher: str) -> None:
    """Set ``cfg.launcher`` and pick the collective backend for the device.

    NCCL needs CUDA; on CPU-only machines (CI, laptops) torchrun jobs use gloo.
    """
    cfg.launcher = launcher
    if launcher != 'none' and not torch.cuda.is_available():
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
