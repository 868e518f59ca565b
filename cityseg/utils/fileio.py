"""Atomic file writes: readers (and a crashed or killed writer) see the old file or the new
one, never a part."""
from __future__ import annotations

import os
import os.path as osp
import uuid

import mmengine


def atomic_write(data: bytes, filepath: str) -> None:
    """Write ``data`` to a unique temporary sibling, fsync, then rename it to ``filepath``.

    ``os.replace`` is atomic on POSIX and Windows; the temporary file is removed if anything
    fails, including a ``KeyboardInterrupt``.
    """
    mmengine.mkdir_or_exist(osp.dirname(osp.abspath(filepath)))
    tmp = f'{filepath}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp'
    try:
        with open(tmp, 'xb') as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise
