"""Gradient accumulation, logged losses, AMP (bf16, and fp16 with loss scaling, on CPU),
clipping, the encoder lr group."""
import copy
import glob
import os
import os.path as osp
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from helpers.cli import QUICKSTART, run_tool, tiny_cfg_options
from helpers.engine import EngineTestFCN
from helpers.seg_batch import make_data
from mmengine.logging import MMLogger
from mmengine.optim import OptimWrapper

from cityseg.engine.hooks import EncoderUnfreezeHook
from cityseg.engine.optimizers import (
    AmpOptimWrapper,
    EncoderDecoderOptimWrapperConstructor,
    amp_optim_wrapper,
)
from cityseg.models import SMPSegmentor


def model(**kwargs) -> SMPSegmentor:
    """A BatchNorm-free network with a per-pixel loss, so that a mean over micro-batches of
    equal size equals the mean over their union."""
    torch.manual_seed(0)
    return SMPSegmentor(arch=EngineTestFCN.__name__, encoder_name=None, num_classes=19,
                        loss=dict(type='JointLoss', losses=[dict(type='FocalLoss', gamma=2.0)]),
                        **kwargs)


def batch(n: int, seed: int, size: int = 32) -> dict:
    return make_data([(size, size)] * n, num_classes=19, seed=seed)


def join(*batches: dict) -> dict:
    return dict(inputs=[i for b in batches for i in b['inputs']],
                data_samples=[s for b in batches for s in b['data_samples']])


def sgd(net, **kwargs) -> OptimWrapper:
    return OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.5), **kwargs)


@pytest.mark.parametrize('n', [2, 4])
def test_accumulating_n_micro_batches_equals_one_n_times_larger_batch(n):
    micro = [batch(2, seed) for seed in range(n)]
    accumulated = model()
    whole = copy.deepcopy(accumulated)
    wrapper = sgd(accumulated, accumulative_counts=n)
    wrapper.initialize_count_status(accumulated, 0, n)
    for i, b in enumerate(micro):
        before = [p.detach().clone() for p in accumulated.parameters()]
        accumulated.train_step(b, wrapper)
        stepped = any(not torch.equal(a, p) for a, p in zip(before, accumulated.parameters()))
        assert stepped == (i == n - 1), 'the optimizer must step once, after the last micro-batch'
    whole.train_step(join(*micro), sgd(whole))
    for (name, a), b in zip(accumulated.named_parameters(), whole.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-5, msg=name)


def test_logged_loss_is_the_true_loss_not_divided_by_the_accumulation_count():
    net = model()
    data = batch(2, seed=7)
    with torch.no_grad():
        inputs = net.data_preprocessor(copy.deepcopy(data), True)
        true_loss = sum(net(**inputs, mode='loss').values())
    wrapper = sgd(net, accumulative_counts=4)
    wrapper.initialize_count_status(net, 0, 8)
    log_vars = net.train_step(data, wrapper)
    assert float(log_vars['loss']) == pytest.approx(float(true_loss), rel=1e-6)
    assert float(log_vars['loss_focal']) == pytest.approx(float(true_loss), rel=1e-6)


def test_amp_on_cpu_runs_the_network_in_bfloat16_without_a_scaler(monkeypatch):
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_has_native_bfloat16', lambda: True)
    net = model()
    reference = copy.deepcopy(net)
    dtypes = []
    net.net.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.5),
                              device_type='cpu')
    assert not wrapper.loss_scaler.is_enabled() and wrapper.cast_dtype == torch.bfloat16
    data = batch(2, seed=3)
    log_vars = net.train_step(copy.deepcopy(data), wrapper)
    assert dtypes == [torch.bfloat16]
    fp32 = reference.train_step(data, sgd(reference))
    assert float(log_vars['loss']) == pytest.approx(float(fp32['loss']), rel=2e-2)
    assert all(torch.isfinite(p).all() for p in net.parameters())
    assert wrapper.state_dict()['loss_scaler'] == {}  # a disabled scaler has no state


