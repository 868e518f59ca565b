"""SYNTHIA-RAND-CITYSCAPES (Ros et al., CVPR 2016): 9,400 rendered frames, the second usual
source domain of synthetic -> Cityscapes adaptation."""
from __future__ import annotations

import os.path as osp

from cityseg.registry import DATASETS

from .paired import CityscapesClassesDataset, pair_labels
from .synthia_labels import PROTOCOL_CLASSES


@DATASETS.register_module()
class SynthiaDataset(CityscapesClassesDataset):
    """SYNTHIA-RAND-CITYSCAPES as it unpacks: ``RGB/*.png`` with ``GT/LABELS/*.png`` labels
    (16-bit, the class id in the R channel; :mod:`.synthia_labels` maps them to Cityscapes'
    train ids). ``label_type='auto'`` uses DAFormer's converted
    ``GT/LABELS/*_labelTrainIds.png`` when every image has one. Layout as lhoyer/DAFormer
    ``mmseg/datasets/synthia.py`` and ``tools/convert_datasets/synthia.py`` read it.

    Labels keep Cityscapes' 19 train ids (terrain, truck and train never occur), so a SYNTHIA
    source combines with a Cityscapes target. ``protocol`` (16 or 13) names the classes the
    literature's mIoU16 / mIoU13 average over, stored as ``metainfo['protocol_classes']``.

    Args:
        data_root: the SYNTHIA-RAND-CITYSCAPES root (holding ``RGB/`` and ``GT/LABELS/``).
        protocol: 16 or 13.
        label_type: ``'synthiaIds'`` (raw), ``'labelTrainIds'`` (converted) or ``'auto'``.
        **kwargs: see :class:`.CityscapesClassesDataset`.
    """

    img_suffix = '.png'
    depth = 0
    root_hint = ('Set data_root (or the SYNTHIA_DATASET environment variable) to the '
                 'SYNTHIA-RAND-CITYSCAPES folder that holds RGB/ and GT/LABELS/.')
    _suffixes = {'synthiaIds': '.png', 'labelTrainIds': '_labelTrainIds.png'}

    def __init__(self, data_root: str, split: str = 'train', protocol: int = 16,
                 label_type: str = 'auto', **kwargs) -> None:
        if split != 'train':
            raise ValueError(f"SYNTHIA has one split, 'train' (the whole set), got {split!r}")
        if protocol not in PROTOCOL_CLASSES:
            raise ValueError(f'SYNTHIA protocol must be one of {sorted(PROTOCOL_CLASSES)} '
                             f'classes, got {protocol!r}')
        if label_type not in ('auto', *self._suffixes):
            raise ValueError(f"label_type must be 'auto', 'synthiaIds' or 'labelTrainIds', "
                             f'got {label_type!r}')
        self.protocol, self.label_type = protocol, label_type
        super().__init__(data_root=data_root, split=split, **kwargs)
        self._metainfo['protocol_classes'] = PROTOCOL_CLASSES[protocol]

    @property
    def cache_prefix(self) -> str:
        return 'synthia'

    def folders(self) -> list[tuple[str, str]]:
        return [(osp.join(self.data_root, 'RGB'), osp.join(self.data_root, 'GT', 'LABELS'))]

    def label_spec(self, img_paths: list[str], img_dir: str, label_dir: str) -> tuple[str, dict]:
        label_type = self.label_type
        if label_type == 'auto':
            _, missing = pair_labels(img_paths, img_dir, self.img_suffix, label_dir,
                                     self._suffixes['labelTrainIds'])
            label_type = 'synthiaIds' if missing else 'labelTrainIds'
        return self._suffixes[label_type], dict(label_type=label_type)
