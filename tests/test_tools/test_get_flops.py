"""tools/analysis_tools/get_flops.py counts what the network really holds and computes."""
import importlib.util
import os.path as osp

import pytest
from helpers.cli import QUICKSTART, ROOT
from helpers.self_training_checkpoint import SEMI, UDA
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


@pytest.mark.parametrize('config', [SEMI, UDA])
def test_a_self_training_config_counts_the_network_it_predicts_with(config):
    """One network (student and teacher are the same one), its encoder weights not fetched
    (``imagenet`` would download)."""
    cfg = Config.fromfile(config)
    cfg.model.student.encoder_weights = 'imagenet'
    info = get_flops.complexity(cfg, (64, 128))
    net = MODELS.build(dict(cfg.model.student, encoder_weights=None)).net
    assert info['params'] == sum(p.numel() for p in net.parameters())
    assert cfg.model.student.encoder_weights == 'imagenet'  # the caller's config is left alone
