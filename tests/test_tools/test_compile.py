"""torch.compile through tools/train.py: cfg.compile compiles the network, every hook on."""
import glob
import os.path as osp
import re
import textwrap

import pytest
from helpers.cli import QUICKSTART, run_tool, tiny_cfg_options
from mmengine.config import Config

from cityseg.utils.compile import pop_compile_options

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration


@pytest.mark.parametrize('value, expected', [(True, {}), (False, None),
                                             ({'backend': 'aot_eager'}, {'backend': 'aot_eager'})])
def test_pop_compile_options_takes_the_key_away_from_the_runner(value, expected):
    cfg = Config(dict(compile=value, model=dict()))
    assert pop_compile_options(cfg) == expected
    assert 'compile' not in cfg  # mmengine's Runner would otherwise compile train_step
    assert pop_compile_options(Config(dict())) is None


def test_pop_compile_options_names_a_bad_value():
    with pytest.raises(TypeError, match="cfg.compile .*'yes'"):
        pop_compile_options(Config(dict(compile='yes')))


def test_compiled_training_with_every_hook_and_amp_does_not_recompile_per_iteration(
        synthetic_root, tmp_path):
    """Class weights, encoder unfreezing (at iteration 4 of 6), visuals, curves and bf16 AMP,
    compiled with dynamo + AOTAutograd (backend aot_eager: the same graph capture, guards and
    recompiles as inductor, without its C++ code generation, which takes minutes here).
    Compiling mmengine's whole train_step instead recompiled at every iteration (guards on the
    optimizer's float lr and on data-sample string ids) until dynamo's cache limit."""
    config = tmp_path / 'compiled.py'
    config.write_text(textwrap.dedent(f"""
        _base_ = [{QUICKSTART!r}]
        custom_hooks = [
            dict(type='ClassWeightHook', method='enet'),
            dict(type='EncoderUnfreezeHook', unfreeze_at=0.5),
            dict(type='SegVisualizationHook', num_images=2),
            dict(type='TrainingCurvesHook'),
        ]
        optim_wrapper = dict(type='AmpOptimWrapper', dtype='bfloat16',
                             constructor='EncoderDecoderOptimWrapperConstructor',
                             paramwise_cfg=dict(encoder_lr_mult=0.1))
        """))
    work_dir = str(tmp_path / 'work')
    out = run_tool('train.py', str(config), '--cfg-options',
                   *tiny_cfg_options(synthetic_root, work_dir), 'compile.backend=aot_eager',
                   'train_cfg.max_iters=6', 'train_cfg.val_interval=3',
                   'default_hooks.checkpoint.interval=3', env={'TORCH_LOGS': 'recompiles'})
    assert 'Class weights (enet)' in out
    assert 'Encoder unfrozen at iteration 4' in out
    assert osp.isfile(osp.join(work_dir, 'iter_6.pth'))
    assert glob.glob(osp.join(work_dir, 'visuals', '*.png'))
    reasons = re.findall(r'Recompiling function .*?\n.*?triggered by.*?\n(.*?)\n', out)
    # The network ran compiled: its first switch to eval mode recompiles (grad mode changed).
    assert any('GLOBAL_STATE changed' in r for r in reasons), out[-3000:]
    # Mode switches and the unfreezing only, not one per iteration (6 + 2 validations).
    assert len(reasons) <= 4, reasons
    assert not [r for r in reasons if 'param_groups' in r or 'check_obj_id' in r], reasons
