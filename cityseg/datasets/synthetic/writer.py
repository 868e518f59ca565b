"""Samples written as Cityscapes files, and the dataset directory generated, reused or replaced."""
from __future__ import annotations

import json
import shutil
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import createLabelImage
from PIL import Image

from cityseg.utils.fileio import FileLock, atomic_output, lock_path

from .anomalies import ANOMALY_SUFFIX, anomaly_mask, anomaly_polygons, paint_anomalies
from .render import render_scene
from .styles import apply_style, check_style

SPLIT_CITIES: dict[str, tuple[str, ...]] = {
    'train': ('aachen', 'bochum', 'bremen'),
    'val': ('frankfurt', 'lindau'),
    'test': ('berlin', 'bielefeld'),
}
# Bumped whenever the drawing changes, so that cached datasets of an older look are regenerated.
GENERATOR_VERSION = 1
MARKER_NAME = '.synthetic_complete'
FRAME = 19  # the official gtFine annotations are on frame 19 of each 30-frame snippet


def _image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """Per-image stream: the output does not depend on worker count or split sizes."""
    return np.random.default_rng([seed, tuple(SPLIT_CITIES).index(split), index])


def _sample_stem(split: str, index: int) -> tuple[str, str]:
    cities = SPLIT_CITIES[split]
    city = cities[index % len(cities)]
    return city, f'{city}_{index // len(cities):06d}_{FRAME:06d}'


def _write_sample(task: tuple[str, int], out_dir: Path, size: tuple[int, int], seed: int,
                  style: str = 'day', anomalies: bool = False) -> None:
    split, index = task
    city, stem = _sample_stem(split, index)
    img, doc = render_scene(_image_rng(seed, split, index), size, index)
    polygons = []
    if anomalies and split != 'test':
        img, doc, polygons = _add_anomalies(seed, split, index, img, doc)
    text = json.dumps(doc, indent=4)
    annotation = Annotation()
    annotation.fromJsonText(text)  # exactly what json2labelImg would read back from the file
    train_ids = createLabelImage(annotation, 'trainIds')
    # the style's own stream (a 4th key; the anomalies' is 1), so the scene, its anomalies and
    # its labels do not depend on the style
    style_rng = np.random.default_rng([seed, tuple(SPLIT_CITIES).index(split), index, 2])
    img = apply_style(img, np.asarray(train_ids), style, style_rng)
    img_dir = out_dir / 'leftImg8bit' / split / city
    img_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(img_dir / f'{stem}_leftImg8bit.png')
    if split == 'test':
        return
    gt_dir = out_dir / 'gtFine' / split / city
    gt_dir.mkdir(parents=True, exist_ok=True)
    (gt_dir / f'{stem}_gtFine_polygons.json').write_text(text)
    prefix = gt_dir / f'{stem}_gtFine_'
    createLabelImage(annotation, 'ids').save(f'{prefix}labelIds.png')
    train_ids.save(f'{prefix}labelTrainIds.png')
    createLabelImage(annotation, 'color').save(f'{prefix}color.png')
    # Pillow cannot write 32-bit PNGs; ids stay below 34000, so 16 bits as in the official files.
    instances = np.asarray(createInstanceImage(annotation, 'ids')).astype(np.uint16)
    Image.fromarray(instances).save(f'{prefix}instanceIds.png')
    if anomalies:
        Image.fromarray(anomaly_mask(polygons, np.asarray(train_ids))).save(
            gt_dir / f'{stem}{ANOMALY_SUFFIX}')


def _add_anomalies(seed: int, split: str, index: int, img: np.ndarray,
                   doc: dict) -> tuple[np.ndarray, dict, list]:
    """The scene with anomalies on its road (:mod:`.anomalies`), drawn from a stream of
    their own; they join the polygons as 'unlabeled' (void), drawn last, on top."""
    rng = np.random.default_rng([seed, tuple(SPLIT_CITIES).index(split), index, 1])
    annotation = Annotation()
    annotation.fromJsonText(json.dumps(doc))
    polygons = anomaly_polygons(rng, np.asarray(createLabelImage(annotation, 'ids')))
    doc = {**doc, 'objects': doc['objects'] + [
        {'label': 'unlabeled', 'polygon': [list(p) for p in poly]} for poly in polygons]}
    return paint_anomalies(rng, img, polygons), doc, polygons


def _generation_args(num_train: int = 24, num_val: int = 8, num_test: int = 4,
                     size: tuple[int, int] = (512, 256), seed: int = 0,
                     style: str = 'day', anomalies: bool = False) -> dict:
    """The arguments that determine the output (not nproc), as stored in the marker file
    (``style`` only when not the plain 'day' and ``anomalies`` only when set, so datasets made
    before either existed are still recognised)."""
    width, height = (int(v) for v in size)
    if width < 32 or height < 16:
        raise ValueError(f'size must be at least 32x16 (width, height), got {size}')
    counts = (num_train, num_val, num_test)
    if any(int(n) < 0 for n in counts):
        raise ValueError(f'image counts must be >= 0, got {counts}')
    args = {'version': GENERATOR_VERSION, 'num_train': int(num_train), 'num_val': int(num_val),
            'num_test': int(num_test), 'size': [width, height], 'seed': int(seed)}
    if check_style(style) != 'day':
        args['style'] = style
    if anomalies:
        args['anomalies'] = True
    return args


