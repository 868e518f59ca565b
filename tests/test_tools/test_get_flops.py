"""tools/analysis_tools/get_flops.py counts what the network really holds and computes."""
import importlib.util
import os.path as osp

import pytest
from helpers.cli import QUICKSTART, ROOT
from mmengine.config import Config

from cityseg.registry import MODELS

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

spec = importlib.util.spec_from_file_location(
    'get_flops', osp.join(ROOT, 'tools', 'analysis_tools', 'get_flops.py'))
get_flops = importlib.util.module_from_spec(spec)
spec.loader.exec_module(get_flops)


def tiny_cfg() -> Config:
    cfg = Config.fromfile(QUICKSTART)
    cfg.model.model_kwargs = dict(decoder_channels=[16, 16, 16, 16, 16])
    return cfg


def test_parameters_equal_the_networks_own_count():
    info = get_flops.complexity(tiny_cfg(), (64, 128))
    net = MODELS.build(tiny_cfg().model).net
    assert info['params'] == sum(p.numel() for p in net.parameters())


def test_flops_scale_with_pixels_for_a_fully_convolutional_network():
    small = get_flops.complexity(tiny_cfg(), (64, 128))['flops']
    large = get_flops.complexity(tiny_cfg(), (128, 256))['flops']
    assert small > 0
    assert abs(large / small - 4) < 0.05
