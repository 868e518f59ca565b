"""Atomic outputs and advisory file locks, the two ways cityseg makes files safe to share (and
the content hash by which a file is recognised after it was read).

Checkpoints, the decoded-sample cache, class statistics, converted labels and the synthetic
dataset are all read by other processes (dataloader workers, distributed ranks, a resumed run)
and must survive a crash, a full disk or a Ctrl-C of their writer. They all go through
:func:`atomic_output` (readers see the old file or the new one, never a part) and, where several
processes may build the same thing, :class:`FileLock` (one builds, the others wait).
"""
from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TextIO

import cv2
import numpy as np

try:  # POSIX; where it is missing (Windows) FileLock does not exclude, renames stay atomic.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ['FileLock', 'LockHeldError', 'atomic_output', 'atomic_write', 'file_sha256',
           'lock_path', 'remove_stale_temporaries', 'write_image']

# The name atomic_output gives its temporary: '.<stem>.tmp-<8 hex><suffix>'.
_TEMPORARY_NAME = re.compile(r'^\..+\.tmp-[0-9a-f]{8}(\.[^.]*)?$')


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, fsync: bool = True) -> Iterator[Path]:
    """Yield a fresh temporary sibling of ``path``; on success it is renamed onto ``path``.

    The body creates a file, or a whole directory, at the yielded path (it does not exist
    yet), with any writer: ``open``, ``Image.save`` (the suffix of ``path`` is kept, so
    formats chosen by extension still work), a third-party converter. When the body returns,
    a file is fsynced (``fsync=True``) and ``os.replace``-d onto ``path``, which is atomic on
    POSIX and Windows; a directory replaces an existing ``path`` by two renames (a rename
    cannot replace a non-empty directory), the old tree being deleted afterwards, or put back
    if the second rename fails. When the body raises (``KeyboardInterrupt`` included) or a
    step fails, the temporary file or tree is removed and ``path`` is left as it was.

    The temporary name is hidden (a leading dot), so globs of finished outputs skip it.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f'.{path.stem}.tmp-{uuid.uuid4().hex[:8]}{path.suffix}')
    try:
        try:
            yield tmp
        except OSError as err:
            if err.errno != errno.ENOSPC:
                raise
            free = shutil.disk_usage(path.parent).free
            raise OSError(errno.ENOSPC, f'No space left on device writing {path} '
                          f'({free / 2**20:.1f} MiB free on its file system; {path} was left '
                          'as it was)') from err
        if not (tmp.exists() or tmp.is_symlink()):
            raise FileNotFoundError(f'nothing was written to {tmp}, the temporary name of {path}')
        if tmp.is_dir():
            _replace_dir(tmp, path)
        else:
            if fsync:
                _fsync(tmp)
            os.replace(tmp, path)
    finally:
        _remove(tmp)


def atomic_write(data: bytes, filepath: str | os.PathLike) -> None:
    """Write ``data`` to ``filepath`` through :func:`atomic_output` (temp file, fsync, rename)."""
    with atomic_output(filepath) as tmp, open(tmp, 'xb') as f:
        f.write(data)


def write_image(img: np.ndarray, path: str | os.PathLike) -> None:
    """``mmcv.imwrite`` made atomic: ``img`` (BGR, or one channel, as cv2 takes it) encoded in
    the format of ``path``'s extension, then written through :func:`atomic_output` (folders
    created). A full disk raises naming ``path`` and the free space, and leaves no 0-byte
    or half picture there (or the previous one as it was). Not fsynced: pictures are many
    and can be drawn again; the rename alone keeps a failed write from showing.
    """
    ok, encoded = cv2.imencode(Path(path).suffix or '.png', img)
    if not ok:
        raise ValueError(f'cv2 could not encode a {img.dtype} image of shape {img.shape} as '
                         f'{path}')
    with atomic_output(path, fsync=False) as tmp, open(tmp, 'xb') as f:
        f.write(encoded.tobytes())


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of the file's bytes (64 hex digits), read in 1 MiB blocks: a file replaced
    under the same name (a retrained checkpoint) is told apart from the one read before."""
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def remove_stale_temporaries(directory: str | os.PathLike) -> list[str]:
    """Remove the temporary files that an interrupted :func:`atomic_output` left in
    ``directory`` (not below it), and return their paths.

    A kill -9 or power loss mid-write skips the cleanup of ``atomic_output``. Call this only
    while no other process writes into ``directory`` (e.g. holding its lock), since a live
    writer's temporary looks the same.
    """
    removed = []
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(directory):
            if _TEMPORARY_NAME.match(entry.name):
                _remove(Path(entry.path))
                removed.append(entry.path)
    return sorted(removed)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDWR)  # Windows' fsync needs a writable descriptor
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _replace_dir(src: Path, dst: Path) -> None:
    old = dst.with_name(f'.{dst.name}.old-{uuid.uuid4().hex[:8]}')
    if dst.exists() or dst.is_symlink():
        os.replace(dst, old)
    try:
        os.replace(src, dst)
    except BaseException:
        if old.exists() or old.is_symlink():
            os.replace(old, dst)
        raise
    _remove(old)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def lock_path(target: str | os.PathLike) -> Path:
    """The lock file that guards building ``target``, kept out of the user's folders.

    A lock beside a ``data_root`` (``/parent/.name.lock``) or inside a user's folder would be
    a file cityseg left among theirs. Locks live in ``$CITYSEG_LOCK_DIR``, else
    ``$XDG_CACHE_HOME/cityseg/locks`` (``~/.cache/cityseg/locks``), named after the target and
    the sha256 of its real path, so that every process building one target (dataloader
    workers, the ranks of a launch, another run) takes the same lock. Processes on machines
    that do not share that folder do not exclude each other; their builds stay atomic.
    """
    folder = os.environ.get('CITYSEG_LOCK_DIR') or os.path.join(
        os.environ.get('XDG_CACHE_HOME') or os.path.expanduser('~/.cache'), 'cityseg', 'locks')
    real = os.path.realpath(target)
    digest = hashlib.sha256(real.encode()).hexdigest()[:16]
    return Path(folder) / f'{os.path.basename(real)}-{digest}.lock'