def _made_files(args: dict) -> set[str]:
    """The paths (relative, posix) that generating ``args`` writes, the marker included."""
    made = {MARKER_NAME}
    for split, count in zip(SPLIT_CITIES, (args['num_train'], args['num_val'],
                                           args['num_test'])):
        for index in range(count):
            city, stem = _sample_stem(split, index)
            made.add(f'leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png')
            if split != 'test':
                made.update(f'gtFine/{split}/{city}/{stem}_gtFine_{suffix}' for suffix in (
                    'polygons.json', 'labelIds.png', 'labelTrainIds.png', 'color.png',
                    'instanceIds.png'))
                if args.get('anomalies'):
                    made.add(f'gtFine/{split}/{city}/{stem}{ANOMALY_SUFFIX}')
    return made


def _check_replaceable(out_dir: Path, args: dict) -> None:
    """Refuse to replace ``out_dir`` unless it is empty or holds exactly a synthetic dataset's
    files (per its marker), so that nothing this generator did not make is ever deleted.

    Raises:
        FileExistsError: naming the folder, how its settings differ from ``args`` and the
            files the generator did not make.
    """
    if not out_dir.exists() or not any(out_dir.iterdir()):
        return
    present = {p.relative_to(out_dir).as_posix() for p in out_dir.rglob('*')
               if not p.is_dir() or p.is_symlink()}
    try:
        made_with = json.loads((out_dir / MARKER_NAME).read_text())
        foreign = sorted(present - _made_files(made_with))
    except (OSError, ValueError, KeyError, TypeError):
        raise FileExistsError(
            f'{out_dir} is not empty and is not a synthetic dataset (no valid {MARKER_NAME}): '
            f'refusing to replace it; it holds e.g. {sorted(present)[:5]}. Choose another '
            'folder for the synthetic data') from None
    if foreign:
        differs = {k: (made_with.get(k), v) for k, v in args.items() if made_with.get(k) != v}
        raise FileExistsError(
            f'{out_dir} is a synthetic dataset made with other settings '
            f'({", ".join(f"{k}={old} here, {new} asked" for k, (old, new) in differs.items())})'
            f' and holds {len(foreign)} files the generator did not make, e.g. {foreign[:5]}: '
            'refusing to replace it. Move those files out, or choose another folder')


def generate_synthetic_cityscapes(out_dir: str | Path, num_train: int = 24, num_val: int = 8,
                                  num_test: int = 4, size: tuple[int, int] = (512, 256),
                                  seed: int = 0, nproc: int = 1, style: str = 'day',
                                  anomalies: bool = False) -> Path:
    """Write a synthetic dataset in the Cityscapes layout under ``out_dir`` and return it.

    ``size`` is (width, height). ``train``/``val`` get ``leftImg8bit`` images and all ``gtFine``
    files (polygons json, labelIds, labelTrainIds, color, instanceIds); ``test`` gets images only,
    since the official test labels are dummies. ``style`` (see :mod:`.styles`: 'day', 'night',
    'fog') changes the images' look only; the labels are those of 'day'. With ``anomalies``,
    every labelled image also gets objects no label covers on its road and a
    ``*_gtFine_anomaly.png`` (:mod:`.anomalies`). An earlier synthetic dataset in ``out_dir``
    is replaced; a non-empty directory without our marker, or holding any file the generator
    did not make, is refused (:func:`_check_replaceable`), so neither a real Cityscapes copy
    nor a file a user put there is ever deleted. The marker (the generation arguments as json)
    is written last.
    """
    out_dir = Path(out_dir)
    args = _generation_args(num_train, num_val, num_test, size, seed, style, anomalies)
    _check_replaceable(out_dir, args)
    if (out_dir / MARKER_NAME).exists():
        (out_dir / MARKER_NAME).unlink()
        for sub in ('leftImg8bit', 'gtFine'):
            shutil.rmtree(out_dir / sub, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [(split, i) for split, n in zip(SPLIT_CITIES, (num_train, num_val, num_test))
             for i in range(n)]
    worker = partial(_write_sample, out_dir=out_dir, size=tuple(args['size']), seed=int(seed),
                     style=style, anomalies=bool(anomalies))
    if nproc > 1 and len(tasks) > 1:
        with Pool(min(nproc, len(tasks))) as pool:
            pool.map(worker, tasks, chunksize=max(1, len(tasks) // (4 * nproc)))
    else:
        for task in tasks:
            worker(task)
    (out_dir / MARKER_NAME).write_text(json.dumps(args, sort_keys=True))
    return out_dir


def _is_complete(out_dir: Path, args: dict) -> bool:
    try:
        return json.loads((out_dir / MARKER_NAME).read_text()) == args
    except (OSError, ValueError):
        return False


def ensure_synthetic_cityscapes(out_dir: str | Path, **kwargs) -> Path:
    """Return ``out_dir`` holding the synthetic dataset for ``kwargs``, generating it if needed.

    A dataset whose marker matches the arguments (nproc aside) is reused untouched. Otherwise it
    is generated into a temporary sibling directory and swapped in by renames
    (:func:`~cityseg.utils.fileio.atomic_output`), under a lock, so that readers and concurrent
    callers never see a half-written dataset. A synthetic dataset of other settings is
    replaced only when it holds nothing but the files it was generated with.
    """
    out_dir = Path(out_dir)
    args = _generation_args(**{k: v for k, v in kwargs.items() if k != 'nproc'})
    if _is_complete(out_dir, args):
        return out_dir
    # serialises generators of one directory (e.g. the ranks of a distributed launch); the
    # lock lives in cityseg's lock folder, not beside the user's data root
    with FileLock(lock_path(out_dir)):
        if _is_complete(out_dir, args):  # another process finished while we waited
            return out_dir
        _check_replaceable(out_dir, args)
        with atomic_output(out_dir) as tmp:
            generate_synthetic_cityscapes(tmp, **kwargs)
    return out_dir
