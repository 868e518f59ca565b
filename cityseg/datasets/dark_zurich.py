"""Dark Zurich: night-time driving in Zurich, with a labelled validation split."""
from __future__ import annotations

import os.path as osp

from cityseg.registry import DATASETS

from .paired import CityscapesClassesDataset


@DATASETS.register_module()
class DarkZurichDataset(CityscapesClassesDataset):
    """Dark Zurich as its download unpacks: ``rgb_anon/<split>/night/<sequence>/*_rgb_anon.png``
    images with ``gt/<split>/night/<sequence>/*_gt_labelTrainIds.png`` labels, in Cityscapes'
    19 train ids (255 = void). Only ``val`` is labelled (``Dark_Zurich_val_anon.zip``); the
    test split is ``Dark_Zurich_test_anon_withoutGt.zip``.

    The layout follows the dataset's page (https://www.trace.ethz.ch/publications/2019/
    GCMA_UIoU/) and mmsegmentation's ``mmseg/datasets/dark_zurich.py`` (suffixes
    ``_rgb_anon.png`` / ``_gt_labelTrainIds.png``) with ``configs/_base_/datasets/
    dark_zurich.py`` (folders ``rgb_anon/val/night/GOPR0356`` / ``gt/val/night/GOPR0356``).

    Args:
        data_root: the Dark Zurich root (holding ``rgb_anon/`` and ``gt/``).
        split: ``'val'`` (labelled) or ``'test'`` (images only).
        **kwargs: see :class:`.CityscapesClassesDataset` (``with_labels``, ``cache_dir``,
            ``pipeline``...).
    """

    img_suffix = '_rgb_anon.png'
    label_suffix = '_gt_labelTrainIds.png'
    unlabelled_splits = ('train', 'test')
    root_hint = ('Set data_root (or the DARK_ZURICH_DATASET environment variable) to the folder '
                 'that holds rgb_anon/ and gt/.')

    @property
    def cache_prefix(self) -> str:
        return f'dark_zurich-{self.split}'

    def folders(self) -> list[tuple[str, str]]:
        return [(osp.join(self.data_root, 'rgb_anon', self.split, 'night'),
                 osp.join(self.data_root, 'gt', self.split, 'night'))]
