"""Helpers for the engine tests: the quickstart shrunk to seconds, run in-process."""
from __future__ import annotations

import json
import os.path as osp

from mmengine.config import Config
from mmengine.runner import Runner
from torch import nn

from cityseg.apis import build_runner
from cityseg.registry import MODELS
from helpers.cli import QUICKSTART, parse_cfg_options, tiny_cfg_options


def tiny_config(data_root: str, work_dir: str, *options: str) -> Config:
    """The quickstart with helpers.cli's tiny options, then ``options`` (``key=value`` strings)."""
    cfg = Config.fromfile(QUICKSTART)
    cfg.merge_from_dict(parse_cfg_options([*tiny_cfg_options(data_root, work_dir), *options]))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        cfg[loader].num_workers = 0
        cfg[loader].persistent_workers = False
    # mmengine's Visualizer is a per-name singleton, named after the config and the second the
    # Runner was built in: two tests' Runners of one config built within a second would share it.
    cfg.visualizer.name = f'visualizer:{work_dir}'
    return cfg


def train(cfg: Config) -> Runner:
    """Build ``cfg``'s Runner as the tools do (cityseg.apis.build_runner) and train it."""
    runner = build_runner(cfg)
    runner.train()
    return runner


def logged(runner: Runner) -> list[dict]:
    """The records this runner's LocalVisBackend wrote."""
    with open(osp.join(runner.log_dir, 'vis_data', 'scalars.json')) as f:
        return [json.loads(line) for line in f]


@MODELS.register_module()
class EngineTestFCN(nn.Module):
    """A network without BatchNorm (so micro-batches and whole batches see the same function),
    with smp's constructor arguments and an ``encoder``."""

    def __init__(self, encoder_name=None, encoder_weights=None, in_channels=3, classes=19):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.ReLU())
        self.segmentation_head = nn.Conv2d(8, classes, 1)

    def forward(self, x):
        return self.segmentation_head(self.encoder(x))
