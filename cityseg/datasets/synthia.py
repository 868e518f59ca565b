"""SYNTHIA-RAND-CITYSCAPES (Ros et al., CVPR 2016): 9,400 rendered frames, the second usual
source domain of synthetic -> Cityscapes adaptation."""
from __future__ import annotations

import os.path as osp

from cityseg.registry import DATASETS

from .paired import ConvertedSourceDataset
from .synthia_labels import PROTOCOL_CLASSES


@DATASETS.register_module()
class SynthiaDataset(ConvertedSourceDataset):
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
    raw_label_type = 'synthiaIds'
    dataset_name = 'SYNTHIA'

    def __init__(self, data_root: str, split: str = 'train', protocol: int = 16,
                 label_type: str = 'auto', **kwargs) -> None:
        if protocol not in PROTOCOL_CLASSES:
            raise ValueError(f'SYNTHIA protocol must be one of {sorted(PROTOCOL_CLASSES)} '
                             f'classes, got {protocol!r}')
        self.protocol = protocol
        # through BaseDataset's own metainfo argument, which adds keys to METAINFO's
        metainfo = {**(kwargs.pop('metainfo', None) or {}),
                    'protocol_classes': PROTOCOL_CLASSES[protocol]}
        super().__init__(data_root=data_root, split=split, label_type=label_type,
                         metainfo=metainfo, **kwargs)

    @property
    def cache_prefix(self) -> str:
        return 'synthia'

    def folders(self) -> list[tuple[str, str]]:
        return [(osp.join(self.data_root, 'RGB'), osp.join(self.data_root, 'GT', 'LABELS'))]
