"""ACDC, the Adverse Conditions Dataset with Correspondences (fog, night, rain, snow)."""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

from cityseg.registry import DATASETS

from .paired import CityscapesClassesDataset

CONDITIONS = ('fog', 'night', 'rain', 'snow')


@DATASETS.register_module()
class ACDCDataset(CityscapesClassesDataset):
    """ACDC as its download unpacks: ``rgb_anon/<condition>/<split>/<sequence>/*_rgb_anon.png``
    images with ``gt/<condition>/<split>/<sequence>/*_gt_labelTrainIds.png`` labels, in
    Cityscapes' 19 train ids (255 = void).

    The layout follows the dataset's site (https://acdc.vision.ee.ethz.ch/, packages
    ``rgb_anon_trainvaltest.zip`` and ``gt_trainval.zip``) and the loaders that read it, e.g.
    lhoyer/HRDA ``mmseg/datasets/acdc.py`` (suffixes ``_rgb_anon.png`` /
    ``_gt_labelTrainIds.png``) and w1oves/Rein ``configs/_base_/datasets/fog-acdc_1024x1024.py``
    (folders ``rgb_anon/fog/val`` / ``gt/fog/val``).

    Args:
        data_root: the ACDC root (holding ``rgb_anon/`` and ``gt/``).
        split: ``'train'``, ``'val'`` or ``'test'`` (no public labels).
        conditions: one condition or several, listed in this order.
        **kwargs: see :class:`.CityscapesClassesDataset` (``with_labels``, ``cache_dir``,
            ``pipeline``...).
    """

    img_suffix = '_rgb_anon.png'
    label_suffix = '_gt_labelTrainIds.png'
    root_hint = ('Set data_root (or the ACDC_DATASET environment variable) to the folder that '
                 'holds rgb_anon/ and gt/.')

    def __init__(self, data_root: str, split: str = 'val',
                 conditions: str | Sequence[str] = CONDITIONS, **kwargs) -> None:
        conditions = (conditions, ) if isinstance(conditions, str) else tuple(conditions)
        unknown = [c for c in conditions if c not in CONDITIONS]
        if unknown or not conditions:
            raise ValueError(f'ACDC conditions must be among {CONDITIONS}, got {conditions}')
        self.conditions = conditions
        super().__init__(data_root=data_root, split=split, **kwargs)

    @property
    def cache_prefix(self) -> str:
        return f'acdc-{"-".join(self.conditions)}-{self.split}'

    def folders(self) -> list[tuple[str, str]]:
        return [(osp.join(self.data_root, 'rgb_anon', c, self.split),
                 osp.join(self.data_root, 'gt', c, self.split)) for c in self.conditions]
