"""A local file backend for checkpoints: atomic writes, and no removal before the next write.

mmengine's ``LocalBackend.put`` opens the destination and writes into it: a crash, a full disk
or a kill during the write leaves a truncated checkpoint under the final name, and a
checkpoint written to an existing name (``latest.pth``) destroys the previous one. This
backend writes through :func:`cityseg.utils.fileio.atomic_write` instead: a temporary file in
the same directory, fsynced and renamed over the destination, so readers see the old file or
the new one, never a part. Select it with ``backend_args=dict(backend='atomic_local')`` on
``CheckpointHook`` (the schedules in ``configs/_base_/schedules`` do).

mmengine's ``CheckpointHook`` also removes the oldest kept checkpoint (``max_keep_ckpts``) and
the previous best checkpoint *before* it writes the new one, so a crash during that write
leaves neither, with ``last_checkpoint`` naming the removed file. Here ``remove`` of a
checkpoint only records it; the removal happens once the next checkpoint ``put`` has
completed. If ``last_checkpoint`` in that directory still names a file about to go, it is first
pointed (atomically) at the checkpoint just written, which is what mmengine writes there right
afterwards anyway: ``last_checkpoint`` only ever names a file that exists.
"""
from __future__ import annotations

import contextlib
import os
import os.path as osp
from pathlib import Path

from mmengine.fileio import LocalBackend, register_backend

from cityseg.utils.fileio import atomic_write

CHECKPOINT_SUFFIXES = ('.pth', '.pt', '.ckpt')

# Removals waiting for the next completed checkpoint write, by directory. Module-level because
# mmengine builds a new backend instance for each ``get_file_backend`` call: the hook that
# removes and the ``save_checkpoint`` that writes hold different instances.
_pending_removals: dict[str, list[str]] = {}


def pending_removals(directory: str | Path) -> list[str]:
    """The checkpoints of ``directory`` whose removal waits for the next checkpoint write."""
    return list(_pending_removals.get(osp.abspath(directory), []))


def _is_checkpoint(filepath: str) -> bool:
    return filepath.endswith(CHECKPOINT_SUFFIXES)


class AtomicLocalBackend(LocalBackend):
    """:class:`mmengine.fileio.LocalBackend` with atomic ``put``/``put_text`` and checkpoint
    removals deferred until the next checkpoint is complete on disk."""

    def put(self, obj: bytes, filepath: str | Path) -> None:
        atomic_write(obj, str(filepath))
        if _is_checkpoint(str(filepath)):
            _complete_removals(osp.abspath(filepath))

    def put_text(self, obj: str, filepath: str | Path, encoding: str = 'utf-8') -> None:
        atomic_write(obj.encode(encoding), str(filepath))

    def remove(self, filepath: str | Path) -> None:
        filepath = osp.abspath(filepath)
        if not _is_checkpoint(filepath):
            super().remove(filepath)
            return
        pending = _pending_removals.setdefault(osp.dirname(filepath), [])
        if filepath not in pending:
            pending.append(filepath)


def _complete_removals(written: str) -> None:
    """Remove the checkpoints of ``written``'s directory whose removal was requested before."""
    directory = osp.dirname(written)
    pending = [p for p in _pending_removals.pop(directory, []) if p != written]
    if not pending:
        return
    last = osp.join(directory, 'last_checkpoint')
    if osp.isfile(last):
        with open(last) as f:
            named = f.read().strip()
        if named and osp.abspath(named) in pending:
            atomic_write(written.encode(), last)
    for path in pending:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


register_backend('atomic_local', AtomicLocalBackend)
