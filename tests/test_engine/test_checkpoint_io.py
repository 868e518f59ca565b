"""Checkpoints on disk: atomic writes, and refusal of pickles that name untrusted globals."""
import glob
import os
import os.path as osp
import pickle
import re
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import CheckpointLoader
from mmengine.runner.checkpoint import save_checkpoint

from cityseg.engine.checkpoint_backend import AtomicLocalBackend
from cityseg.utils.checkpoint_loading import UnreadableCheckpointError

ATOMIC = dict(backend='atomic_local')


def checkpoint(value: float) -> dict:
    """What mmengine writes: weights, a message hub with HistoryBuffers, numpy scalars."""
    hub = MessageHub('ckpt_test')
    hub.update_scalar('train/loss', value)
    return dict(state_dict={'w': torch.full((3,), value)}, message_hub=hub.state_dict(),
                meta=dict(iter=int(value)))


@pytest.mark.parametrize('fail_in', ['fsync', 'replace'])
def test_interrupted_write_leaves_previous_checkpoint_intact(tmp_path, monkeypatch, fail_in):
    path = str(tmp_path / 'latest.pth')
    save_checkpoint(checkpoint(1.0), path, backend_args=ATOMIC)
    before = Path(path).read_bytes()

    def crash(*args, **kwargs):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, fail_in, crash)
    with pytest.raises(OSError, match='No space left'):
        save_checkpoint(checkpoint(2.0), path, backend_args=ATOMIC)
    monkeypatch.undo()
    assert Path(path).read_bytes() == before
    assert torch.load(path)['state_dict']['w'].tolist() == [1.0, 1.0, 1.0]
    assert os.listdir(tmp_path) == ['latest.pth'], 'temporary file left behind'


def test_atomic_backend_writes_bytes_and_text(tmp_path):
    backend = AtomicLocalBackend()
    backend.put(b'\x00\x01', tmp_path / 'sub' / 'a.bin')
    backend.put_text('iter_4.pth', tmp_path / 'last_checkpoint')
    assert (tmp_path / 'sub' / 'a.bin').read_bytes() == b'\x00\x01'
    assert (tmp_path / 'last_checkpoint').read_text() == 'iter_4.pth'


@pytest.mark.parametrize('schedule', glob.glob(osp.join(
    osp.dirname(__file__), '..', '..', 'configs', '_base_', 'schedules', '*.py')))
def test_schedules_write_checkpoints_atomically(schedule):
    hooks = Config.fromfile(schedule).default_hooks
    assert hooks.checkpoint.backend_args == ATOMIC
    assert hooks.rng_state.type == 'RNGStateHook'
    assert hooks.non_finite_loss.type == 'NonFiniteLossHook'


def test_genuine_checkpoint_loads_with_weights_only(tmp_path):
    path = str(tmp_path / 'ok.pth')
    save_checkpoint(checkpoint(3.0), path, backend_args=ATOMIC)
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    hub = MessageHub('ckpt_test_loaded')
    hub.load_state_dict(loaded['message_hub'])
    assert isinstance(hub.get_scalar('train/loss'), HistoryBuffer)
    assert hub.get_scalar('train/loss').current() == 3.0


class _RunsShell:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f'touch {self.marker}',)


class _ReachesPastAllowlist:
    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


@pytest.mark.parametrize('payload,culprit', [('shell', 'system'),
                                             ('getattr', "getattr(<class 'mmengine")])
def test_tampered_checkpoint_is_refused_naming_file_and_global(tmp_path, payload, culprit):
    marker = tmp_path / 'pwned'
    obj = _RunsShell(marker) if payload == 'shell' else _ReachesPastAllowlist()
    path = str(tmp_path / 'tampered.pth')
    torch.save({**checkpoint(1.0), 'extra': obj}, path)
    with pytest.raises(pickle.UnpicklingError) as info:
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    message = str(info.value)
    assert path in message and culprit in message and 'Refusing' in message
    assert not marker.exists()


@pytest.mark.parametrize('env', ['TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD',
                                 'TORCH_FORCE_WEIGHTS_ONLY_LOAD'])
def test_environment_cannot_switch_the_refusal_off(tmp_path, monkeypatch, env):
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'tampered.pth')
    torch.save({**checkpoint(1.0), 'extra': _RunsShell(marker)}, path)
    monkeypatch.setenv(env, '1')
    with pytest.raises(pickle.UnpicklingError, match=f'Refusing to load checkpoint {path}.*system'):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert not marker.exists()


def test_tampered_encoder_weights_are_refused_naming_file(tmp_path, monkeypatch):
    from cityseg.models.encoder_weights import load_encoder_weights
    marker = tmp_path / 'pwned'
    path = str(tmp_path / 'encoder.pth')
    torch.save({'w': torch.zeros(1), 'extra': _RunsShell(marker)}, path)
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    with pytest.raises(pickle.UnpicklingError,
                       match=f'Refusing to load encoder_weights {path}.*system'):
        load_encoder_weights(torch.nn.Linear(1, 1), path)
    assert not marker.exists()


def test_safe_torch_load_mmap_reads_a_legacy_format_file(tmp_path):
    """Legacy (non-zip) checkpoints cannot be memory-mapped: mmap=True reads them instead of
    failing with torch's 'mmap can only be used with files saved with ...' (issue 23)."""
    from cityseg.utils.checkpoint_loading import safe_torch_load
    path = str(tmp_path / 'legacy.pth')
    state = {'meta': {'iter': 3}, 'state_dict': {'w': torch.arange(4.)}}
    torch.save(state, path, _use_new_zipfile_serialization=False)
    loaded = safe_torch_load(path, map_location='cpu', mmap=True)
    assert loaded['meta'] == {'iter': 3}
    assert torch.equal(loaded['state_dict']['w'], torch.arange(4.))


@pytest.mark.parametrize('damage', ['truncated', 'not a checkpoint'])
def test_an_unreadable_checkpoint_is_named_with_its_size(tmp_path, damage):
    path = tmp_path / 'ckpt.pth'
    torch.save(checkpoint(1.0), path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] if damage == 'truncated' else b'a text file\n')
    with pytest.raises(UnreadableCheckpointError,
                       match=rf'^checkpoint {re.escape(str(path))} \({path.stat().st_size} '
                       r'bytes\) cannot be read by torch.load \(.+\): it may be truncated'):
        CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
