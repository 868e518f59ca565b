"""The reference configs wire the engine's hooks and the encoder/decoder lr groups."""
import glob
import os.path as osp

import pytest
from helpers.cli import ROOT
from mmengine.config import Config
from mmengine.registry import init_default_scope

from cityseg.registry import HOOKS, OPTIM_WRAPPER_CONSTRUCTORS

REFERENCE = sorted(glob.glob(osp.join(ROOT, 'configs', '*_effb3_512.py')))


@pytest.mark.parametrize('path', REFERENCE, ids=osp.basename)
def test_reference_config_hooks_build(path):
    init_default_scope('cityseg')
    cfg = Config.fromfile(path)
    hooks = [HOOKS.build(dict(h)) for h in cfg.custom_hooks]
    assert [type(h).__name__ for h in hooks] == [
        'ClassWeightHook', 'EncoderUnfreezeHook', 'SegVisualizationHook', 'TrainingCurvesHook']
    assert OPTIM_WRAPPER_CONSTRUCTORS.get(cfg.optim_wrapper.constructor) is not None
    assert cfg.optim_wrapper.paramwise_cfg.encoder_lr_mult == 0.1
    # mmengine's early stopping resolves from cityseg's scope (see docs/training.md).
    HOOKS.build(dict(type='EarlyStoppingHook', monitor='mIoU', patience=10, min_delta=0.001))
