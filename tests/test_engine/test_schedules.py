"""Schedules follow the loop's length: overriding only ``train_cfg.max_iters`` (``max_epochs``
for the epoch-based reference schedule) gives a whole poly decay that trains its last iteration
at ``eta_min``, checked against the closed-form poly (and linear warm-up) formulas."""
import os.path as osp

import pytest
from helpers.cli import ROOT
from helpers.engine import logged  # also registers EngineTestFCN
from mmengine.hooks import Hook
from mmengine.runner import Runner

from cityseg.registry import HOOKS
from cityseg.utils import load_config


@HOOKS.register_module()
class ScheduleTestLrProbe(Hook):
    """Records every param group's lr as each training iteration starts."""

    def __init__(self):
        self.lrs = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        self.lrs.append([g['lr'] for g in runner.optim_wrapper.optimizer.param_groups])


def run(config: str, data_root: str, work_dir: str, options: dict) -> tuple[Runner, list]:
    """Train ``config`` through load_config (as the tools read it) on the tiny dataset with a
    tiny network; ``options`` are the only schedule overrides."""
    opts = {'work_dir': work_dir, 'model.arch': 'EngineTestFCN', 'model.encoder_weights': None,
            'train_dataloader.dataset.pipeline.2.transforms.0.height': 64,
            'train_dataloader.dataset.pipeline.2.transforms.0.width': 64, **options}
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts.update({f'{loader}.dataset.data_root': data_root,
                     f'{loader}.num_workers': 0, f'{loader}.batch_size': 2})
    cfg = load_config(osp.join(ROOT, 'configs', config), opts)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        # the plain Cityscapes dataset on the tiny data, without the synthetic one's arguments
        # (after load_config: it refuses a dataset argument its class does not take)
        cfg[loader].dataset.type = 'CityscapesDataset'
        cfg[loader].dataset.pop('generate', None)
    cfg.custom_hooks = [dict(type='ScheduleTestLrProbe')]
    cfg.visualizer.name = f'visualizer:{work_dir}'
    runner = Runner.from_cfg(cfg)
    runner.train()
    probe = next(h for h in runner.hooks if isinstance(h, ScheduleTestLrProbe))
    return runner, probe.lrs


def poly(lr0: float, eta_min: float, t: int, total: int) -> float:
    """Poly decay (power 0.9) from lr0 at step 0 to eta_min at step ``total``."""
    return eta_min + (lr0 - eta_min) * (1 - t / total) ** 0.9


@pytest.mark.parametrize('max_iters', [5, 9])
def test_quickstart_poly_decay_ends_at_eta_min_on_the_last_of_max_iters(
        max_iters, synthetic_root, tmp_path):
    runner, lrs = run('quickstart_synthetic.py', synthetic_root, str(tmp_path),
                      {'train_cfg.max_iters': max_iters})
    assert [(type(s).__name__, s.begin, s.end) for s in runner.param_schedulers] == [
        ('PolyLR', 0, max_iters)]
    lr0, eta_min = 3e-3, 1e-6  # the quickstart's AdamW lr and schedule_2k's PolyLR eta_min
    expected = [poly(lr0, eta_min, t, max_iters - 1) for t in range(max_iters)]
    assert [g for (g,) in lrs] == pytest.approx(expected, rel=1e-9, abs=0)
    assert lrs[-1] == [eta_min]
    # val_interval (225) and the checkpoint interval (225) exceed max_iters: the last iteration
    # still validates and saves.
    assert osp.exists(osp.join(str(tmp_path), f'iter_{max_iters}.pth'))
    assert [r['step'] for r in logged(runner) if 'mIoU' in r] == [max_iters]


@pytest.mark.integration
def test_reference_warmup_and_poly_decay_follow_max_epochs(synthetic_root, tmp_path):
    epochs = 3
    runner, lrs = run('deeplabv3plus_effb3_512.py', synthetic_root, str(tmp_path),
                      {'train_cfg.max_epochs': epochs})
    length = len(runner.train_dataloader)  # 4 train images, batch 2
    assert length == 2
    total = epochs * length
    assert [(type(s).__name__, s.begin, s.end) for s in runner.param_schedulers] == [
        ('LinearLR', 0, length), ('PolyLR', length, total)]
    eta_min, start = 1e-7, 0.01
    expected = []
    for lr0 in (5e-5, 5e-6):  # the decoder group at lr, the encoder group at 0.1 x lr
        warmup = [lr0 * (start + (1 - start) * t / (length - 1)) for t in range(length)]
        decay = [poly(lr0, eta_min, t - length, total - length - 1) for t in range(length, total)]
        expected.append(warmup + decay)
    assert len(lrs) == total
    for group, values in enumerate(expected):
        assert [lr[group] for lr in lrs] == pytest.approx(values, rel=1e-9, abs=0)
    assert lrs[-1] == [eta_min, eta_min]