def test_bfloat16_on_a_cpu_without_it_trains_in_float32_with_a_warning(monkeypatch, tmp_path):
    monkeypatch.setattr(amp_optim_wrapper, 'cpu_has_native_bfloat16', lambda: False)
    log_file = tmp_path / 'bf16.log'
    MMLogger.get_instance('bf16-fallback', log_file=str(log_file))
    net = model()
    reference = copy.deepcopy(net)
    dtypes = []
    net.net.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    wrapper = AmpOptimWrapper(dtype='bfloat16', device_type='cpu',
                              optimizer=torch.optim.SGD(net.parameters(), lr=0.5))
    data = batch(2, seed=3)
    log_vars = net.train_step(copy.deepcopy(data), wrapper)
    assert dtypes == [torch.float32]
    assert float(log_vars['loss']) == pytest.approx(
        float(reference.train_step(data, sgd(reference))['loss']), rel=1e-6)
    assert 'no fast bfloat16 kernels' in log_file.read_text()


def fp16_wrapper(net, log_file=None, **kwargs) -> AmpOptimWrapper:
    if log_file is not None:  # print_log(logger='current') writes to the newest MMLogger
        MMLogger.get_instance(f'fp16:{log_file}', log_file=str(log_file))
    return AmpOptimWrapper(dtype='float16', device_type='cpu',
                           optimizer=torch.optim.SGD(net.parameters(), lr=0.5), **kwargs)


def test_float16_on_cpu_trains_with_dynamic_loss_scaling_and_a_warning(tmp_path):
    net = model()
    reference = copy.deepcopy(net)
    dtypes = []
    net.net.register_forward_hook(lambda module, args, out: dtypes.append(out.dtype))
    wrapper = fp16_wrapper(net, tmp_path / 'log.txt')
    assert 'float16 autocast on the CPU is several times slower' in \
        (tmp_path / 'log.txt').read_text()
    scaler = wrapper.loss_scaler
    assert type(scaler) is torch.amp.GradScaler and scaler.is_enabled()
    assert scaler.get_scale() == 2.0 ** 16  # torch's dynamic scaling starts there
    data = batch(2, seed=3)
    log_vars = net.train_step(copy.deepcopy(data), wrapper)
    assert dtypes == [torch.float16]
    fp32 = reference.train_step(data, sgd(reference))
    assert float(log_vars['loss']) == pytest.approx(float(fp32['loss']), rel=1e-2)
    # The scaled gradients were unscaled before the step: the update is fp32's, not 65536x it.
    for a, b in zip(net.parameters(), reference.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=2e-3)
    assert wrapper.skipped_steps == 0 and wrapper.state_dict()['loss_scaler']['scale'] == 2.0 ** 16


def test_overflowing_float16_step_is_skipped_logged_and_the_scale_backs_off(tmp_path):
    net = model()
    # 2**100 overflows float16's gradients; one back-off by 2**-90 leaves a scale of 2**10.
    wrapper = fp16_wrapper(net, tmp_path / 'log.txt',
                           loss_scale=dict(init_scale=2.0 ** 100, backoff_factor=2.0 ** -90))
    before = [p.detach().clone() for p in net.parameters()]
    net.train_step(batch(2, seed=3), wrapper)
    assert all(torch.equal(a, b) for a, b in zip(before, net.parameters())), 'step applied'
    assert wrapper.skipped_steps == 1 and wrapper.loss_scaler.get_scale() == 2.0 ** 10
    assert ('optimizer step skipped: a float16 gradient overflowed (inf/NaN) at loss scale '
            '1.26765e+30; the scale is now 1024') in (tmp_path / 'log.txt').read_text()
    net.train_step(batch(2, seed=4), wrapper)
    assert any(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert all(torch.isfinite(p).all() for p in net.parameters())
    assert wrapper.skipped_steps == 1


def test_float16_scaler_state_round_trips_through_the_wrapper_state():
    net = model()
    wrapper = fp16_wrapper(net, loss_scale=dict(init_scale=2.0 ** 100, backoff_factor=0.25,
                                                growth_interval=3))
    net.train_step(batch(2, seed=3), wrapper)
    net.train_step(batch(2, seed=4), wrapper)
    state = copy.deepcopy(wrapper.state_dict())
    fresh = fp16_wrapper(model())
    fresh.load_state_dict(copy.deepcopy(state))
    assert fresh.loss_scaler.state_dict() == wrapper.loss_scaler.state_dict() == \
        state['loss_scaler']
    assert state['loss_scaler']['scale'] < 2.0 ** 100


def test_gradient_clipping_bounds_the_update_under_amp():
    net = model()
    before = [p.detach().clone() for p in net.parameters()]
    wrapper = AmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=1.0),
                              device_type='cpu', clip_grad=dict(max_norm=1e-3))
    net.train_step(batch(2, seed=5), wrapper)
    update = torch.cat([(p - b).flatten() for p, b in zip(net.parameters(), before)])
    assert 0 < update.norm() <= 1e-3 * (1 + 1e-4)


