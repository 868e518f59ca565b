"""A local file backend whose writes are atomic, for checkpoints.

mmengine's ``LocalBackend.put`` opens the destination and writes into it: a crash, a full disk
or a kill during the write leaves a truncated checkpoint under the final name, and a
checkpoint written to an existing name (``latest.pth``) destroys the previous one. This
backend writes through :func:`cityseg.utils.fileio.atomic_write` instead: a temporary file in
the same directory, fsynced and renamed over the destination, so readers see the old file or
the new one, never a part. Select it with ``backend_args=dict(backend='atomic_local')`` on
``CheckpointHook`` (the schedules in ``configs/_base_/schedules`` do).
"""
from __future__ import annotations

from pathlib import Path

from mmengine.fileio import LocalBackend, register_backend

from cityseg.utils.fileio import atomic_write


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` with atomic ``put`` and ``put_text``."""

    def put(self, obj: bytes, filepath: str | Path) -> None:
        atomic_write(obj, str(filepath))

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), str(filepath))


register_backend('atomic_local', AtomicLocalBackend)
