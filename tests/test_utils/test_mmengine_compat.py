"""One test per mmengine internal that cityseg relies on (cityseg/utils/mmengine_compat.py).

Each test is named after the assumption it checks: after an mmengine upgrade, a failure here
says which extension needs a change, before any training run finds out.
"""
import importlib
import inspect
import io
import os.path as osp
import pickle
import re
import warnings

import pytest
import torch
import torch.distributed as dist
from helpers.engine import EngineTestFCN, tiny_config, train
from mmengine.config import Config
from mmengine.fileio import LocalBackend, get_file_backend, register_backend
from mmengine.hooks import Hook
from mmengine.logging import HistoryBuffer
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper
from mmengine.runner import Runner

from cityseg.models import SMPSegmentor
from cityseg.registry import HOOKS
from cityseg.utils.checkpoint_loading import safe_torch_load
from cityseg.utils.mmengine_compat import (
    AMP_WRAPPER_MODULE,
    ENV_CFG_KEYS,
    amp_optim_wrapper_init,
    config_base_files,
    history_buffer_statistics,
    set_train_loop_iterator,
    train_loop_iterator,
    training_iteration,
    validates_after,
)


def test_1_history_buffer_statistics(tmp_path):
    """A pickled HistoryBuffer names its statistics methods through getattr; the names are
    those history_buffer_statistics() allows, so the safe loader reads it back."""
    buffer = HistoryBuffer([1.0, 3.0], [1, 1])
    named = set()

    class RecordingUnpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if name == 'getattr' and module in ('builtins', '__builtin__'):
                return lambda obj, attr: named.add(attr) or getattr(obj, attr)
            return super().find_class(module, name)

    RecordingUnpickler(io.BytesIO(pickle.dumps(buffer, protocol=2))).load()
    assert named and named <= history_buffer_statistics()
    path = str(tmp_path / 'buffer.pth')
    torch.save({'buffer': buffer}, path)
    assert safe_torch_load(path)['buffer'].mean() == 2.0


@HOOKS.register_module()
class CompatTestReplayCounter(Hook):
    """Counts the batches the train loop draws from its iterator between ``before_train`` and
    the first ``before_train_iter``: on resume, the replayed ones."""

    priority = 'LOWEST'

    def __init__(self):
        self.replayed = None

    def before_train(self, runner):
        self._drawn = [0]
        inner = train_loop_iterator(runner.train_loop)

        def counting():
            while True:
                self._drawn[0] += 1
                yield next(inner)
        self._inner = inner
        set_train_loop_iterator(runner.train_loop, counting())

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.replayed is None:
            self.replayed = self._drawn[0] - 1  # the last draw is this iteration's batch
            set_train_loop_iterator(runner.train_loop, self._inner)


@pytest.mark.integration
def test_2_train_loop_iterator_replays_runner_iter_batches_on_resume(synthetic_root, tmp_path):
    work_dir = str(tmp_path)
    train(tiny_config(synthetic_root, work_dir, 'train_cfg.max_iters=2',
                      'train_cfg.val_begin=100'))
    cfg = tiny_config(synthetic_root, work_dir, 'train_cfg.max_iters=4',
                      'train_cfg.val_begin=100', 'resume=True',
                      f'load_from={osp.join(work_dir, "iter_2.pth")}')
    cfg.custom_hooks = [dict(type='CompatTestReplayCounter')]
    runner = train(cfg)
    (counter,) = [h for h in runner.hooks if isinstance(h, CompatTestReplayCounter)]
    assert counter.replayed == 2


@HOOKS.register_module()
class CompatTestValidationRecorder(Hook):
    def __init__(self):
        self.validated_after = []

    def before_val(self, runner):
        self.validated_after.append(runner.iter)


@pytest.mark.integration
def test_3_validates_after_matches_the_iteration_loop(synthetic_root, tmp_path):
    cfg = tiny_config(synthetic_root, str(tmp_path), 'train_cfg.max_iters=5',
                      'train_cfg.val_begin=2', 'train_cfg.val_interval=2',
                      'default_hooks.checkpoint.interval=100', 'val_dataloader.dataset.indices=1')
    cfg.custom_hooks = [dict(type='CompatTestValidationRecorder')]
    runner = train(cfg)
    (recorder,) = [h for h in runner.hooks if isinstance(h, CompatTestValidationRecorder)]
    predicted = [i for i in range(1, 6) if validates_after(runner.train_loop, i)]
    assert recorder.validated_after == predicted == [2, 4, 5]
    assert not validates_after(object(), 2)


class CompatTestRecordingBackend(LocalBackend):
    calls: list = []

    def put(self, obj, filepath):
        self.calls.append(('put', osp.basename(filepath)))
        super().put(obj, filepath)

    def remove(self, filepath):
        self.calls.append(('remove', osp.basename(filepath)))
        super().remove(filepath)


register_backend('compat_test_recording', CompatTestRecordingBackend, force=True)


@pytest.mark.integration
def test_4_checkpoint_hook_removes_before_the_next_write_with_a_new_backend_per_call(
        synthetic_root, tmp_path):
    args = dict(backend='compat_test_recording')
    assert get_file_backend(str(tmp_path), backend_args=args) is not \
        get_file_backend(str(tmp_path), backend_args=args)
    CompatTestRecordingBackend.calls.clear()
    cfg = tiny_config(synthetic_root, str(tmp_path), 'train_cfg.max_iters=2',
                      'train_cfg.val_begin=100', 'default_hooks.checkpoint.interval=1',
                      'default_hooks.checkpoint.max_keep_ckpts=1')
    cfg.default_hooks.checkpoint.backend_args = args
    train(cfg)
    calls = CompatTestRecordingBackend.calls
    assert [c for c in calls if c[1].endswith('.pth')] == [
        ('put', 'iter_1.pth'), ('remove', 'iter_1.pth'), ('put', 'iter_2.pth')]


