"""A NaN loss stops training with an error naming the iteration; the last good checkpoint
survives and stays the one to resume from."""
import os.path as osp
from types import SimpleNamespace

import pytest
import torch
from helpers.engine import tiny_config, train
from mmengine.hooks import Hook

from cityseg.engine.hooks import NonFiniteLossHook
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


# --- the hook on its own, with a stand-in runner: no training ------------------------------

class _Logger:
    def __init__(self):
        self.warnings = []

    def warning(self, message):
        self.warnings.append(message)


def _runner(**info):
    from mmengine.logging import MessageHub
    hub = MessageHub(f'non_finite_test_{id(info)}')
    for key, value in info.items():
        hub.update_info(key, value)
    return SimpleNamespace(iter=0, logger=_Logger(), message_hub=hub)


def test_a_finite_loss_far_above_its_median_for_3_iterations_is_warned_about():
    hook = NonFiniteLossHook()
    runner = _runner()
    for i, loss in enumerate([1.0, 1.1, 0.9, 1.0, 50.0, 80.0]):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs=dict(loss=torch.tensor(loss)))
    assert runner.logger.warnings == []  # two exploding losses are not yet a divergence
    runner.iter = 6
    hook.after_train_iter(runner, 6, outputs=dict(loss=torch.tensor(1e3)))
    (warning,) = runner.logger.warnings
    # The median is of the plausible losses: 50 and 80 do not raise the bar (they did, and
    # lr=1e3's jump from 4 to 3e7 then stayed under it: no warning ever came).
    assert warning == ('The loss is diverging: loss 1000 > 10 x median 1 for 3 iterations '
                       'in a row (iteration 7); lower optim_wrapper.optimizer.lr; no checkpoint '
                       'of this run is safe to resume from.')
    runner.iter = 7
    hook.after_train_iter(runner, 7, outputs=dict(loss=torch.tensor(2e3)))
    assert len(runner.logger.warnings) == 1  # warned once per divergence, not every step
    hook.after_train(runner)  # and once more if the run ends that way
    assert runner.logger.warnings[1].startswith(
        'Training ended with the loss diverging (loss 2000 > 10 x median 1, for the last 4 '
        'iterations): the final weights are not to be trusted')


def test_a_loss_that_drops_back_ends_the_divergence():
    hook = NonFiniteLossHook()
    runner = _runner()
    for i, loss in enumerate([1.0, 1.0, 40.0, 40.0, 1.2, 40.0, 1.1]):
        runner.iter = i
        hook.after_train_iter(runner, i, outputs=dict(loss=torch.tensor(loss)))
    hook.after_train(runner)
    assert runner.logger.warnings == []


@pytest.mark.parametrize('weight,reason', [
    (float('nan'), 'non-finite weights'),
    (1e9, 'weights up to 1e+09 > max_abs_weight=1e+06'),
])
def test_an_implausible_best_checkpoint_is_flagged_not_silently_kept(weight, reason):
    """Issue 23: CheckpointHook keeps a best checkpoint by its score alone; the hook used to
    look only at periodic saves."""
    hook = NonFiniteLossHook()
    runner = _runner(last_ckpt='/w/iter_2.pth')
    good = dict(meta={}, state_dict=dict(w=torch.ones(3)))
    hook.before_save_checkpoint(runner, good)  # the periodic save: awaits its next loss
    assert hook._pending == '/w/iter_2.pth' and 'unsafe_weights' not in good['meta']
    runner.message_hub.update_info('best_ckpt', '/w/best_mIoU_iter_2.pth')
    best = dict(meta={}, state_dict=dict(w=torch.tensor([1.0, weight])))
    hook.before_save_checkpoint(runner, best)
    assert best['meta']['unsafe_weights'] == reason
    (warning,) = runner.logger.warnings
    assert warning.startswith(f'The best checkpoint /w/best_mIoU_iter_2.pth has {reason}: ')
    assert f'/w/best_mIoU_iter_2.pth ({reason})' in hook._safe_message()
    hook.before_save_checkpoint(runner, good)  # the re-save of iter_2 after a new best
    assert len(runner.logger.warnings) == 1
