"""Loading transforms that fail loudly: a bad file stops training with its path in the error.

Decoding is the dominant cost of the pipeline on full 2048x1024 Cityscapes frames, so the
checks here use OpenCV's single-pass kernels (``calcHist``, ``LUT``) that cost a small fraction
of a PNG decode. Both loaders are pure functions of the sample (``cacheable = True``): the
dataset's decoded-sample cache may store their output instead of running them.
"""
from __future__ import annotations

import io
from functools import lru_cache

import cv2
import mmcv
import numpy as np
from cityscapesscripts.helpers.labels import name2label
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine.fileio import get as get_bytes
from PIL import Image

from cityseg.registry import TRANSFORMS

from .camvid_labels import CAMVID32_TO_CLASS, VALID_CAMVID32, camvid32_indices
from .labels import ID_TO_TRAIN_ID, IGNORE_INDEX, NUM_CLASSES, VALID_LABEL_IDS
from .synthia_labels import SYNTHIA_ID_TO_TRAIN_ID, VALID_SYNTHIA_IDS

# The license plate has id -1, which an 8-bit labelIds PNG can only hold as 255; the lookup
# table maps it to ignore like every other void id.
LICENSE_PLATE_VALUE = name2label['license plate'].id % 256
VALID_VALUES = {
    'labelIds': np.zeros(256, dtype=bool),
    'labelTrainIds': np.zeros(256, dtype=bool),
}
VALID_VALUES['labelIds'][[*VALID_LABEL_IDS, LICENSE_PLATE_VALUE]] = True
VALID_VALUES['labelTrainIds'][[*range(NUM_CLASSES), IGNORE_INDEX]] = True
VALID_VALUES['synthiaIds'] = VALID_SYNTHIA_IDS
VALID_VALUES['camvidColors'] = VALID_CAMVID32
LUTS = {'labelIds': ID_TO_TRAIN_ID, 'synthiaIds': SYNTHIA_ID_TO_TRAIN_ID,
        'camvidColors': CAMVID32_TO_CLASS}
# What the valid values of each label type are, for the error naming a file with others.
VALUE_NAMES = {'labelIds': 'Cityscapes labelIds', 'labelTrainIds': 'Cityscapes labelTrainIds',
               'synthiaIds': 'SYNTHIA class ids 0..22', 'camvidColors': "CamVid's 32 colours"}


@lru_cache(maxsize=16)
def class_id_tables(num_classes: int, label_map: tuple[tuple[int, int], ...] = (),
                    ignore_index: int = IGNORE_INDEX) -> tuple[np.ndarray, np.ndarray]:
    """``(valid, lut)`` over the 256 uint8 values of a class-index label file.

    A file value ``v`` becomes ``label_map``'s value for it (pairs ``(v, target)``) or stays
    ``v``; the result must be a class ``0..num_classes-1`` or ``ignore_index``, which becomes
    255, the ignore value of the model, loss and metric. Any other value is invalid: the
    loader refuses it instead of training on it.
    """
    if not 0 < num_classes <= IGNORE_INDEX:
        raise ValueError(f'num_classes must be in 1..{IGNORE_INDEX} for 8-bit labels, '
                         f'got {num_classes}')
    values = np.arange(256)
    for src, dst in label_map:
        values[src] = dst
    valid = (values < num_classes) | (values == ignore_index)
    lut = np.where(values == ignore_index, IGNORE_INDEX, np.where(valid, values, IGNORE_INDEX))
    return valid, lut.astype(np.uint8)


@TRANSFORMS.register_module()
class LoadCityscapesImage(LoadImageFromFile):
    """mmcv's ``LoadImageFromFile`` (BGR uint8) whose failures name the file.

    mmcv lets OpenCV's ``None`` for a corrupt or truncated PNG surface as a bare assertion (or,
    with ``ignore_empty``, a silently skipped sample); here it is a ``ValueError`` with the path.
    """

    cacheable = True

    def transform(self, results: dict) -> dict | None:
        try:
            return super().transform(results)
        except FileNotFoundError:
            raise
        except Exception as exc:
            raise ValueError(f'Cannot decode image {results["img_path"]} (corrupt or truncated '
                             f'file?): {exc}') from exc


# How a sample's label file stores its classes (the sample's ``label_type``).
LABEL_TYPES = ('labelIds', 'labelTrainIds', 'classIds', 'synthiaIds', 'camvidColors')


