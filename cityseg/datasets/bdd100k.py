"""BDD100K semantic segmentation (the 10k-image subset, Cityscapes' 19 classes)."""
from __future__ import annotations

import os.path as osp

from cityseg.registry import DATASETS

from .paired import CityscapesClassesDataset


@DATASETS.register_module()
class BDD100KDataset(CityscapesClassesDataset):
    """BDD100K as ``bdd100k_images_10k.zip`` and ``bdd100k_sem_seg_labels_trainval.zip``
    unpack: ``images/10k/<split>/*.jpg`` images with ``labels/sem_seg/masks/<split>/*.png``
    labels, in Cityscapes' 19 train ids (255 = void). ``test`` has no public labels.

    The layout follows mmsegmentation's ``projects/bdd100k_dataset``
    (``docs/en/user_guides/2_dataset_prepare.md``, ``configs/_base_/datasets/bdd100k.py``:
    ``images/10k/val`` / ``labels/sem_seg/masks/val``; ``mmseg/datasets/bdd100k.py``:
    ``.jpg`` / ``.png``) and the BDD100K documentation (https://doc.bdd100k.com/).

    Args:
        data_root: the BDD100K root (holding ``images/`` and ``labels/``).
        split: ``'train'``, ``'val'`` or ``'test'``.
        **kwargs: see :class:`.CityscapesClassesDataset` (``with_labels``, ``cache_dir``,
            ``pipeline``...).
    """

    img_suffix = '.jpg'
    label_suffix = '.png'
    depth = 0
    root_hint = ('Set data_root (or the BDD100K_DATASET environment variable) to the folder '
                 'that holds images/10k/ and labels/sem_seg/masks/.')

    @property
    def cache_prefix(self) -> str:
        return f'bdd100k-{self.split}'

    def folders(self) -> list[tuple[str, str]]:
        return [(osp.join(self.data_root, 'images', '10k', self.split),
                 osp.join(self.data_root, 'labels', 'sem_seg', 'masks', self.split))]