def test_encoder_group_gets_mult_times_the_base_lr():
    net = model()
    wrapper = EncoderDecoderOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=2e-3)),
        dict(encoder_lr_mult=0.25))(net)
    decoder, encoder = wrapper.optimizer.param_groups
    assert (decoder['name'], encoder['name']) == ('decoder', 'encoder')
    assert decoder['lr'] == 2e-3 and encoder['lr'] == pytest.approx(5e-4)
    assert {id(p) for p in encoder['params']} == {id(p) for p in net.encoder.parameters()}
    assert len(decoder['params']) + len(encoder['params']) == len(list(net.parameters()))
    with pytest.raises(KeyError, match='custom_keys'):
        EncoderDecoderOptimWrapperConstructor(
            dict(optimizer=dict(type='AdamW', lr=1e-3)), dict(custom_keys={}))


@pytest.mark.integration
def test_train_cli_amp_runs_on_cpu(synthetic_root, tmp_path):
    work_dir = str(tmp_path)
    # The quickstart itself trains with AMP: start from the plain wrapper for --amp to switch.
    run_tool('train.py', QUICKSTART, '--amp', '--cfg-options',
             *tiny_cfg_options(synthetic_root, work_dir), 'optim_wrapper.type=OptimWrapper',
             'train_cfg.max_iters=2',
             'param_scheduler.0.end=2')
    (dumped,) = glob.glob(osp.join(work_dir, '*.py'))
    assert "type='AmpOptimWrapper'" in Path(dumped).read_text()
    state = torch.load(osp.join(work_dir, 'iter_2.pth'))['state_dict']
    assert all(torch.isfinite(v).all() for v in state.values() if v.is_floating_point())


@pytest.mark.integration
def test_train_cli_float16_with_loss_scaling_resumes_bit_exactly(synthetic_root, tmp_path):
    """The reference recipe's AMP settings (float16, dynamic loss scaling) through
    tools/train.py on CPU; a run resumed from iteration 2 ends exactly where the straight
    run does, loss scaler included."""
    fp16 = ['optim_wrapper.type=AmpOptimWrapper', 'optim_wrapper.dtype=float16',
            'optim_wrapper.loss_scale.growth_interval=1',  # the scale changes every step
            'train_cfg.max_iters=4', 'train_cfg.val_begin=100', 'param_scheduler.0.end=4']
    straight, resumed = str(tmp_path / 'straight'), str(tmp_path / 'resumed')
    out = run_tool('train.py', QUICKSTART, '--cfg-options',
                   *tiny_cfg_options(synthetic_root, straight), *fp16)
    assert 'float16 autocast on the CPU is several times slower' in out
    os.makedirs(resumed)
    shutil.copy(osp.join(straight, 'iter_2.pth'), resumed)
    run_tool('train.py', QUICKSTART, '--resume', osp.join(resumed, 'iter_2.pth'),
             '--cfg-options', *tiny_cfg_options(synthetic_root, resumed), *fp16)
    ends = [torch.load(osp.join(d, 'iter_4.pth')) for d in (straight, resumed)]
    scalers = [end['optimizer']['loss_scaler'] for end in ends]
    assert scalers[0] == scalers[1] and scalers[0]['scale'] != 2.0 ** 16  # it did change
    for key, value in ends[0]['state_dict'].items():
        assert torch.equal(value, ends[1]['state_dict'][key]), key


def test_unfreeze_hook_refuses_an_optimizer_without_encoder_group():
    net = model()
    runner = SimpleNamespace(train_loop=None, max_iters=10, optim_wrapper=sgd(net))
    with pytest.raises(KeyError, match='EncoderDecoderOptimWrapperConstructor'):
        EncoderUnfreezeHook(unfreeze_at=0.1, by_epoch=False).before_train(runner)
