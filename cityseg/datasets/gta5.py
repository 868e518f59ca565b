"""GTA5 (Richter et al., "Playing for Data", ECCV 2016): 24,966 game frames with Cityscapes
label ids, the usual source domain of GTA5 -> Cityscapes adaptation."""
from __future__ import annotations

import os.path as osp

from cityseg.registry import DATASETS

from .paired import CityscapesClassesDataset, pair_labels


@DATASETS.register_module()
class GTA5Dataset(CityscapesClassesDataset):
    """GTA5 as its download unpacks: ``images/*.png`` with ``labels/*.png`` of the same name.

    The labels are palette PNGs whose indices are Cityscapes label ids (read as labelIds and
    mapped to the 19 train ids, the rest void). DAFormer's ``tools/convert_datasets/gta.py``
    writes ``labels/*_labelTrainIds.png`` beside them; with ``label_type='auto'`` those are
    used when every image has one. Layout as lhoyer/DAFormer ``mmseg/datasets/gta.py``
    (``img_dir='images'``, ``ann_dir='labels'``, ``.png``) reads it. GTA5 has no splits: the
    whole set is the source (``split`` is accepted for config symmetry, ``'train'`` only).

    Args:
        data_root: the GTA5 root (holding ``images/`` and ``labels/``).
        label_type: ``'labelIds'`` (the raw palette PNGs), ``'labelTrainIds'`` (converted),
            or ``'auto'``.
        **kwargs: see :class:`.CityscapesClassesDataset`.
    """

    img_suffix = '.png'
    depth = 0
    root_hint = ('Set data_root (or the GTA5_DATASET environment variable) to the folder that '
                 'holds images/ and labels/.')
    _suffixes = {'labelIds': '.png', 'labelTrainIds': '_labelTrainIds.png'}

    def __init__(self, data_root: str, split: str = 'train', label_type: str = 'auto',
                 **kwargs) -> None:
        if split != 'train':
            raise ValueError(f"GTA5 has one split, 'train' (the whole set), got split={split!r}")
        if label_type not in ('auto', *self._suffixes):
            raise ValueError(f"label_type must be 'auto', 'labelIds' or 'labelTrainIds', "
                             f'got {label_type!r}')
        self.label_type = label_type
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def cache_prefix(self) -> str:
        return 'gta5'

    def folders(self) -> list[tuple[str, str]]:
        return [(osp.join(self.data_root, 'images'), osp.join(self.data_root, 'labels'))]

    def label_spec(self, img_paths: list[str], img_dir: str, label_dir: str) -> tuple[str, dict]:
        label_type = self.label_type
        if label_type == 'auto':
            _, missing = pair_labels(img_paths, img_dir, self.img_suffix, label_dir,
                                     self._suffixes['labelTrainIds'])
            label_type = 'labelIds' if missing else 'labelTrainIds'
        return self._suffixes[label_type], dict(label_type=label_type)
