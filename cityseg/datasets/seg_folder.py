"""Your own data: an image folder and a label folder, with your own classes and colours."""
from __future__ import annotations

import os.path as osp
from collections.abc import Mapping, Sequence

from cityseg.registry import DATASETS
from cityseg.utils.errors import CitysegTypeError

from .labels import IGNORE_INDEX
from .loading import class_id_tables
from .paired import PairedSegDataset, Suffix, suffix_family


@DATASETS.register_module()
class SegFolderDataset(PairedSegDataset):
    """Images ``<data_root>/<img_dir>/**/*<img_suffix>``, each with the label
    ``<data_root>/<ann_dir>/<same relative path><seg_map_suffix>``: single-channel 8-bit PNGs
    of class indices ``0..len(classes)-1``.

    ``img_suffix`` matches in any case, and a JPEG or TIFF extension matches its other
    spelling too: ``'.jpg'`` finds ``.jpg``, ``.JPG``, ``.jpeg`` and ``.JPEG`` images (photos
    from different cameras and tools mix them; an exact match would drop some without a word).
    Each image's label replaces the ending the image has; two images differing only in it
    (``a.jpg``, ``a.JPG``) are refused, naming both.

    Pairing is as strict as :class:`.CityscapesDataset`: an image without a label is an error
    naming the files (never a skipped sample), and the label loader refuses labels of another
    size than their image and values that are not classes, naming the file.

    ``classes`` and ``palette`` become the dataset's metainfo, which the Runner hands to the
    metric (the per-class table shows these names) and the visualizer; the model's
    ``num_classes`` must equal ``len(classes)`` (``configs/custom_dataset_example.py`` derives
    it; a config that states both differently is refused when it is loaded).

    Args:
        data_root: the folder that ``img_dir`` and ``ann_dir`` are relative to.
        img_dir: the image folder (searched recursively).
        ann_dir: the label folder, mirroring ``img_dir``; ``None`` for images without labels
            (prediction only).
        img_suffix: the images' file-name ending, e.g. ``'.jpg'`` or ``'_rgb.png'`` (any
            case; ``.jpg``/``.jpeg`` and ``.tif``/``.tiff`` alike).
        seg_map_suffix: the labels' file-name ending, replacing ``img_suffix``.
        classes: the class names, in class-index order.
        palette: one ``(R, G, B)`` colour per class.
        label_map: ``{value in the files: class index}`` for values stored otherwise (e.g.
            ``{0: 255, 1: 0, 2: 1}`` for files where 0 is void); other values are read as
            they are.
        ignore_index: the value (after ``label_map``) marking void pixels in the files; it is
            read as 255, the ignore value of the loss and the metric.
        **kwargs: see :class:`.PairedSegDataset` (``cache_dir``, ``pipeline``...).
    """

    depth = None

    def __init__(self, data_root: str, img_dir: str, ann_dir: str | None, img_suffix: str,
                 seg_map_suffix: str, classes: Sequence[str],
                 palette: Sequence[Sequence[int]],
                 label_map: Mapping[int, int] | None = None,
                 ignore_index: int = IGNORE_INDEX, **kwargs) -> None:
        if 'metainfo' in kwargs:
            raise CitysegTypeError('SegFolderDataset takes classes= and palette=, not metainfo=')
        classes, palette = tuple(classes), [tuple(c) for c in palette]
        if len(palette) != len(classes) or any(
                len(c) != 3 or not all(0 <= v <= 255 for v in c) for c in palette):
            raise ValueError(f'palette must hold one (R, G, B) colour of 0..255 per class: '
                             f'{len(classes)} classes {classes}, palette {palette}')
        label_map = {int(k): int(v) for k, v in (label_map or {}).items()}
        bad = {k: v for k, v in label_map.items() if not (0 <= k <= 255 and 0 <= v <= 255)}
        if bad:
            raise ValueError(f'label_map must map 8-bit values to 8-bit values, got {bad}')
        if not 0 <= ignore_index <= 255:
            raise ValueError(f'ignore_index must be an 8-bit value, got {ignore_index}')
        class_id_tables(len(classes))  # refuses a class count that 8-bit labels cannot hold
        self.img_dir = osp.join(data_root, img_dir)
        self.ann_dir = None if ann_dir is None else osp.join(data_root, ann_dir)
        self.img_suffix = img_suffix
        self.seg_map_suffix = seg_map_suffix
        self.label_fields = dict(label_type='classIds', num_classes=len(classes),
                                 label_map=sorted(label_map.items()), ignore_index=ignore_index)
        self.root_hint = f'Set data_root and img_dir so that this folder holds the *{img_suffix}.'
        super().__init__(data_root=data_root, with_labels=ann_dir is not None,
                         metainfo=dict(classes=classes, palette=palette), **kwargs)

    @property
    def cache_prefix(self) -> str:
        return osp.basename(osp.normpath(self.img_dir))

    @property
    def image_suffix(self) -> Suffix:
        return suffix_family(self.img_suffix)

    def folders(self) -> list[tuple[str, str | None]]:
        return [(self.img_dir, self.ann_dir)]

    def label_spec(self, img_paths: list[str], img_dir: str, label_dir: str) -> tuple[str, dict]:
        return self.seg_map_suffix, self.label_fields
