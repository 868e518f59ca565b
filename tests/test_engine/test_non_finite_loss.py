"""A NaN loss stops training with an error naming the iteration; the last good checkpoint
survives and stays the one to resume from."""
import os.path as osp

import pytest
import torch
from helpers.engine import tiny_config, train
from mmengine.hooks import Hook

from cityseg.registry import HOOKS


@HOOKS.register_module()
class EngineTestPoisonHook(Hook):
    """Turns one weight into NaN just before iteration ``at``."""

    def __init__(self, at):
        self.at = at

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if runner.iter + 1 == self.at:
            with torch.no_grad():
                next(runner.model.parameters()).fill_(float('nan'))


@pytest.mark.integration
def test_nan_loss_stops_at_its_iteration_and_keeps_last_good_checkpoint(synthetic_root,
                                                                         tmp_path):
    work_dir = str(tmp_path)
    cfg = tiny_config(synthetic_root, work_dir, 'train_cfg.val_interval=100',
                      'default_hooks.checkpoint.interval=1')
    cfg.custom_hooks = [dict(type='EngineTestPoisonHook', at=3)]
    with pytest.raises(FloatingPointError, match='iteration 3') as info:
        train(cfg)
    assert 'iter_2.pth' in str(info.value)
    assert not osp.exists(osp.join(work_dir, 'iter_3.pth'))
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert osp.basename(f.read().strip()) == 'iter_2.pth'
    state = torch.load(osp.join(work_dir, 'iter_2.pth'))['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


@pytest.mark.integration
def test_diverging_run_names_no_poisoned_checkpoint_as_safe(synthetic_root, tmp_path):
    """lr 1e10: iteration 1's loss is finite but its step writes weights of ~1e10 into
    iter_1.pth, and the loss turns non-finite soon after. No such checkpoint is called safe."""
    work_dir = str(tmp_path)
    cfg = tiny_config(synthetic_root, work_dir, 'train_cfg.val_interval=100',
                      'train_cfg.max_iters=8', 'default_hooks.checkpoint.interval=1',
                      'optim_wrapper.optimizer.lr=1e10')
    with pytest.raises(FloatingPointError) as info:
        train(cfg)
    message = str(info.value)
    assert 'no checkpoint of this run is safe to resume from' in message, message
    assert 'iter_1.pth (weights up to' in message and 'max_abs_weight=1e+06' in message
    assert 'Loss history (iteration: loss): 1: ' in message and 'nan' in message
    # the independent check: the checkpoint the old message called good holds huge weights
    state = torch.load(osp.join(work_dir, 'iter_1.pth'))['state_dict']
    assert max(v.abs().max().item() for v in state.values() if v.is_floating_point()) > 1e6


@pytest.mark.integration
def test_nan_after_good_checkpoints_names_the_newest_good_one_with_history(synthetic_root,
                                                                            tmp_path):
    cfg = tiny_config(synthetic_root, str(tmp_path), 'train_cfg.val_interval=100',
                      'default_hooks.checkpoint.interval=1')
    cfg.custom_hooks = [dict(type='EngineTestPoisonHook', at=3)]
    with pytest.raises(FloatingPointError) as info:
        train(cfg)
    message = str(info.value)
    assert 'the last checkpoint saved while the loss was finite and not exploding is' in message
    assert message.split(' is ', 1)[1].split('.pth')[0].endswith('iter_2'), message
    assert 'not safe' not in message
    assert 'Loss history (iteration: loss): 1: ' in message and ', 3: nan' in message


@HOOKS.register_module()
class EngineTestBlowUpHook(Hook):
    """Scales the weights to ~1e7 (finite, unsafe) before iteration ``big``, NaN before ``nan``."""

    def __init__(self, big, nan):
        self.big, self.nan = big, nan

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        with torch.no_grad():
            if runner.iter + 1 == self.big:
                for p in runner.model.parameters():
                    p.fill_(1e7)
            if runner.iter + 1 == self.nan:
                next(runner.model.parameters()).fill_(float('nan'))


@pytest.mark.integration
def test_last_good_checkpoint_survives_rotation(synthetic_root, tmp_path):
    """iter_2.pth is safe, iter_3/iter_4 hold weights of 1e7; max_keep_ckpts=2 deletes
    iter_2.pth, so the message names last_good.pth, which holds iter_2's finite weights."""
    work_dir = str(tmp_path)
    cfg = tiny_config(synthetic_root, work_dir, 'train_cfg.val_interval=100',
                      'train_cfg.max_iters=8', 'default_hooks.checkpoint.interval=1',
                      'default_hooks.checkpoint.max_keep_ckpts=2')
    cfg.custom_hooks = [dict(type='EngineTestBlowUpHook', big=3, nan=5)]
    with pytest.raises(FloatingPointError) as info:
        train(cfg)
    message = str(info.value)
    kept = osp.join(work_dir, 'last_good.pth')
    assert not osp.exists(osp.join(work_dir, 'iter_2.pth'))
    assert f'is {kept} (a copy of iter_2.pth, which max_keep_ckpts removed)' in message, message
    ckpt = torch.load(kept)
    assert ckpt['meta']['iter'] == 2
    assert all(torch.isfinite(v).all() and v.abs().max() < 1e6
               for v in ckpt['state_dict'].values() if v.is_floating_point() and v.numel())
