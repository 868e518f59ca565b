"""Labelled and unlabelled (or source and target) datasets combined for one train loader."""
from __future__ import annotations

from collections.abc import Sequence

from mmengine.dataset import BaseDataset, ConcatDataset

from cityseg.registry import DATASETS
from cityseg.structures import partner_branch
from cityseg.utils.errors import CitysegTypeError


@DATASETS.register_module()
class MultiSourceDataset(ConcatDataset):
    """mmengine's ``ConcatDataset`` whose sources must share their classes.

    The first dataset is the labelled one (the source domain), the others unlabelled
    (targets); :class:`~cityseg.datasets.samplers.MultiSourceSampler` draws each batch from
    them in a configured ratio. Other metainfo (palettes, names) may differ: a GTA5 source and
    a Cityscapes target describe the same 19 classes. Different classes would train the model
    on pseudo-labels of one label set as if they were another's, so they are an error naming
    both datasets and their classes.

    Besides a plain index it reads the ``(index, partner)`` pairs of
    ``MultiSourceSampler(mix_partners=True)``: the sample at ``index`` with the views of the
    sample at ``partner`` (its mix partner, None for labelled samples) packed beside its own
    (:meth:`with_partner`).
    """

    def __init__(self, datasets: Sequence[dict | BaseDataset], lazy_init: bool = False) -> None:
        built = [DATASETS.build(d) if isinstance(d, dict) else d for d in datasets]
        if len(built) < 2:
            raise ValueError(f'MultiSourceDataset needs at least two datasets (labelled, '
                             f'unlabelled), got {len(built)}')
        first = tuple(built[0].metainfo.get('classes') or ())
        for i, dataset in enumerate(built[1:], 1):
            classes = tuple(dataset.metainfo.get('classes') or ())
            if classes != first:
                raise ValueError(
                    f'datasets[{i}] ({type(dataset).__name__}) has classes {classes} but '
                    f'datasets[0] ({type(built[0]).__name__}) has {first}: source and target '
                    'must use one label set (map one onto the other, e.g. with '
                    'SegFolderDataset label_map, or set the unlabelled one\'s metainfo)')
        keys = set().union(*(d.metainfo.keys() for d in built)) - {'classes'}
        super().__init__(built, lazy_init=lazy_init, ignore_keys=sorted(keys))

    def __getitem__(self, idx: int | tuple[int, int | None]) -> dict:
        if not isinstance(idx, tuple):
            return super().__getitem__(idx)
        index, partner = idx
        return self.with_partner(super().__getitem__(index),
                                 None if partner is None else super().__getitem__(partner))

    @staticmethod
    def with_partner(row: dict, partner: dict | None) -> dict:
        """``row`` (a :class:`~cityseg.datasets.MultiBranch` output) with every branch's
        partner branch added: the partner's view of that branch, or None. Every row of a
        batch gets the same branches, as collation needs."""
        if not isinstance(row.get('inputs'), dict):
            raise CitysegTypeError(
                'mix partners (MultiSourceSampler mix_partners=True) need every '
                'pipeline to end with MultiBranch')
        for part in ('inputs', 'data_samples'):
            row[part].update({partner_branch(branch): None if partner is None
                              else partner[part][branch] for branch in list(row[part])})
        return row


def labelled_part(dataset):
    """The dataset whose labels class statistics describe: a :class:`MultiSourceDataset`'s
    first (labelled, source) dataset, any other dataset itself."""
    return dataset.datasets[0] if isinstance(dataset, MultiSourceDataset) else dataset
