"""Batches drawn from several datasets in a fixed ratio (labelled : unlabelled, source : target)."""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

import torch
from mmengine.dataset import ConcatDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from cityseg.registry import DATA_SAMPLERS
from cityseg.utils.errors import CitysegTypeError

from .class_stats import dataset_num_classes, label_files, per_image_class_counts
from .multi_source import MultiSourceDataset
from .rare_class import RareClassStream


def samples_per_source(batch_size: int, source_ratio: Sequence[float]) -> list[int]:
    """How many of ``batch_size`` samples each source gives: proportional to ``source_ratio``,
    every source at least one, the rounding remainder to the first (labelled) source."""
    if batch_size < len(source_ratio):
        raise ValueError(f'batch_size {batch_size} cannot hold one sample of each of '
                         f'{len(source_ratio)} sources (source_ratio={list(source_ratio)})')
    if not source_ratio or any(r <= 0 for r in source_ratio):
        raise ValueError(f'source_ratio must be positive numbers, got {list(source_ratio)}')
    total = sum(source_ratio)
    counts = [max(1, int(batch_size * r / total)) for r in source_ratio]
    counts[0] = batch_size - sum(counts[1:])
    if counts[0] < 1:
        raise ValueError(f'source_ratio {list(source_ratio)} leaves no labelled sample in a '
                         f'batch of {batch_size}')
    return counts


@DATA_SAMPLERS.register_module()
class MultiSourceSampler(Sampler):
    """An infinite sampler over a ``ConcatDataset`` whose every ``batch_size`` consecutive
    indices hold :func:`samples_per_source` samples of each source, in source order.

    As mmdetection's sampler of the same name: each source is an endless stream of its own
    shuffled epochs, split among ranks, so a small labelled set repeats while a large
    unlabelled one goes on. The streams restart from the seed on every ``iter()``, so
    mmengine's resume (which replays the batches already trained on) continues exactly.
    The dataloader's ``batch_size`` must equal this ``batch_size``; a config writes it once,
    as the dataloader's, and :func:`~cityseg.utils.load_config` gives it to the sampler.

    With ``mix_partners=True`` every unlabelled (target) sample comes with a mix partner:
    another sample of its dataset from a stream of its own (UniMatch's second unlabelled
    loader; a sample is never its own partner). Indices are then ``(index, partner)`` pairs,
    ``(index, None)`` for the labelled source, which :class:`.MultiSourceDataset` reads: it
    packs the partner's views beside the sample's own
    (:func:`~cityseg.structures.partner_branch`). The partners are drawn here, from the
    seed, so a resumed run draws the same ones.

    Args:
        dataset: a ``ConcatDataset`` (:class:`.MultiSourceDataset`).
        batch_size: samples per batch and rank.
        source_ratio: relative share of each source in a batch, e.g. ``[1, 1]``.
        shuffle: shuffle each source's epochs.
        seed: the shuffling seed; ``None`` draws one, shared by all ranks.
        rare_class_sampling: ``dict(temperature=0.01, min_pixels=3000)`` draws the first
            (labelled, source) dataset's samples by DAFormer's rare-class sampling
            (:mod:`cityseg.datasets.rare_class`) instead of in shuffled epochs, from its
            per-image class counts (counted once, cached in ``class_stats_file``).
        class_stats_file: where the counts are cached (e.g. in the work dir); None: not cached.
        mix_partners: draw a mix partner for every unlabelled sample (CutMix between
            unlabelled images: FixMatch, UniMatch).
    """

    def __init__(self, dataset: ConcatDataset, batch_size: int, source_ratio: Sequence[float],
                 shuffle: bool = True, seed: int | None = None,
                 rare_class_sampling: dict | None = None,
                 class_stats_file: str | None = None, mix_partners: bool = False) -> None:
        if not hasattr(dataset, 'cumulative_sizes'):
            raise CitysegTypeError(
                f'MultiSourceSampler needs a ConcatDataset (MultiSourceDataset), '
                f'got {type(dataset).__name__}')
        if len(source_ratio) != len(dataset.datasets):
            raise ValueError(f'source_ratio {list(source_ratio)} has {len(source_ratio)} '
                             f'entries for {len(dataset.datasets)} datasets')
        self.dataset = dataset
        self.batch_size = batch_size
        self.num_per_source = samples_per_source(batch_size, source_ratio)
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.rank, self.world_size = get_dist_info()
        self.offsets = [0, *dataset.cumulative_sizes[:-1]]
        self.sizes = [len(d) for d in dataset.datasets]
        self.mix_partners = mix_partners
        if mix_partners:
            _check_partners_possible(dataset, self.sizes)
        self.rare_class = None
        if rare_class_sampling is not None:
            self.rare_class = _rare_class_stream(dataset.datasets[0], dict(rare_class_sampling),
                                                 class_stats_file)

    def _source_stream(self, source: int, partners: bool = False) -> Iterator[int]:
        """Source ``source``'s endless stream of indices, or the stream of its mix partners
        (seeded apart: streams numbered after the sources)."""
        generator = torch.Generator()
        stream = source + len(self.sizes) if partners else source
        generator.manual_seed(self.seed + 7919 * stream)  # one stream per source
        size = self.sizes[source]
        if source == 0 and self.rare_class is not None and not partners:
            return itertools.islice(self.rare_class(generator), self.rank, None,
                                    self.world_size)

        def epochs() -> Iterator[int]:
            while True:
                order = torch.randperm(size, generator=generator) if self.shuffle \
                    else torch.arange(size)
                yield from order.tolist()

        return itertools.islice(epochs(), self.rank, None, self.world_size)

    def __iter__(self) -> Iterator[int | tuple[int, int | None]]:
        sources = range(len(self.sizes))
        streams = [self._source_stream(s) for s in sources]
        partners = [self._source_stream(s, partners=True) if self.mix_partners and s else None
                    for s in sources]
        while True:
            for stream, partner, offset, count in zip(streams, partners, self.offsets,
                                                      self.num_per_source):
                for index in itertools.islice(stream, count):
                    if not self.mix_partners:
                        yield offset + index
                    elif partner is None:
                        yield offset + index, None
                    else:
                        yield offset + index, offset + _other_than(index, partner)

    def __len__(self) -> int:
        return len(self.dataset)

    def set_epoch(self, epoch: int) -> None:
        """Nothing to do: the streams are endless (mmengine calls it at every epoch)."""


