"""cityseg.utils.fileio: atomic outputs survive failing and killed writers; FileLock excludes
other processes (exclusive, shared, non-blocking) and dies with its holder."""
from __future__ import annotations

import errno
import multiprocessing
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cityseg.utils import fileio
from cityseg.utils.fileio import FileLock, LockHeldError, atomic_output, atomic_write

CTX = multiprocessing.get_context('fork')  # other processes, started fast


def python(code: str, **kwargs) -> subprocess.Popen:
    """A child interpreter running ``code`` (it sees this checkout through PYTHONPATH)."""
    return subprocess.Popen([sys.executable, '-c', textwrap.dedent(code)], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


# ---------------------------------------------------------------------------- atomic output
def test_atomic_write_creates_parents_and_replaces(tmp_path):
    path = tmp_path / 'a' / 'b' / 'x.bin'
    atomic_write(b'one', path)
    atomic_write(b'two', str(path))
    assert path.read_bytes() == b'two'
    assert os.listdir(path.parent) == ['x.bin']


@pytest.mark.parametrize('error', [RuntimeError('writer failed'), KeyboardInterrupt()])
def test_writer_raising_midway_leaves_old_file_and_no_temp(tmp_path, error):
    path = tmp_path / 'latest.pth'
    path.write_bytes(b'old contents')
    with pytest.raises(type(error)), atomic_output(path) as tmp, open(tmp, 'wb') as f:
        f.write(b'half of the new')
        f.flush()
        assert tmp.read_bytes() == b'half of the new' and tmp.parent == path.parent
        raise error
    assert path.read_bytes() == b'old contents'
    assert os.listdir(tmp_path) == ['latest.pth']


@pytest.mark.integration
def test_killed_writer_leaves_old_file_and_only_a_hidden_temp(tmp_path):
    path = tmp_path / 'latest.pth'
    path.write_bytes(b'old contents')
    proc = python(f'''
        import os, signal, sys
        from cityseg.utils.fileio import atomic_output
        with atomic_output({str(path)!r}) as tmp, open(tmp, 'wb') as f:
            f.write(b'x' * 1_000_000)
            f.flush()
            os.kill(os.getpid(), signal.SIGKILL)  # no finally, no cleanup: a real crash
    ''')
    proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == b'old contents'
    leftovers = [p for p in os.listdir(tmp_path) if p != 'latest.pth']
    assert len(leftovers) == 1 and leftovers[0].startswith('.latest.tmp-'), leftovers
    assert leftovers[0].endswith('.pth')


def test_data_is_fsynced_before_the_rename_and_must_exist(tmp_path, monkeypatch):
    calls = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, 'fsync', lambda fd: calls.append(('fsync', fd)) or real_fsync(fd))
    monkeypatch.setattr(os, 'replace', lambda a, b: calls.append(('replace', Path(b)))
                        or real_replace(a, b))
    atomic_write(b'data', tmp_path / 'f')
    assert [c[0] for c in calls] == ['fsync', 'replace'] and calls[1][1] == tmp_path / 'f'
    calls.clear()
    with atomic_output(tmp_path / 'g', fsync=False) as tmp:
        tmp.write_bytes(b'data')
    assert calls == [('replace', tmp_path / 'g')]

    missing = pytest.raises(FileNotFoundError, match=f'nothing was written to .* of {tmp_path}/h')
    with missing, atomic_output(tmp_path / 'h'):
        pass  # a writer that silently produced no file


def test_temp_name_keeps_the_suffix_for_writers_that_pick_a_format(tmp_path):
    pixels = np.arange(48, dtype=np.uint8).reshape(6, 8)
    with atomic_output(tmp_path / 'label.png') as tmp:
        assert tmp.suffix == '.png' and tmp.name.startswith('.label.tmp-')
        Image.fromarray(pixels).save(tmp)  # Pillow chooses PNG from the name
    with Image.open(tmp_path / 'label.png') as img:
        assert img.format == 'PNG'
        np.testing.assert_array_equal(np.asarray(img), pixels)


def test_directory_replaces_an_existing_tree(tmp_path):
    out = tmp_path / 'dataset'
    (out / 'old').mkdir(parents=True)
    (out / 'old' / 'a.txt').write_text('old')
    with atomic_output(out) as tmp:
        (tmp / 'new').mkdir(parents=True)
        (tmp / 'new' / 'b.txt').write_text('new')
        assert (out / 'old' / 'a.txt').read_text() == 'old'  # untouched until the body returns
    assert sorted(str(p.relative_to(out)) for p in out.rglob('*')) == ['new', 'new/b.txt']
    assert os.listdir(tmp_path) == ['dataset']


def test_failing_directory_body_leaves_old_tree(tmp_path):
    out = tmp_path / 'dataset'
    out.mkdir()
    (out / 'a.txt').write_text('old')
    with pytest.raises(OSError, match='No space'), atomic_output(out) as tmp:
        tmp.mkdir()
        (tmp / 'b.txt').write_text('partial')
        raise OSError(28, 'No space left on device')
    assert [p.name for p in out.iterdir()] == ['a.txt'] and os.listdir(tmp_path) == ['dataset']


