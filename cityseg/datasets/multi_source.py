"""Labelled and unlabelled (or source and target) datasets combined for one train loader."""
from __future__ import annotations

from collections.abc import Sequence

from mmengine.dataset import BaseDataset, ConcatDataset

from cityseg.registry import DATASETS


@DATASETS.register_module()
class MultiSourceDataset(ConcatDataset):
    """mmengine's ``ConcatDataset`` whose sources must share their classes.

    The first dataset is the labelled one (the source domain), the others unlabelled
    (targets); :class:`~cityseg.datasets.samplers.MultiSourceSampler` draws each batch from
    them in a configured ratio. Other metainfo (palettes, names) may differ: a GTA5 source and
    a Cityscapes target describe the same 19 classes. Different classes would train the model
    on pseudo-labels of one label set as if they were another's, so they are an error naming
    both datasets and their classes.
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


def labelled_part(dataset):
    """The dataset whose labels class statistics describe: a :class:`MultiSourceDataset`'s
    first (labelled, source) dataset, any other dataset itself."""
    return dataset.datasets[0] if isinstance(dataset, MultiSourceDataset) else dataset
