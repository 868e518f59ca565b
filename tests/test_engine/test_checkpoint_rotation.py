"""Checkpoint rotation never leaves fewer checkpoints than before: AtomicLocalBackend defers
mmengine's removals until the next checkpoint is complete on disk."""
import os

import pytest

from cityseg.engine.checkpoint_backend import AtomicLocalBackend, pending_removals
from cityseg.utils.fileio import remove_stale_temporaries


def write_last(work_dir, name):
    (work_dir / 'last_checkpoint').write_text(str(work_dir / name))


def test_removal_waits_for_the_next_checkpoint(tmp_path, monkeypatch):
    backend = AtomicLocalBackend()
    backend.put(b'old', tmp_path / 'iter_2.pth')
    write_last(tmp_path, 'iter_2.pth')
    # mmengine's CheckpointHook with max_keep_ckpts=1: remove the oldest, then write the new.
    backend.remove(tmp_path / 'iter_2.pth')
    assert (tmp_path / 'iter_2.pth').read_bytes() == b'old'
    assert pending_removals(tmp_path) == [str(tmp_path / 'iter_2.pth')]

    def full_disk(*args):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(os, 'fsync', full_disk)
    with pytest.raises(OSError):
        backend.put(b'new', tmp_path / 'iter_4.pth')
    monkeypatch.undo()
    assert sorted(os.listdir(tmp_path)) == ['iter_2.pth', 'last_checkpoint']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_2.pth')

    backend.put(b'new', tmp_path / 'iter_4.pth')
    assert sorted(os.listdir(tmp_path)) == ['iter_4.pth', 'last_checkpoint']
    # last_checkpoint named the removed file: it now names the one just written.
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_4.pth')
    assert pending_removals(tmp_path) == []


def test_previous_best_survives_until_the_new_best_is_written(tmp_path):
    backend = AtomicLocalBackend()
    backend.put(b'best2', tmp_path / 'best_mIoU_iter_2.pth')
    backend.put(b'i4', tmp_path / 'iter_4.pth')
    write_last(tmp_path, 'iter_4.pth')
    backend.remove(tmp_path / 'best_mIoU_iter_2.pth')
    assert (tmp_path / 'best_mIoU_iter_2.pth').exists()
    backend.put(b'best4', tmp_path / 'best_mIoU_iter_4.pth')
    assert sorted(os.listdir(tmp_path)) == ['best_mIoU_iter_4.pth', 'iter_4.pth',
                                            'last_checkpoint']
    assert (tmp_path / 'last_checkpoint').read_text() == str(tmp_path / 'iter_4.pth')


def test_non_checkpoint_files_are_removed_at_once(tmp_path):
    (tmp_path / 'notes.txt').write_text('x')
    AtomicLocalBackend().remove(tmp_path / 'notes.txt')
    assert not (tmp_path / 'notes.txt').exists()


def test_stale_temporaries_are_removed_and_nothing_else(tmp_path):
    names = ['.iter_6.tmp-0123abcd.pth', '.last_checkpoint.tmp-89abcdef', 'iter_4.pth',
             '.hidden', 'iter_6.tmp-0123abcd.pth']
    for name in names:
        (tmp_path / name).write_bytes(b'x')
    removed = remove_stale_temporaries(tmp_path)
    assert removed == sorted(str(tmp_path / n) for n in names[:2])
    assert sorted(os.listdir(tmp_path)) == sorted(names[2:])
