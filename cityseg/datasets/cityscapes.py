"""The Cityscapes dataset as the official download lays it out."""
from __future__ import annotations

import os.path as osp

from cityseg.registry import DATASETS

from .paired import CityscapesClassesDataset, pair_labels

IMG_SUFFIX = '_leftImg8bit.png'
LABEL_SUFFIXES = {'labelIds': '_gtFine_labelIds.png', 'labelTrainIds': '_gtFine_labelTrainIds.png'}
# gtFine: the 5,000 finely annotated images; gtCoarse: 20k coarse ones (train, train_extra, val)
ANNOTATIONS = ('gtFine', 'gtCoarse')


@DATASETS.register_module()
class CityscapesDataset(CityscapesClassesDataset):
    """Cityscapes fine annotations: ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` images with
    ``gtFine/<split>/<city>/*_gtFine_{labelIds,labelTrainIds}.png`` labels.

    Args:
        data_root: the Cityscapes root (the folder holding ``leftImg8bit`` and ``gtFine``).
        split: ``'train'``, ``'val'`` or ``'test'``.
        label_type: ``'labelIds'`` (the official 34 ids, mapped to train ids by the label loader),
            ``'labelTrainIds'`` (files made by ``tools/convert_cityscapes.py``), or ``'auto'``:
            labelTrainIds when every image has one, else labelIds.
        annotation: ``'gtFine'`` or ``'gtCoarse'`` (the coarse polygons of ``train_extra``,
            ``train`` and ``val``; pixels they leave unlabelled are void, i.e. ignored).
        with_labels: whether to pair each image with its label. ``None`` means all splits but
            ``test``, whose labels are not public. A missing label is an error, never a skip.
        cache_dir: if set, the pipeline's leading ``cacheable`` transforms (loading, resizing)
            run once per sample into a memory-mapped file in this directory, shared by all
            dataloader workers (see :mod:`cityseg.datasets.cache`); it needs about 8 MiB per
            full-resolution sample, logged when built.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset` (``pipeline``,
            ``test_mode``, ``indices``, ``serialize_data``, ``lazy_init``...).
    """

    img_suffix = IMG_SUFFIX
    root_hint = ('Set data_root (or the CITYSCAPES_DATASET environment variable) to the folder '
                 'that holds leftImg8bit/ and gtFine/.')

    def __init__(self, data_root: str, split: str = 'train', label_type: str = 'auto',
                 with_labels: bool | None = None, cache_dir: str | None = None,
                 annotation: str = 'gtFine', **kwargs) -> None:
        if label_type not in ('auto', *LABEL_SUFFIXES):
            raise ValueError(f"label_type must be 'auto', 'labelIds' or 'labelTrainIds', "
                             f'got {label_type!r}')
        if annotation not in ANNOTATIONS:
            raise ValueError(f'annotation must be one of {ANNOTATIONS}, got {annotation!r}')
        self.label_type = label_type
        self.annotation = annotation
        super().__init__(data_root=data_root, split=split, with_labels=with_labels,
                         cache_dir=cache_dir, **kwargs)

    @property
    def img_dir(self) -> str:
        return osp.join(self.data_root, 'leftImg8bit', self.split)

    @property
    def label_dir(self) -> str:
        return osp.join(self.data_root, self.annotation, self.split)

    def folders(self) -> list[tuple[str, str]]:
        return [(self.img_dir, self.label_dir)]

    def label_spec(self, img_paths: list[str], img_dir: str, label_dir: str) -> tuple[str, dict]:
        """'auto' prefers labelTrainIds only when the conversion covered every image."""
        label_type = self.label_type
        if label_type == 'auto':
            _, missing = pair_labels(img_paths, img_dir, IMG_SUFFIX, label_dir,
                                     self._label_suffix('labelTrainIds'))
            label_type = 'labelIds' if missing else 'labelTrainIds'
        return self._label_suffix(label_type), dict(label_type=label_type)

    def _label_suffix(self, label_type: str) -> str:
        return LABEL_SUFFIXES[label_type].replace('_gtFine_', f'_{self.annotation}_')
