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
