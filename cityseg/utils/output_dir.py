"""Output folders that a tool writes whole, claimed so that no file of the user's is lost.

``tools/publish_model.py OUT_DIR``, ``tools/test.py --report/--out/--show-dir DIR``,
``tools/infer.py --out DIR`` and ``tools/browse_dataset.py --out DIR`` write a folder of many
files. Given a folder that already holds a user's files (notes, a README, another tool's
output), replacing or overwriting into it would delete or clobber them without an error. So a
folder cityseg writes gets a manifest, :data:`MANIFEST_NAME`, listing every file it wrote and
the kind of output; a later run may rewrite the folder only when the manifest is of the same
kind and lists every file in it. Anything else (a file at the path, a foreign file, another
kind of output) is refused before any work is done, naming the folder, the files and the way
out.
"""
from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from .fileio import atomic_write

__all__ = ['MANIFEST_NAME', 'OutputDirError', 'check_output_dir', 'claim_output_dir',
           'output_dir', 'record_output_dir']

MANIFEST_NAME = '.cityseg_output.json'
_WAY_OUT = 'pass a folder that does not exist yet (or an empty one), or move those files out'


class OutputDirError(FileExistsError):
    """The output path holds something cityseg did not write, so it is not written to."""


def check_output_dir(path: str | os.PathLike, kind: str) -> Path:
    """Return ``path`` if the ``kind`` of output (e.g. ``'published model'``) may be written
    there: it does not exist, is an empty folder, or holds exactly the files an earlier
    output of the same kind listed in its manifest. Nothing is changed.

    Raises:
        OutputDirError: ``path`` is a file, or a folder holding files cityseg did not write
            (or another kind of output); the message names them and the way out.
    """
    path = Path(path)
    if not path.exists():
        return path
    if not path.is_dir():
        raise OutputDirError(f'{path} is a file, not a folder: refusing to replace it with the '
                             f'{kind}; pass a folder path that does not exist yet')
    present = _files_in(path)
    if not present:
        return path
    manifest = _read_manifest(path)
    if manifest is None:
        raise OutputDirError(
            f'{path} holds files cityseg did not write ({_shown(present)}; no valid '
            f'{MANIFEST_NAME}): refusing to write the {kind} there, which would overwrite or '
            f'delete them; {_WAY_OUT}')
    if manifest['kind'] != kind:
        raise OutputDirError(
            f'{path} holds another kind of output, a {manifest["kind"]} (per its '
            f'{MANIFEST_NAME}): refusing to write the {kind} over it; {_WAY_OUT}')
    foreign = sorted(set(present) - set(manifest['files']))
    if foreign:
        raise OutputDirError(
            f'{path} is an earlier {kind} but also holds files cityseg did not write '
            f'({_shown(foreign)}): refusing to rewrite it, which would delete them; {_WAY_OUT}')
    return path


def claim_output_dir(path: str | os.PathLike, kind: str) -> Path:
    """:func:`check_output_dir`, then prepare ``path`` to be written in place: the files an
    earlier output of this kind listed are removed (so that the new output is not mixed with
    the old one) and a manifest of no files yet is written, which makes a folder left by an
    interrupted run claimable again. Call :func:`record_output_dir` once the output is done.
    """
    path = check_output_dir(path, kind)
    for name in _files_in(path):
        if not name.endswith('/'):
            (path / name).unlink()
    for folder in sorted((p for p in path.rglob('*') if p.is_dir()), reverse=True):
        with contextlib.suppress(OSError):  # deepest first; only the emptied ones go
            folder.rmdir()
    path.mkdir(parents=True, exist_ok=True)
    _write_manifest(path, kind, [])
    return path


def record_output_dir(path: str | os.PathLike, kind: str) -> None:
    """List every file now under ``path`` in its manifest, as the ``kind`` of output that
    cityseg wrote there (call it when the output is complete)."""
    path = Path(path)
    _write_manifest(path, kind, _files_in(path))


@contextlib.contextmanager
def output_dir(path: str | os.PathLike, kind: str) -> Iterator[Path]:
    """:func:`claim_output_dir` on entry, :func:`record_output_dir` on exit, also when the
    body fails: what it wrote is cityseg's, so a rerun may replace it."""
    path = claim_output_dir(path, kind)
    try:
        yield path
    finally:
        record_output_dir(path, kind)


def _files_in(path: Path) -> list[str]:
    """The files, links and empty folders under ``path`` (relative, posix; a folder with a
    trailing ``/``), its manifest aside: an empty folder of the user's counts as theirs too."""
    entries = []
    for p in path.rglob('*'):
        if p.is_dir() and not p.is_symlink():
            if not any(p.iterdir()):
                entries.append(p.relative_to(path).as_posix() + '/')
        elif p != path / MANIFEST_NAME:
            entries.append(p.relative_to(path).as_posix())
    return sorted(entries)


def _read_manifest(path: Path) -> dict | None:
    try:
        manifest = json.loads((path / MANIFEST_NAME).read_text())
    except (OSError, ValueError):
        return None
    if not (isinstance(manifest, dict) and isinstance(manifest.get('kind'), str)
            and isinstance(manifest.get('files'), list)):
        return None
    return manifest


def _write_manifest(path: Path, kind: str, files: list[str]) -> None:
    atomic_write(json.dumps(dict(kind=kind, files=files), indent=1).encode(),
                 path / MANIFEST_NAME)


def _shown(files: list[str]) -> str:
    return ', '.join(files[:5]) + (f', ... ({len(files)} in all)' if len(files) > 5 else '')
