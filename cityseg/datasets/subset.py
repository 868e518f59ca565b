"""A labelled subset of a dataset, by split file or by fraction + seed, or the rest of it.

Semi-supervised segmentation is benchmarked on fixed labelled subsets (UniMatch publishes its
Cityscapes 1/16 .. 1/2 splits as files); the images left out are the unlabelled source. The
same arguments with ``complement=True`` give exactly that rest, and ``SemiSplitDataset`` builds
both halves from one split, so a config names one subset and both halves follow from it.
"""
from __future__ import annotations

import os.path as osp

import numpy as np
from mmengine.dataset import BaseDataset

from cityseg.registry import DATASETS

from .multi_source import MultiSourceDataset


def read_split_file(path: str) -> list[tuple[int, str]]:
    """``(line number, image stem)`` of each entry of a split file.

    An entry is the first whitespace-separated token of a non-empty, non-``#`` line: an image
    stem (``aachen_000000_000019``) or an image path, as in UniMatch's splits
    (``leftImg8bit/train/aachen/aachen_000000_000019_leftImg8bit.png gtFine/...``), whose file
    name is reduced to its stem by :func:`_stem_of`.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'split file not found: {path}')
    entries = []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            token = line.split('#', 1)[0].split()
            if token:
                entries.append((number, _stem_of(token[0])))
    if not entries:
        raise ValueError(f'split file {path} names no image')
    return entries


def _stem_of(entry: str) -> str:
    name = osp.basename(entry)
    for suffix in ('_leftImg8bit.png', '.png', '.jpg', '.jpeg'):
        if name.endswith(suffix):
            return name[:-len(suffix)]
    return name


def select_indices(stems: list[str], split_file: str | None = None,
                   fraction: float | None = None, seed: int = 0) -> list[int]:
    """Sorted indices into ``stems`` of the subset a split file names, or of a random
    ``fraction`` of them (at least one) drawn with ``seed``.

    Raises:
        ValueError: neither or both of ``split_file`` and ``fraction``; a fraction outside
            (0, 1]; a split-file entry naming no image of the dataset (file, line and stem).
    """
    if (split_file is None) == (fraction is None):
        raise ValueError('give exactly one of split_file and fraction for the labelled subset, '
                         f'got split_file={split_file!r}, fraction={fraction!r}')
    if split_file is not None:
        where = {stem: i for i, stem in enumerate(stems)}
        missing = [(n, s) for n, s in read_split_file(split_file) if s not in where]
        if missing:
            shown = ', '.join(f'line {n}: {s!r}' for n, s in missing[:3])
            raise ValueError(f'split file {split_file} names {len(missing)} images the dataset '
                             f'({len(stems)} images) does not hold; {shown}')
        return sorted({where[s] for _, s in read_split_file(split_file)})
    if not 0 < fraction <= 1:
        raise ValueError(f'fraction must be in (0, 1], got {fraction!r}')
    count = max(1, int(round(fraction * len(stems))))
    chosen = np.random.default_rng(seed).choice(len(stems), size=count, replace=False)
    return sorted(int(i) for i in chosen)


@DATASETS.register_module(name='SubsetDataset')
def subset_dataset(dataset: dict | BaseDataset, split_file: str | None = None,
                   fraction: float | None = None, seed: int = 0,
                   complement: bool = False) -> BaseDataset:
    """``dataset`` reduced to the images a split file names (or a ``fraction`` drawn with
    ``seed``), or with ``complement=True`` to all the others: ``type='SubsetDataset'``.

    A builder, not a wrapper class: it returns the dataset itself (mmengine's ``get_subset_``),
    so mmengine's ``ConcatDataset``, which takes only ``BaseDataset`` objects, and every tool
    that reads a dataset's samples see an ordinary dataset. Samples are matched by their
    ``stem`` (the image file name without its suffix); labels are loaded or not as the dataset
    says, so the unlabelled rest is usually the same dataset with ``with_labels=False``.

    Args:
        dataset: the dataset (config dict or object) to take the subset of.
        split_file: a text file, one image stem or image path per line (UniMatch's format).
        fraction: the share of images to keep, drawn without replacement with ``seed``.
        seed: the draw's seed (the same in the labelled and the ``complement`` config).
        complement: keep the images the subset does not hold instead.
    """
    dataset = DATASETS.build(dataset) if isinstance(dataset, dict) else dataset
    dataset.full_init()
    stems = [dataset.get_data_info(i)['stem'] for i in range(len(dataset))]
    chosen = select_indices(stems, split_file, fraction, seed)
    if complement:
        kept = set(chosen)
        chosen = [i for i in range(len(stems)) if i not in kept]
        if not chosen:
            raise ValueError(f'the complement of the labelled subset is empty: split_file='
                             f'{split_file!r}, fraction={fraction!r} holds all {len(stems)} '
                             'images')
    dataset.get_subset_(chosen)
    return dataset


@DATASETS.register_module(name='SemiSplitDataset')
def semi_split_dataset(labelled: dict | BaseDataset, unlabelled: dict | BaseDataset,
                       split_file: str | None = None, fraction: float | None = None,
                       seed: int = 0) -> BaseDataset:
    """The labelled subset of a dataset and the rest of it unlabelled, as one
    :class:`~cityseg.datasets.MultiSourceDataset`: ``type='SemiSplitDataset'``.

    One split decides both halves, so a published split file is one config key:
    ``--cfg-options train_dataloader.dataset.split_file=splits/cityscapes/1_16/labeled.txt``.
    A ``split_file`` given takes the place of ``fraction`` (a config's default draw gives way
    to it); without one, ``fraction`` images are drawn with ``seed``.

    Args:
        labelled: the dataset with labels (and the labelled pipeline).
        unlabelled: the same images without labels (``with_labels=False``, the unlabelled
            pipeline); its complement of the subset is the unlabelled source.
        split_file: a split file naming the labelled images (UniMatch's format).
        fraction, seed: the share of images labelled and the draw's seed, without a split file.
    """
    if split_file is not None:
        fraction = None
    return MultiSourceDataset([
        subset_dataset(labelled, split_file, fraction, seed),
        subset_dataset(unlabelled, split_file, fraction, seed, complement=True)])