class LockHeldError(BlockingIOError):
    """A non-blocking :class:`FileLock` found its file locked by another holder.

    ``path`` is the lock file; ``holder_pid`` the process holding it exclusively, when known.
    """

    def __init__(self, path: str, holder_pid: int | None) -> None:
        holder = f'process {holder_pid}' if holder_pid else 'another process'
        super().__init__(f'{path} is locked by {holder}')
        self.path, self.holder_pid = path, holder_pid

    def __reduce__(self) -> tuple:  # crosses process boundaries (multiprocessing) intact
        return type(self), (self.path, self.holder_pid)


class FileLock:
    """An advisory ``fcntl.flock`` on ``path``, held inside ``with FileLock(path):``.

    ``exclusive=False`` takes a shared lock (any number of shared holders, no exclusive one).
    ``blocking=False`` raises :class:`LockHeldError`, naming the lock file and, for an
    exclusive holder, its pid (written into the file while held), instead of waiting. The lock
    belongs to this object's open file: a second ``FileLock`` on the same path conflicts with
    it even within one process, and the operating system drops it when the holder dies, so a
    crash never leaves a stale lock. The file itself is left in place (deleting a lock file
    races with processes about to lock it). Without ``fcntl`` (Windows) nothing is locked.
    """

    def __init__(self, path: str | os.PathLike, exclusive: bool = True,
                 blocking: bool = True) -> None:
        self.path, self.exclusive, self.blocking = str(path), exclusive, blocking
        self._handle: TextIO | None = None

    @property
    def locked(self) -> bool:
        """Whether this object holds the lock now."""
        return self._handle is not None

    def acquire(self) -> FileLock:
        """Take the lock (waiting for it unless ``blocking=False``); returns ``self``."""
        if self.locked:
            raise RuntimeError(f'{self.path} is already locked by this FileLock')
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, 'a+')  # noqa: SIM115 (held until release); 'a+' keeps the pid
        if fcntl is not None:
            flags = (fcntl.LOCK_EX if self.exclusive else fcntl.LOCK_SH)
            try:
                fcntl.flock(handle, flags | (0 if self.blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                handle.seek(0)
                pid = handle.read().strip()
                handle.close()
                raise LockHeldError(self.path, int(pid) if pid.isdigit() else None) from None
            except BaseException:
                handle.close()
                raise
        if self.exclusive:
            _rewrite(handle, f'{os.getpid()}\n')
        self._handle = handle
        return self

    def release(self) -> None:
        """Give the lock up; a no-op when it is not held."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            if self.exclusive:
                _rewrite(handle, '')  # the next contender must not blame a finished holder
            if fcntl is not None:
                fcntl.flock(handle, fcntl.LOCK_UN)
        finally:
            handle.close()

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.release()

    def __repr__(self) -> str:
        return (f'FileLock({self.path!r}, exclusive={self.exclusive}, blocking={self.blocking}, '
                f'locked={self.locked})')


def _rewrite(handle: TextIO, text: str) -> None:
    handle.seek(0)
    handle.truncate()
    handle.write(text)
    handle.flush()
