"""Per-class pixel counts of a split's labels, at full label resolution, computed once.

Class weights must describe the labels the model is trained on, not a few random crops: each
label file is read by the dataset's own :class:`LoadCityscapesLabel` (so labelIds are mapped to
train ids by the very lookup table training uses), counted at its full resolution, in parallel
with a progress bar. The per-image counts are cached in a JSON file keyed by the label files'
paths, sizes and modification times, so a resumed or repeated run reads them back instead of
decoding thousands of PNGs again, and a changed dataset is counted afresh.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress

from cityseg.utils.fileio import atomic_write

from .labels import NUM_CLASSES
from .loading import LoadCityscapesLabel

CACHE_VERSION = 1


def label_files(dataset) -> list[tuple[str, str]]:
    """``(seg_map_path, label_type)`` of every sample of an mmengine dataset, in order."""
    files = []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        if 'seg_map_path' not in info:
            raise KeyError(f'sample {idx} ({info.get("img_path", "?")}) of '
                           f'{type(dataset).__name__} has no seg_map_path: class statistics '
                           f'need a labelled split')
        files.append((info['seg_map_path'], info.get('label_type', 'labelIds')))
    return files


def count_label_pixels(label_file: tuple[str, str], num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Pixels of each train id ``0..num_classes-1`` in one label file, read as training reads
    it."""
    path, label_type = label_file
    label = LoadCityscapesLabel().transform(
        dict(seg_map_path=path, label_type=label_type))['gt_seg_map']
    return np.bincount(label.ravel(), minlength=256)[:num_classes].astype(np.int64)


def per_image_class_counts(files: Sequence[tuple[str, str]], nproc: int = 1,
                           cache_file: str | None = None) -> np.ndarray:
    """``(num_images, NUM_CLASSES)`` pixel counts of ``files``, read from or written to
    ``cache_file`` when given."""
    key = _fingerprint(files)
    cached = _read_json(cache_file) if cache_file else {}
    if cached.get('version') == CACHE_VERSION and cached.get('fingerprint') == key:
        return np.asarray(cached['counts'], dtype=np.int64).reshape(len(files), NUM_CLASSES)
    if nproc > 1 and len(files) > 1:
        counts = track_parallel_progress(count_label_pixels, list(files), nproc)
    else:
        counts = track_progress(count_label_pixels, list(files))
    counts = np.stack(counts) if counts else np.zeros((0, NUM_CLASSES), dtype=np.int64)
    if cache_file:
        # Atomic, so an interrupted run never leaves a partial cache.
        atomic_write(json.dumps(dict(version=CACHE_VERSION, fingerprint=key,
                                     files=[f for f, _ in files],
                                     counts=counts.tolist())).encode(), cache_file)
    return counts


def _fingerprint(files: Sequence[tuple[str, str]]) -> str:
    """Changes when a label file is added, removed, replaced or read as another label type."""
    digest = hashlib.sha1()
    for path, label_type in files:
        stat = os.stat(path)
        digest.update(f'{path}|{label_type}|{stat.st_size}|{stat.st_mtime_ns}\n'.encode())
    return digest.hexdigest()


def _read_json(path: str) -> dict:
    """The cache's content; a missing or unreadable cache is simply stale."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
