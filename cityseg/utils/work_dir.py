"""One training run per work dir, and a clean start after a crash in it.

Two runs writing into one work dir interleave their checkpoints, ``last_checkpoint`` and logs
without any error, and a resume then mixes them. :func:`claim_work_dir` takes a lock for the
life of the run, so a second run stops at once naming the dir and the first run's pid; the
operating system drops the lock when its holder dies, so a killed run never blocks the next.
"""
from __future__ import annotations

import os
import os.path as osp

from .errors import CitysegRuntimeError
from .fileio import FileLock, LockHeldError, remove_stale_temporaries

LOCK_NAME = '.train.lock'


class WorkDirBusyError(CitysegRuntimeError):
    """Another live run holds the work dir."""


def claim_work_dir(work_dir: str) -> FileLock:
    """Lock ``work_dir`` for this run (released when the returned lock is, or the process
    ends) and remove the temporary files that an interrupted checkpoint write left in it.

    Raises:
        WorkDirBusyError: another live process holds it; the message names the dir and pid.
    """
    lock = FileLock(osp.join(work_dir, LOCK_NAME), blocking=False)
    try:
        lock.acquire()
    except LockHeldError as err:
        holder = f'process {err.holder_pid}' if err.holder_pid else 'another process'
        raise WorkDirBusyError(
            f'work dir {osp.abspath(work_dir)} is in use by {holder} (lock {err.path}): two '
            f'runs in one work dir would mix their checkpoints and logs. Wait for it, stop it, '
            f'or pass another --work-dir') from None
    for path in remove_stale_temporaries(work_dir):
        print(f'removed {path}, left by an interrupted write', flush=True)
    return lock


def is_main_launch_process() -> bool:
    """Whether this process is rank 0 of its launch (or not launched distributed at all)."""
    return os.environ.get('RANK', '0') == '0'
