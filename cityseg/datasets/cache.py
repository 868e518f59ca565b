"""A decoded-sample cache that all dataloader workers read without copies.

Decoding a 2048x1024 Cityscapes PNG costs far more than the augmentation after it. The cache
runs the deterministic head of the pipeline (image and label loading, resizing) once per sample
and writes every array it produced into one flat file, which each process maps with
``mmap``. The pages live once in the OS page cache and are shared by every worker and rank on
the machine: nothing is pickled into workers, and nothing is copied per worker. Every load maps
its arrays afresh, copy-on-write, so a transform that edits one in place changes only its own
private pages.

Files, under ``cache_dir``: ``<name>.bin`` (the arrays, page aligned) and ``<name>.index``
(per image path: each array's offset, shape and dtype, plus the non-array keys the cached
transforms set). ``<name>`` hashes the cached transforms and every sample's paths, sizes and
modification times, so a changed pipeline or dataset gets a new cache instead of stale data.
Both files are written through :func:`cityseg.utils.fileio.atomic_output`, the index last,
under a :class:`~cityseg.utils.fileio.FileLock`: the first process (rank) builds, the others
wait and then map the result.
"""
from __future__ import annotations

import hashlib
import json
import logging
import mmap
import os
import os.path as osp
import pickle
import shutil
from collections.abc import Callable, Sequence
from typing import BinaryIO

import numpy as np
from mmengine.logging import print_log
from mmengine.utils import track_iter_progress

from cityseg.utils.errors import CitysegKeyError
from cityseg.utils.fileio import FileLock, atomic_output, lock_path

CACHE_VERSION = 1
_ALIGN = mmap.ALLOCATIONGRANULARITY  # each array can be mapped on its own
GiB = 1024 ** 3


def cache_name(prefix: str, transforms: Sequence[object], data_infos: Sequence[dict]) -> str:
    """``<prefix>-<hash>``: the hash of the cached transforms' reprs and each sample's files."""
    digest = hashlib.sha1(json.dumps([CACHE_VERSION, [repr(t) for t in transforms]]).encode())
    for info in data_infos:
        digest.update(json.dumps(info, sort_keys=True, default=str).encode())
        for key, value in sorted(info.items()):
            if key.endswith('_path') and isinstance(value, str) and osp.exists(value):
                stat = os.stat(value)
                digest.update(f'{stat.st_size}:{stat.st_mtime_ns}'.encode())
    return f'{prefix}-{digest.hexdigest()[:16]}'


class _PlainUnpickler(pickle.Unpickler):
    """Reads only plain containers and scalars: the index never needs a class."""

    def find_class(self, module: str, name: str) -> None:
        raise pickle.UnpicklingError(f'cache index refers to {module}.{name}')