@TRANSFORMS.register_module()
class LoadCityscapesLabel(BaseTransform):
    """Load ``seg_map_path`` into ``gt_seg_map`` as class indices (Cityscapes: train ids
    0..18), 255 = ignore.

    ``label_type`` comes from the dataset (``results['label_type']``, required: one of
    :data:`LABEL_TYPES`, else ``ValueError`` names the sample): labelIds are mapped with
    the one lookup table built from cityscapesscripts' label table; labelTrainIds (Cityscapes
    after ``tools/convert_cityscapes.py``, ACDC, Dark Zurich, BDD100K) are read as they are;
    ``'classIds'`` (:class:`.SegFolderDataset`) go through :func:`class_id_tables` with the
    sample's ``num_classes``, ``label_map`` and ``ignore_index``; ``'synthiaIds'``
    (:class:`.SynthiaDataset`: 16-bit PNGs, the class id in the R channel) through SYNTHIA's
    table; ``'camvidColors'`` (:class:`.CamVidDataset`'s original release: RGB labels in 32
    colours) through CamVid's colour table and its grouping into 11 classes. A palette PNG
    (GTA5's labels) is read as its palette indices. The label must be a single-channel 8-bit
    image (CamVid's: RGB in its 32 colours) of the image's size holding only valid values, else
    ``ValueError`` names the file: silently learning from a corrupt label is worse than stopping.
    Samples without ``seg_map_path`` (the ``test`` split, whose labels are not public; the
    dataset refuses a labelled split with a missing file) pass through, so one pipeline serves
    every split.
    """

    cacheable = True

    def transform(self, results: dict) -> dict:
        path = results.get('seg_map_path')
        if path is None:
            return results
        data = get_bytes(path)
        if not data:  # OpenCV's error for it (!buf.empty()) names no file
            raise ValueError(f'Label image {path} is empty (0 bytes): an interrupted copy or '
                             'conversion? Regenerate or re-copy it')
        try:
            label = mmcv.imfrombytes(data, flag='unchanged', backend='cv2')
        except cv2.error as exc:
            raise ValueError(f'Cannot decode label image {path}: {exc}') from exc
        if label is None:
            raise ValueError(f'Cannot decode label image {path} (corrupt or truncated file?)')
        label_type = results.get('label_type')
        if label_type == 'synthiaIds':
            label = _synthia_ids(label, path)
        elif label_type == 'camvidColors':
            label = camvid32_indices(label, path)
        elif label.ndim == 3:
            label = _palette_indices(data, label)
        if label.ndim != 2:
            raise ValueError(f'Label image {path} has shape {label.shape}; expected a '
                             f'single-channel id image (an RGB *_gtFine_color.png is not a label)')
        if label.dtype != np.uint8:
            raise ValueError(f'Label image {path} is {label.dtype}; expected 8-bit ids')
        img = results.get('img')
        if img is not None and img.shape[:2] != label.shape:
            raise ValueError(f'Image {results["img_path"]} is {img.shape[1]}x{img.shape[0]} but '
                             f'its label {path} is {label.shape[1]}x{label.shape[0]}')
        if label_type not in LABEL_TYPES:
            raise ValueError(
                f'sample {results.get("img_path", path)} has label_type={label_type!r}: a '
                f'dataset feeding LoadCityscapesLabel gives every labelled sample a label_type, '
                f'one of {list(LABEL_TYPES)} (PairedSegDataset.label_spec does; see its '
                f'docstring)')
        if label_type == 'classIds':
            valid, lut = class_id_tables(results['num_classes'],
                                         tuple(map(tuple, results.get('label_map') or ())),
                                         results.get('ignore_index', IGNORE_INDEX))
            what = (f'class indices 0..{results["num_classes"] - 1} or the ignore index '
                    f'{results.get("ignore_index", IGNORE_INDEX)} (after label_map)')
        else:
            valid, lut = VALID_VALUES[label_type], LUTS.get(label_type)
            what = VALUE_NAMES[label_type]
        present = np.flatnonzero(cv2.calcHist([label], [0], None, [256], [0, 256]).ravel())
        bad = present[~valid[present]]
        if bad.size:
            raise ValueError(f'Label image {path} holds values {bad.tolist()} that are not '
                             f'{what}')
        if label_type != 'labelTrainIds':
            label = cv2.LUT(label, lut)
        results['gt_seg_map'] = label
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'


def _synthia_ids(label: np.ndarray, path: str) -> np.ndarray:
    """SYNTHIA's class-id plane as uint8: the R channel (OpenCV's last) of its 16-bit PNGs,
    as DAFormer's converter reads it; ids above 255 are not SYNTHIA's."""
    if label.ndim == 3:
        label = label[..., -1]
    if label.dtype != np.uint8:
        if label.max() > 255:
            raise ValueError(f'Label image {path} holds class id {int(label.max())}: not a '
                             'SYNTHIA GT/LABELS file (ids 0..22)')
        label = label.astype(np.uint8)
    return np.ascontiguousarray(label)


def _palette_indices(data: bytes, decoded: np.ndarray) -> np.ndarray:
    """A palette PNG's indices (GTA5 stores label ids so); OpenCV decodes it to colours.
    Any other 3-channel image is returned as decoded, for the caller to refuse."""
    with Image.open(io.BytesIO(data)) as img:
        if img.mode == 'P':
            return np.asarray(img)
    return decoded
