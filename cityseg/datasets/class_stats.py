"""Per-class pixel counts of a split's labels, at full label resolution, computed once.

Class weights must describe the labels the model is trained on, not a few random crops: each
label file is read by :class:`LoadCityscapesLabel` with the label fields the dataset gave its
sample (so labelIds are mapped to train ids by the very lookup table training uses, and a
:class:`.SegFolderDataset`'s labels go through its ``label_map`` and ``ignore_index``), into
as many classes as the dataset's metainfo names, counted at its full resolution, in parallel
with a progress bar. The per-image counts are cached in a JSON file keyed by the label files'
paths, sizes and modification times, so a resumed or repeated run reads them back instead of
decoding thousands of PNGs again, and a changed dataset is counted afresh.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from functools import partial

import numpy as np
from mmengine.utils import track_parallel_progress, track_progress

from cityseg.utils.errors import CitysegKeyError
from cityseg.utils.fileio import atomic_write

from .labels import NUM_CLASSES
from .loading import LoadCityscapesLabel

CACHE_VERSION = 2
# The sample fields LoadCityscapesLabel reads besides seg_map_path: how the dataset says its
# labels are stored (label type; for class-index labels, classes, label_map, ignore_index).
LABEL_FIELDS = ('label_type', 'num_classes', 'label_map', 'ignore_index')
LabelFile = tuple[str, dict]


def label_files(dataset) -> list[LabelFile]:
    """``(seg_map_path, label fields)`` of every sample of an mmengine dataset, in order: the
    path and the :data:`LABEL_FIELDS` the dataset gave the sample, so that counting reads each
    file exactly as training does."""
    files = []
    for idx in range(len(dataset)):
        info = dataset.get_data_info(idx)
        if 'seg_map_path' not in info:
            raise CitysegKeyError(
                f'sample {idx} ({info.get("img_path", "?")}) of '
                f'{type(dataset).__name__} has no seg_map_path: class statistics '
                f'need a labelled split')
        files.append((info['seg_map_path'], {k: info[k] for k in LABEL_FIELDS if k in info}))
    return files


def dataset_num_classes(dataset) -> int:
    """``len(dataset.metainfo['classes'])``; Cityscapes' 19 when the dataset states none."""
    classes = (getattr(dataset, 'metainfo', None) or {}).get('classes')
    return NUM_CLASSES if classes is None else len(classes)


def count_label_pixels(label_file: LabelFile, num_classes: int = NUM_CLASSES) -> np.ndarray:
    """Pixels of each class ``0..num_classes-1`` in one label file, read as training reads
    it (by :class:`LoadCityscapesLabel`, with the sample's label fields)."""
    path, fields = label_file
    label = LoadCityscapesLabel().transform(dict(fields, seg_map_path=path))['gt_seg_map']
    return np.bincount(label.ravel(), minlength=256)[:num_classes].astype(np.int64)


def per_image_class_counts(files: Sequence[LabelFile], num_classes: int = NUM_CLASSES,
                           nproc: int = 1, cache_file: str | None = None) -> np.ndarray:
    """``(num_images, num_classes)`` pixel counts of ``files``, read from or written to
    ``cache_file`` when given."""
    key = _fingerprint(files, num_classes)
    cached = _read_json(cache_file) if cache_file else {}
    if cached.get('version') == CACHE_VERSION and cached.get('fingerprint') == key:
        return np.asarray(cached['counts'], dtype=np.int64).reshape(len(files), num_classes)
    count = partial(count_label_pixels, num_classes=num_classes)
    if nproc > 1 and len(files) > 1:
        counts = track_parallel_progress(count, list(files), nproc)
    else:
        counts = track_progress(count, list(files))
    counts = np.stack(counts) if counts else np.zeros((0, num_classes), dtype=np.int64)
    if cache_file:
        # Atomic, so an interrupted run never leaves a partial cache.
        atomic_write(json.dumps(dict(version=CACHE_VERSION, fingerprint=key,
                                     files=[f for f, _ in files],
                                     counts=counts.tolist())).encode(), cache_file)
    return counts


def _fingerprint(files: Sequence[LabelFile], num_classes: int) -> str:
    """Changes when a label file is added, removed, replaced or read otherwise (label fields,
    number of classes)."""
    digest = hashlib.sha1(f'{num_classes}\n'.encode())
    for path, fields in files:
        stat = os.stat(path)
        digest.update(f'{path}|{json.dumps(fields, sort_keys=True)}|{stat.st_size}|'
                      f'{stat.st_mtime_ns}\n'.encode())
    return digest.hexdigest()


def _read_json(path: str) -> dict:
    """The cache's content; a missing or unreadable cache is simply stale."""
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {}