class DecodedSampleCache:
    """Samples decoded once into ``<path>.bin`` and served as views of a shared mapping.

    Use :meth:`ensure` to get one; :meth:`load` returns the cached transforms' output for a
    sample as the uncached pipeline would have produced it.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        with open(path + '.index', 'rb') as f:
            index = _PlainUnpickler(f).load()
        if index.get('version') != CACHE_VERSION:
            raise ValueError(f'{path}.index was written by another cache version')
        self._entries: dict[str, tuple[list, dict]] = index['entries']
        self.nbytes = os.path.getsize(path + '.bin')
        self._file: BinaryIO | None = None

    @classmethod
    def ensure(cls, cache_dir: str, name: str, data_infos: Sequence[dict],
               produce: Callable[[dict], dict]) -> DecodedSampleCache:
        """Open ``cache_dir/name``, building it first (once across processes) if absent.

        ``produce`` maps a data info to the cached transforms' output; it runs once per
        sample, in this process, with a progress bar.
        """
        os.makedirs(cache_dir, exist_ok=True)
        path = osp.join(cache_dir, name)
        if not osp.exists(path + '.index'):
            with FileLock(lock_path(path)):  # cityseg's lock folder, not the cache dir
                if not osp.exists(path + '.index'):  # another process may have built it
                    _build(path, data_infos, produce)
        cache = cls(path)
        print_log(f'Decoded-sample cache {path}.bin: {len(cache)} samples, '
                  f'{cache.nbytes / GiB:.2f} GiB, shared by all workers through the page cache '
                  f'(keep that much RAM free, or it is re-read from disk)', logger='current')
        return cache

    def __len__(self) -> int:
        return len(self._entries)

    def load(self, data_info: dict) -> dict:
        """``data_info`` updated with the cached keys and arrays.

        Each array is a fresh copy-on-write mapping of its pages: no bytes are copied, and an
        in-place edit by a transform stays private to that array, unseen by later loads.
        """
        try:
            arrays, keys = self._entries[data_info['img_path']]
        except KeyError:
            raise CitysegKeyError(
                f'{data_info["img_path"]} is not in the cache {self.path}.bin; '
                f'delete the cache to rebuild it') from None
        if self._file is None:
            self._file = open(self.path + '.bin', 'rb')  # noqa: SIM115 (kept for the process)
        results = dict(data_info, **keys)
        for key, offset, shape, dtype in arrays:
            nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
            if nbytes == 0:
                results[key] = np.empty(shape, dtype)
                continue
            pages = mmap.mmap(self._file.fileno(), nbytes, access=mmap.ACCESS_COPY,
                              offset=offset)
            results[key] = np.frombuffer(pages, dtype=dtype).reshape(shape)
        return results

    def __getstate__(self) -> dict:
        """Workers started by spawn map the file themselves rather than receive its bytes."""
        return dict(self.__dict__, _file=None)


def _build(path: str, data_infos: Sequence[dict], produce: Callable[[dict], dict]) -> None:
    """Write ``<path>.bin`` and then ``<path>.index``, each through :func:`atomic_output`."""
    directory = osp.dirname(path)
    entries: dict[str, tuple[list, dict]] = {}
    offset = 0
    print_log(f'Building the decoded-sample cache {path}.bin for {len(data_infos)} samples',
              logger='current')
    # Contexts exit in reverse: the .bin is in place before the .index that announces it.
    with atomic_output(path + '.index') as index_tmp, atomic_output(path + '.bin') as bin_tmp:
        with open(bin_tmp, 'wb') as out:
            for i, info in enumerate(track_iter_progress(list(data_infos))):
                results = produce(dict(info))
                if results is None:
                    raise ValueError(f'the cached transforms dropped {info["img_path"]}')
                arrays, keys = [], {}
                for key, value in results.items():
                    if isinstance(value, np.ndarray):
                        data = np.ascontiguousarray(value)
                        out.write(b'\0' * (-offset % _ALIGN))
                        offset += -offset % _ALIGN
                        out.write(memoryview(data).cast('B'))
                        arrays.append((key, offset, data.shape, data.dtype.str))
                        offset += data.nbytes
                    elif key not in info or info[key] != value:
                        keys[key] = value
                entries[info['img_path']] = (arrays, keys)
                if i == 0:
                    _check_space(directory, offset * len(data_infos))
        with open(index_tmp, 'wb') as f:
            pickle.dump(dict(version=CACHE_VERSION, entries=entries), f)


def _check_space(directory: str, needed: int) -> None:
    """Fail before filling the disk; warn when the cache cannot stay in RAM."""
    free = shutil.disk_usage(directory).free
    if needed > free:
        raise OSError(f'The decoded-sample cache needs ~{needed / GiB:.2f} GiB but {directory} '
                      f'has {free / GiB:.2f} GiB free; choose another cache_dir')
    total_ram = os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES')
    print_log(f'The decoded-sample cache will take ~{needed / GiB:.2f} GiB (RAM: '
              f'{total_ram / GiB:.1f} GiB)', logger='current',
              level=logging.WARNING if needed > total_ram / 2 else logging.INFO)
