"""Loading transforms that fail loudly: a bad file stops training with its path in the error.

Decoding is the dominant cost of the pipeline on full 2048x1024 Cityscapes frames, so the
checks here use OpenCV's single-pass kernels (``calcHist``, ``LUT``) that cost a small fraction
of a PNG decode. Both loaders are pure functions of the sample (``cacheable = True``): the
dataset's decoded-sample cache may store their output instead of running them.
"""
from __future__ import annotations

import cv2
import mmcv
import numpy as np
from cityscapesscripts.helpers.labels import name2label
from mmcv.transforms import BaseTransform, LoadImageFromFile
from mmengine.fileio import get as get_bytes

from cityseg.registry import TRANSFORMS

from .labels import ID_TO_TRAIN_ID, IGNORE_INDEX, NUM_CLASSES, VALID_LABEL_IDS

# The license plate has id -1, which an 8-bit labelIds PNG can only hold as 255; the lookup
# table maps it to ignore like every other void id.
LICENSE_PLATE_VALUE = name2label['license plate'].id % 256
VALID_VALUES = {
    'labelIds': np.zeros(256, dtype=bool),
    'labelTrainIds': np.zeros(256, dtype=bool),
}
VALID_VALUES['labelIds'][[*VALID_LABEL_IDS, LICENSE_PLATE_VALUE]] = True
VALID_VALUES['labelTrainIds'][[*range(NUM_CLASSES), IGNORE_INDEX]] = True


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


@TRANSFORMS.register_module()
class LoadCityscapesLabel(BaseTransform):
    """Load ``seg_map_path`` into ``gt_seg_map`` as train ids (0..18, 255 = ignore).

    ``label_type`` comes from the dataset (``results['label_type']``): labelIds are mapped with
    the one lookup table built from cityscapesscripts' label table. The label must be a
    single-channel 8-bit image of the image's size holding only valid values, else
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
        label = mmcv.imfrombytes(get_bytes(path), flag='unchanged', backend='cv2')
        if label is None:
            raise ValueError(f'Cannot decode label image {path} (corrupt or truncated file?)')
        if label.ndim != 2:
            raise ValueError(f'Label image {path} has shape {label.shape}; expected a '
                             f'single-channel id image (an RGB *_gtFine_color.png is not a label)')
        if label.dtype != np.uint8:
            raise ValueError(f'Label image {path} is {label.dtype}; expected 8-bit ids')
        img = results.get('img')
        if img is not None and img.shape[:2] != label.shape:
            raise ValueError(f'Image {results["img_path"]} is {img.shape[1]}x{img.shape[0]} but '
                             f'its label {path} is {label.shape[1]}x{label.shape[0]}')
        label_type = results.get('label_type', 'labelIds')
        present = np.flatnonzero(cv2.calcHist([label], [0], None, [256], [0, 256]).ravel())
        bad = present[~VALID_VALUES[label_type][present]]
        if bad.size:
            raise ValueError(f'Label image {path} holds values {bad.tolist()} that are not '
                             f'Cityscapes {label_type}')
        if label_type == 'labelIds':
            label = cv2.LUT(label, ID_TO_TRAIN_ID)
        results['gt_seg_map'] = label
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}()'
