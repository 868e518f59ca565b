"""The Cityscapes dataset base configs and small trees shared by the dataset and cache tests."""
from __future__ import annotations

import copy
import os.path as osp
import shutil
from pathlib import Path

from mmengine.config import Config

from helpers.cli import ROOT

BASE = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/cityscapes.py'))
HALF = Config.fromfile(osp.join(ROOT, 'configs/_base_/datasets/cityscapes_half.py'))


def small_crop_pipeline(cfg: Config, name: str) -> list:
    """``cfg[name]`` with its random crop shrunk to 48x64, inside the 128x64 synthetic images."""
    steps = copy.deepcopy(cfg[name])
    for step in steps:
        if step.type == 'Albu':
            step.transforms[0].update(height=48, width=64)
    return steps


def copy_root(synthetic_root: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(synthetic_root, tmp_path / 'cs'))