def _other_than(index: int, stream: Iterator[int]) -> int:
    """The next index of ``stream`` that is not ``index``."""
    other = next(stream)
    while other == index:
        other = next(stream)
    return other


def _check_partners_possible(dataset: ConcatDataset, sizes: list[int]) -> None:
    """Mix partners need a dataset that reads ``(index, partner)`` pairs and at least two
    samples in every unlabelled source."""
    if not isinstance(dataset, MultiSourceDataset):
        raise CitysegTypeError(
            f'MultiSourceSampler mix_partners=True needs a MultiSourceDataset, '
            f'got {type(dataset).__name__}')
    small = [s for s, size in enumerate(sizes) if s and size < 2]
    if small:
        raise ValueError(f'MultiSourceSampler mix_partners=True: datasets {small} hold fewer '
                         'than 2 samples, so a sample would be mixed with itself')


def _rare_class_stream(dataset, cfg: dict, cache_file: str | None) -> RareClassStream:
    """The rare-class stream of ``dataset`` from its labels' per-image class counts."""
    unknown = sorted(set(cfg) - {'temperature', 'min_pixels'})
    if unknown:
        raise ValueError(f'rare_class_sampling takes temperature and min_pixels, got {unknown}')
    counts = per_image_class_counts(label_files(dataset), dataset_num_classes(dataset),
                                    cache_file=cache_file)
    return RareClassStream(counts, **cfg)
