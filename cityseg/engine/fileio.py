"""A local file backend whose writes are atomic, for checkpoints.

mmengine's ``LocalBackend.put`` opens the destination and writes into it: a crash, a full disk
or a kill during the write leaves a truncated checkpoint under the final name, and a
checkpoint written to an existing name (``latest.pth``) destroys the previous one. This
backend writes to a temporary file in the same directory, fsyncs it and renames it over the
destination with ``os.replace``, which is atomic on POSIX and Windows: readers see the old file
or the new one, never a part. Select it with ``backend_args=dict(backend='atomic_local')`` on
``CheckpointHook`` (the schedules in ``configs/_base_/schedules`` do).
"""
from __future__ import annotations

import os
import os.path as osp
import uuid
from pathlib import Path

import mmengine
from mmengine.fileio import LocalBackend, register_backend


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath: str | Path) -> None:
        _atomic_write(obj, str(filepath))

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        _atomic_write(obj.encode(encoding), str(filepath))


def _atomic_write(data: bytes, filepath: str) -> None:
    """Write ``data`` to a unique temporary sibling, fsync, then rename it to ``filepath``."""
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


register_backend('atomic_local', AtomicLocalBackend)
