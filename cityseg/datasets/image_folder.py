"""Any folder of street images, without labels: the unlabelled source of semi-supervised and
domain-adaptive training (Cityscapes ``leftImg8bit_sequence``, a dash-cam dump, a target
domain's images)."""
from __future__ import annotations

from cityseg.registry import DATASETS

from .labels import CLASSES, PALETTE
from .paired import PairedSegDataset


@DATASETS.register_module()
class ImageFolderDataset(PairedSegDataset):
    """Every ``*<img_suffix>`` image under ``data_root`` (any depth, sorted), with no labels.

    Its ``classes`` are the run's (Cityscapes' 19 unless ``metainfo`` says otherwise), so that
    it combines with the labelled dataset in a :class:`.MultiSourceDataset`. An empty or
    missing folder is an error naming it.

    Args:
        data_root: the folder of images, e.g. ``<cityscapes>/leftImg8bit_sequence/train``.
        img_suffix: the images' file-name ending; ``_leftImg8bit.png`` keeps Cityscapes stems.
        **kwargs: see :class:`.PairedSegDataset` (``pipeline``, ``metainfo``, ``cache_dir``...).
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)
    depth = None
    root_hint = 'Set data_root to the folder holding the unlabelled images.'

    def __init__(self, data_root: str, img_suffix: str = '.png', **kwargs) -> None:
        self.img_suffix = img_suffix
        super().__init__(data_root=data_root, with_labels=False, **kwargs)

    def folders(self) -> list[tuple[str, str]]:
        return [(self.data_root, '')]
