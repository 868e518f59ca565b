"""One short training run with every optional hook, then resumed from two of its checkpoints.

Straight: 6 iterations, checkpoint every iteration, validation every 2, dropout, random crops
and flips, class weights, the encoder frozen for the first half, a finite shuffled sampler (the
4-image train split is 2 batches, so the dataloader restarts, drawing a seed from torch's
generator, every 2 iterations). Resumed from iteration 2 (a validation and an epoch boundary)
and from iteration 3 (the unfreeze point; replaying its data order crosses an epoch boundary),
each must reproduce the straight run's weights and logged losses.
"""
import glob
import os.path as osp
import random
import shutil
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers.class_counts import reference_counts
from helpers.engine import logged, tiny_config, train
from mmengine.hooks import Hook
from PIL import Image

from cityseg.datasets import class_stats
from cityseg.engine.hooks import RNGStateHook
from cityseg.engine.hooks.class_weight_hook import class_weights
from cityseg.engine.hooks.rng_state_hook import _ReplayWithoutRNG
from cityseg.registry import HOOKS

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

MAX_ITERS = 6
TILE = 96


@HOOKS.register_module()
class EngineTestProbeHook(Hook):
    """Records, for every iteration, what the encoder looked like while it trained."""

    priority = 'LOWEST'

    def __init__(self):
        self.records = []

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        encoder = runner.model.encoder
        bn = next(m for m in encoder.modules() if isinstance(m, torch.nn.BatchNorm2d))
        self._before = dict(weights=torch.cat([p.detach().flatten() for p in encoder.parameters()]),
                            running_mean=bn.running_mean.clone(), bn_training=bn.training,
                            requires_grad=all(p.requires_grad for p in encoder.parameters()),
                            groups={g['name']: g['lr']
                                    for g in runner.optim_wrapper.optimizer.param_groups})

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        encoder = runner.model.encoder
        bn = next(m for m in encoder.modules() if isinstance(m, torch.nn.BatchNorm2d))
        weights = torch.cat([p.detach().flatten() for p in encoder.parameters()])
        self.records.append(dict(
            self._before, iter=runner.iter + 1,
            weights_changed=not torch.equal(weights, self._before['weights']),
            stats_changed=not torch.equal(bn.running_mean, self._before['running_mean'])))


def config(data_root, work_dir):
    cfg = tiny_config(data_root, work_dir, f'train_cfg.max_iters={MAX_ITERS}',
                      'default_hooks.checkpoint.interval=1',
                      'default_hooks.checkpoint.max_keep_ckpts=10')
    cfg.train_dataloader.sampler = dict(type='DefaultSampler', shuffle=True)
    cfg.optim_wrapper.constructor = 'EncoderDecoderOptimWrapperConstructor'
    cfg.optim_wrapper.paramwise_cfg = dict(encoder_lr_mult=0.1)
    cfg.custom_hooks = [
        dict(type='ClassWeightHook', method='enet', nproc=1),
        dict(type='EncoderUnfreezeHook', unfreeze_at=0.5),
        dict(type='SegVisualizationHook', num_images=3, tile_width=TILE),
        dict(type='TrainingCurvesHook'),
        dict(type='EngineTestProbeHook'),
    ]
    return cfg


def probe(runner):
    return next(h for h in runner.hooks if isinstance(h, EngineTestProbeHook)).records


@pytest.fixture(scope='module')
def straight(synthetic_root, tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('straight'))
    runner = train(config(synthetic_root, work_dir))
    return work_dir, runner


def resume_from(straight_dir, k, data_root, work_dir, monkeypatch):
    """Resume in a fresh work dir holding the straight run's iteration-k checkpoint and its
    class-statistics cache; counting label pixels again would be a failure."""
    shutil.copy(osp.join(straight_dir, f'iter_{k}.pth'), work_dir)
    shutil.copy(osp.join(straight_dir, 'class_stats.json'), work_dir)

    def no_recount(*args, **kwargs):
        raise AssertionError('class statistics recomputed on resume instead of read from cache')

    monkeypatch.setattr(class_stats, 'count_label_pixels', no_recount)
    cfg = config(data_root, work_dir)
    cfg.resume, cfg.load_from = True, osp.join(work_dir, f'iter_{k}.pth')
    return train(cfg)


def train_losses(records):
    return {r['step']: (r['loss'], r['loss_focal'], r['loss_dice']) for r in records
            if 'loss' in r}