@HOOKS.register_module()
class CompatTestMetricOrder(Hook):
    def __init__(self):
        self.seen = []

    def after_test_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        (metric,) = runner.test_loop.evaluator.metrics
        self.seen.append((len(metric.results), (batch_idx + 1) * len(outputs)))


@pytest.mark.integration
def test_5_test_loop_feeds_the_evaluator_before_after_test_iter(synthetic_root, tmp_path):
    cfg = tiny_config(synthetic_root, str(tmp_path))
    cfg.test_dataloader.batch_size = 1
    cfg.custom_hooks = [dict(type='CompatTestMetricOrder')]
    runner = Runner.from_cfg(cfg)
    runner.test()
    (hook,) = [h for h in runner.hooks if isinstance(h, CompatTestMetricOrder)]
    assert hook.seen and all(have == expected for have, expected in hook.seen)


@pytest.mark.parametrize('enabled', [True, False])
def test_6_amp_optim_wrapper_init_builds_a_device_generic_scaler(enabled):
    module = importlib.import_module(AMP_WRAPPER_MODULE)
    saved = module.is_cuda_available, module.GradScaler
    net = EngineTestFCN()
    with amp_optim_wrapper_init('cpu', enabled=enabled):
        wrapper = MMEngineAmpOptimWrapper(optimizer=torch.optim.SGD(net.parameters(), lr=0.1),
                                          dtype='float16', loss_scale=dict(init_scale=8.0))
    assert (module.is_cuda_available, module.GradScaler) == saved
    scaler = wrapper.loss_scaler
    assert type(scaler) is torch.amp.GradScaler and scaler._device == 'cpu'
    assert scaler.is_enabled() == enabled
    assert scaler.get_scale() == (8.0 if enabled else 1.0)


@pytest.mark.integration
def test_7_runner_keeps_an_existing_process_group_and_cpu_wrapper(synthetic_root, tmp_path,
                                                                  monkeypatch):
    from mmengine.runner import runner as runner_module

    from cityseg.utils.launch import apply_launcher

    def refuse(*args, **kwargs):
        raise AssertionError('init_dist called although a process group exists')
    monkeypatch.setattr(runner_module, 'init_dist', refuse)
    for key, value in dict(RANK='0', LOCAL_RANK='0', WORLD_SIZE='1').items():
        monkeypatch.setenv(key, value)
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/group', rank=0, world_size=1)
    runner = None
    try:
        cfg = tiny_config(synthetic_root, str(tmp_path / 'run'))
        apply_launcher(cfg, 'pytorch')
        with warnings.catch_warnings():  # torch >= 2.14 deprecates DDP's broadcast_buffers
            warnings.simplefilter('error', FutureWarning)
            runner = Runner.from_cfg(cfg)
        assert runner.distributed
        assert runner.model.device_ids is None
    finally:
        del runner
        dist.destroy_process_group()


def test_8_env_cfg_keys_are_what_setup_env_reads():
    source = inspect.getsource(Runner.setup_env)
    assert set(re.findall(r"env_cfg\.get\('(\w+)'", source)) == set(ENV_CFG_KEYS)


def test_9_dump_config_is_called_once_by_init_and_writes_into_the_work_dir():
    assert inspect.getsource(Runner.__init__).count('self.dump_config()') == 1
    init = inspect.getsource(Runner.__init__)
    assert init.index('self._log_dir') < init.index('self.dump_config()')
    assert 'osp.join(self.work_dir, filename)' in inspect.getsource(Runner.dump_config)


def test_10_config_base_files_are_the_files_fromfile_merges(tmp_path):
    (tmp_path / 'sub').mkdir()
    (tmp_path / 'sub' / 'a.py').write_text("_base_ = '../c.py'\na = 1\n")
    (tmp_path / 'b.json').write_text('{"b": 2}')
    (tmp_path / 'c.py').write_text('c = 3\n')
    leaf = tmp_path / 'leaf.py'
    leaf.write_text("_base_ = ['sub/a.py', 'b.json']\nd = 4\n")
    bases = config_base_files(str(leaf))
    assert [osp.normpath(p) for p in bases] == [str(tmp_path / 'sub' / 'a.py'),
                                                 str(tmp_path / 'b.json')]
    assert [osp.normpath(p) for p in config_base_files(bases[0])] == [str(tmp_path / 'c.py')]
    assert config_base_files(str(tmp_path / 'c.py')) == []
    # those are the files mmengine read: each one's key is in the merged config
    assert dict(Config.fromfile(str(leaf))) == dict(a=1, b=2, c=3, d=4)


@pytest.mark.integration
def test_11_training_iteration_is_the_runner_iter_during_each_training_step(
        synthetic_root, tmp_path, monkeypatch):
    seen = []
    original = SMPSegmentor.train_step

    def recording(self, data, optim_wrapper):
        seen.append(training_iteration())
        return original(self, data, optim_wrapper)

    monkeypatch.setattr(SMPSegmentor, 'train_step', recording)
    cfg = tiny_config(synthetic_root, str(tmp_path), 'train_cfg.max_iters=3',
                      'train_cfg.val_interval=100', 'default_hooks.checkpoint.interval=100')
    train(cfg)
    assert seen == [0, 1, 2]
