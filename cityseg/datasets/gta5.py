"""GTA5 (Richter et al., "Playing for Data", ECCV 2016): 24,966 game frames with Cityscapes
label ids, the usual source domain of GTA5 -> Cityscapes adaptation."""
from __future__ import annotations

import os.path as osp

from cityseg.registry import DATASETS

from .paired import ConvertedSourceDataset


@DATASETS.register_module()
class GTA5Dataset(ConvertedSourceDataset):
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
    raw_label_type = 'labelIds'
    dataset_name = 'GTA5'

    @property
    def cache_prefix(self) -> str:
        return 'gta5'

    def folders(self) -> list[tuple[str, str]]:
        return [(osp.join(self.data_root, 'images'), osp.join(self.data_root, 'labels'))]