@pytest.mark.parametrize('k', [2, 3])
def test_resume_reproduces_the_straight_run(straight, k, synthetic_root, tmp_path, monkeypatch):
    straight_dir, straight_runner = straight
    resumed = resume_from(straight_dir, k, synthetic_root, str(tmp_path), monkeypatch)

    final = torch.load(osp.join(straight_dir, f'iter_{MAX_ITERS}.pth'))['state_dict']
    again = torch.load(osp.join(str(tmp_path), f'iter_{MAX_ITERS}.pth'))['state_dict']
    assert final.keys() == again.keys()
    for key in final:
        torch.testing.assert_close(again[key], final[key], rtol=0, atol=1e-6, msg=key)
    # Resumed iterations k+1.., whose logged (window-averaged) losses include the restored
    # history of iterations 1..k.
    expected = {s: v for s, v in train_losses(logged(straight_runner)).items() if s > k}
    assert sorted(expected) == list(range(k + 1, MAX_ITERS + 1))
    got = train_losses(logged(resumed))
    assert got.keys() == expected.keys()
    for step in expected:
        np.testing.assert_allclose(got[step], expected[step], rtol=0, atol=1e-6)
    # Hook state after resume: the encoder is frozen exactly until the unfreeze point.
    assert [r['requires_grad'] for r in probe(resumed)] == [i > 3 for i in
                                                            range(k + 1, MAX_ITERS + 1)]


def seed_all(seed: int) -> None:
    random.seed(seed), np.random.seed(seed), torch.manual_seed(seed)


def draws():
    """A stand-in loop iterator whose every batch draws from python's, numpy's and torch's
    global generators, as the pipeline does with ``num_workers=0``."""
    while True:
        yield random.random(), float(np.random.rand()), float(torch.rand(1))


def test_replayed_batches_leave_the_random_streams_as_they_were():
    seed_all(0)
    expected = next(draws())  # the first new batch of an uninterrupted run
    seed_all(0)
    replay = _ReplayWithoutRNG(draws(), 3)
    replayed = [next(replay) for _ in range(3)]
    assert replayed[1] != replayed[0], 'the replayed draws themselves advance the streams'
    assert next(replay) == expected, 'the replay changed the random streams'
    assert replay.remaining == 0 and next(replay) != expected


def test_resume_fails_if_mmengine_does_not_replay_through_the_loop_iterator():
    """The hook checks, at the first resumed iteration, that all ``runner.iter`` replayed
    batches went through its wrapper; otherwise the resumed run would silently differ."""
    hook, loop_iterator = RNGStateHook(), draws()
    hook._replay = _ReplayWithoutRNG(loop_iterator, 3)
    next(hook._replay), next(hook._replay)  # a loop that replays 1 batch, then draws 1
    runner = SimpleNamespace(iter=3, train_loop=SimpleNamespace(dataloader_iterator=hook._replay))
    with pytest.raises(RuntimeError, match='drew 2 batches, not 3'):
        hook.before_train_iter(runner, batch_idx=3)
    assert runner.train_loop.dataloader_iterator is loop_iterator


def test_encoder_frozen_until_unfreeze_point_then_trains_at_its_own_lr(straight):
    _, runner = straight
    records = probe(runner)
    assert [r['iter'] for r in records] == list(range(1, MAX_ITERS + 1))
    for r in records:
        frozen = r['iter'] <= 3  # unfreeze_at 0.5 of 6 iterations
        assert r['requires_grad'] is not frozen
        assert r['bn_training'] is not frozen, 'BatchNorm must be in eval mode while frozen'
        assert r['weights_changed'] is not frozen
        assert r['stats_changed'] is not frozen
    # PolyLR scales each group's initial lr towards the (absolute) eta_min:
    # lr - eta_min = (initial_lr - eta_min) * factor(iter), the same factor for both groups.
    base = runner.cfg.optim_wrapper.optimizer.lr
    eta_min = runner.cfg.param_scheduler[0].eta_min
    for r in records:
        factor = (r['groups']['decoder'] - eta_min) / (base - eta_min)
        expected = eta_min + (0.1 * base - eta_min) * factor
        assert r['groups']['encoder'] == pytest.approx(expected, rel=1e-9)
    assert records[0]['groups']['encoder'] == pytest.approx(0.1 * base)
    assert records[4]['groups']['decoder'] < records[0]['groups']['decoder'] / 2
    # What is logged: lr (the decoder group's) and encoder_lr.
    logged_lrs = [(r['lr'], r['encoder_lr']) for r in logged(runner) if 'loss' in r]
    assert logged_lrs == [(r['groups']['decoder'], r['groups']['encoder']) for r in records]


def test_class_weights_reach_the_loss_and_match_the_labels(straight, synthetic_root):
    _, runner = straight
    counts = reference_counts(synthetic_root)
    expected = class_weights(counts, 'enet')
    focal = runner.model.loss_module.losses[0]
    np.testing.assert_allclose(focal.class_weight.numpy(), expected, rtol=1e-6)
    # ENet weights: rarer classes weigh more.
    totals = counts.sum(0)
    assert expected[totals.argmin()] > expected[totals.argmax()]


def test_visuals_and_plots_after_each_validation(straight):
    work_dir, _ = straight
    visuals = sorted(osp.basename(p) for p in glob.glob(osp.join(work_dir, 'visuals', '*.png')))
    assert visuals == ['2.png', '4.png', '6.png']
    # 2 validation images (fewer than num_images=3), 128x64: tiles of 96 x 48.
    assert Image.open(osp.join(work_dir, 'visuals', '6.png')).size == (4 * TILE, 2 * TILE // 2)
    for name in ('loss.png', 'miou.png', 'lr.png'):
        assert Image.open(osp.join(work_dir, 'plots', name)).size == (800, 450)