def test_failed_swap_puts_the_old_tree_back(tmp_path, monkeypatch):
    out = tmp_path / 'dataset'
    out.mkdir()
    (out / 'a.txt').write_text('old')
    real_replace = os.replace

    def replace(src, dst):
        if Path(src).name.startswith('.dataset.tmp-'):  # the new tree cannot be moved in
            raise OSError(5, 'Input/output error')
        real_replace(src, dst)

    monkeypatch.setattr(fileio.os, 'replace', replace)
    with pytest.raises(OSError, match='Input/output'), atomic_output(out) as tmp:
        tmp.mkdir()
    assert (out / 'a.txt').read_text() == 'old' and os.listdir(tmp_path) == ['dataset']


# ------------------------------------------------------------------------------------ lock
def _hold(path: str, exclusive: bool, ready, release) -> None:
    with FileLock(path, exclusive=exclusive):
        ready.set()
        release.wait(60)


def _try_lock(path: str, exclusive: bool) -> str:
    try:
        with FileLock(path, exclusive=exclusive, blocking=False):
            return 'taken'
    except LockHeldError as exc:
        return str(exc)


def _increment(path: str, counter: str, times: int) -> None:
    for _ in range(times):
        with FileLock(path):
            value = int(Path(counter).read_text())
            time.sleep(0.002)  # widen the read-modify-write window
            Path(counter).write_text(str(value + 1))


@pytest.fixture
def holder(tmp_path):
    """Start a process holding ``lock`` (exclusive or shared) until the test ends."""
    procs = []

    def start(exclusive: bool = True) -> multiprocessing.Process:
        ready, release = CTX.Event(), CTX.Event()
        proc = CTX.Process(target=_hold, args=(str(tmp_path / 'lock'), exclusive, ready, release))
        proc.start()
        assert ready.wait(60), 'the holder never took the lock'
        procs.append((proc, release))
        return proc

    yield start
    for proc, release in procs:
        release.set()
        proc.join(60)


def test_exclusive_lock_excludes_another_process_and_names_file_and_holder(tmp_path, holder):
    path = str(tmp_path / 'lock')
    proc = holder(exclusive=True)
    with CTX.Pool(1) as pool:
        message = pool.apply(_try_lock, (path, True))
        assert message == f'{path} is locked by process {proc.pid}'
        assert pool.apply(_try_lock, (path, False)).startswith(f'{path} is locked')
    with pytest.raises(LockHeldError) as info:
        FileLock(path, blocking=False).acquire()  # a second lock conflicts within one process too
    assert (info.value.path, info.value.holder_pid) == (path, proc.pid)
    assert isinstance(info.value, BlockingIOError)


def test_shared_locks_coexist_and_keep_out_an_exclusive_one(tmp_path, holder):
    path = str(tmp_path / 'lock')
    holder(exclusive=False)
    with CTX.Pool(1) as pool:
        assert pool.apply(_try_lock, (path, False)) == 'taken'
        assert pool.apply(_try_lock, (path, True)) == f'{path} is locked by another process'


@pytest.mark.integration
def test_lock_is_free_again_after_release_and_holder_death(tmp_path):
    path = str(tmp_path / 'lock')
    lock = FileLock(path)
    with lock:
        assert lock.locked and Path(path).read_text() == f'{os.getpid()}\n'
        with pytest.raises(RuntimeError, match='already locked'):
            lock.acquire()
    assert not lock.locked and Path(path).read_text() == ''  # file kept, no stale pid
    lock.release()  # idempotent
    proc = python(f'''
        import os, signal
        from cityseg.utils.fileio import FileLock
        FileLock({path!r}).acquire()
        print('locked', flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    ''')
    assert proc.communicate(timeout=60)[0] == 'locked\n'
    with FileLock(path, blocking=False):  # the kernel dropped the dead holder's lock
        pass


@pytest.mark.integration
def test_blocking_lock_waits_for_the_holder(tmp_path):
    path = str(tmp_path / 'lock')
    proc = python(f'''
        import time
        from cityseg.utils.fileio import FileLock
        with FileLock({path!r}):
            print('locked', flush=True)
            time.sleep(1.0)
            print(time.time(), flush=True)
    ''')
    assert proc.stdout.readline() == 'locked\n'
    with FileLock(path):
        acquired = time.time()
    released = float(proc.stdout.readline())
    proc.wait(60)
    assert acquired >= released


def test_lock_serialises_read_modify_write_across_processes(tmp_path):
    counter = tmp_path / 'counter'
    counter.write_text('0')
    procs = [CTX.Process(target=_increment, args=(str(tmp_path / 'lock'), str(counter), 15))
             for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert counter.read_text() == '45'  # no lost update


def test_lock_held_error_survives_pickling():
    err = pickle.loads(pickle.dumps(LockHeldError('/w/run.lock', 42)))
    assert (err.path, err.holder_pid, str(err)) == ('/w/run.lock', 42,
                                                     '/w/run.lock is locked by process 42')


def test_disk_full_names_the_file_and_free_space_and_keeps_the_old_one(tmp_path):
    path = tmp_path / 'iter_4.pth'
    path.write_bytes(b'old contents')
    with pytest.raises(OSError) as info, atomic_output(path) as tmp, open(tmp, 'wb') as f:
        f.write(b'part')
        raise OSError(errno.ENOSPC, 'No space left on device')
    message = str(info.value)
    assert info.value.errno == errno.ENOSPC
    assert str(path) in message and 'MiB free' in message, message
    assert path.read_bytes() == b'old contents'
    assert os.listdir(tmp_path) == ['iter_4.pth']
