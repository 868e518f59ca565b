"""Pipeline transforms: label loading, Albumentations augmentation and packing.

Images are loaded by mmcv's ``LoadImageFromFile`` (BGR, uint8); the data preprocessor turns
them to RGB on the device. Albumentations' colour transforms treat the channels symmetrically
(brightness, contrast, saturation) or with symmetric random ranges (hue), so applying them to
BGR draws from the same distribution as applying them to RGB.
"""
from __future__ import annotations

import inspect
from collections.abc import Sequence

import albumentations as A
import cv2
import mmcv
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.fileio import get as get_bytes
from mmengine.structures import PixelData

from cityseg.registry import TRANSFORMS
from cityseg.structures import SegDataSample

from .labels import ID_TO_TRAIN_ID, IGNORE_INDEX, NUM_CLASSES, VALID_LABEL_IDS

_VALID_ID_MASK = np.zeros(256, dtype=bool)
_VALID_ID_MASK[list(VALID_LABEL_IDS)] = True
_VALID_TRAIN_ID_MASK = np.zeros(256, dtype=bool)
_VALID_TRAIN_ID_MASK[list(range(NUM_CLASSES)) + [IGNORE_INDEX]] = True


@TRANSFORMS.register_module()
class LoadCityscapesLabel(BaseTransform):
    """Load ``seg_map_path`` into ``gt_seg_map`` as train ids (0..18, 255 = ignore).

    ``label_type`` comes from the dataset (``results['label_type']``): labelIds are mapped with
    the one lookup table built from cityscapesscripts' label table. The label must be a
    single-channel image of the image's size holding only valid ids, else ``ValueError`` names
    the file: silently learning from a corrupt label is worse than stopping.
    """

    def transform(self, results: dict) -> dict:
        path = results['seg_map_path']
        try:
            label = mmcv.imfrombytes(get_bytes(path), flag='unchanged', backend='pillow')
        except Exception as exc:  # PIL raises several types for corrupt/truncated files
            raise ValueError(f'Cannot decode label image {path}: {exc}') from exc
        if label.ndim != 2:
            raise ValueError(f'Label image {path} has shape {label.shape}; expected a '
                             f'single-channel id image (an RGB *_gtFine_color.png is not a label)')
        if label.dtype != np.uint8:
            if label.min() < 0 or label.max() > 255:
                raise ValueError(f'Label image {path} holds values outside 0..255')
            label = label.astype(np.uint8)
        img = results.get('img')
        if img is not None and img.shape[:2] != label.shape:
            raise ValueError(f'Image {results["img_path"]} is {img.shape[1]}x{img.shape[0]} but '
                             f'its label {path} is {label.shape[1]}x{label.shape[0]}')
        label_type = results.get('label_type', 'labelIds')
        valid = _VALID_ID_MASK if label_type == 'labelIds' else _VALID_TRAIN_ID_MASK
        values = np.flatnonzero(np.bincount(label.ravel(), minlength=256))
        bad = values[~valid[values]]
        if bad.size:
            raise ValueError(f'Label image {path} ({label_type}) holds values {bad.tolist()} '
                             f'that are not Cityscapes {label_type}')
        if label_type == 'labelIds':
            label = ID_TO_TRAIN_ID[label]
        results['gt_seg_map'] = label
        results.setdefault('seg_fields', []).append('gt_seg_map')
        return results


@TRANSFORMS.register_module()
class Albu(BaseTransform):
    """Apply an albumentations pipeline, built from config dicts, to image and label together.

    Each dict names an albumentations class by ``type`` (``dict(type='RandomCrop', height=512,
    width=512, pad_if_needed=True)``); ``OneOf``/``SomeOf``/``Compose`` take nested
    ``transforms`` lists. The label goes through as ``mask``, so geometric transforms use
    nearest interpolation for it; border fills of the mask default to 255 (ignore).
    """

    def __init__(self, transforms: Sequence[dict], seg_fill: int = IGNORE_INDEX) -> None:
        self.seg_fill = seg_fill
        self.transforms_cfg = [dict(t) for t in transforms]
        self.aug = A.Compose([self._build(t) for t in self.transforms_cfg])

    def _build(self, cfg: dict) -> A.BasicTransform:
        cfg = dict(cfg)
        name = cfg.pop('type')
        cls = getattr(A, name, None)
        if cls is None:
            raise KeyError(f'albumentations has no transform named {name!r}')
        if 'transforms' in cfg:
            cfg['transforms'] = [self._build(t) for t in cfg['transforms']]
        elif 'fill_mask' in _init_params(cls):
            cfg.setdefault('fill_mask', self.seg_fill)
        return cls(**cfg)

    def transform(self, results: dict) -> dict:
        if 'gt_seg_map' in results:
            out = self.aug(image=results['img'], mask=results['gt_seg_map'])
            results['gt_seg_map'] = out['mask']
        else:
            out = self.aug(image=results['img'])
        results['img'] = out['image']
        results['img_shape'] = out['image'].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.transforms_cfg})'


def _init_params(cls: type) -> set[str]:
    return set(inspect.signature(cls.__init__).parameters)


@TRANSFORMS.register_module()
class ResizeByRatio(BaseTransform):
    """Scale the image by ``ratio`` (bilinear) and, if ``resize_label``, the label (nearest).

    Validation keeps the label at full resolution (``resize_label=False``) so that metrics are
    computed where the benchmark defines them; the model's prediction is resized up instead.
    """

    def __init__(self, ratio: float, resize_label: bool = True) -> None:
        if not 0 < ratio:
            raise ValueError(f'ratio must be positive, got {ratio}')
        self.ratio = ratio
        self.resize_label = resize_label

    def transform(self, results: dict) -> dict:
        if self.ratio == 1:
            return results
        h, w = results['img'].shape[:2]
        size = (max(1, round(w * self.ratio)), max(1, round(h * self.ratio)))
        results['img'] = cv2.resize(results['img'], size, interpolation=cv2.INTER_LINEAR)
        results['img_shape'] = results['img'].shape[:2]
        if self.resize_label and 'gt_seg_map' in results:
            results['gt_seg_map'] = cv2.resize(results['gt_seg_map'], size,
                                               interpolation=cv2.INTER_NEAREST)
        return results


@TRANSFORMS.register_module()
class PackSegInputs(BaseTransform):
    """Pack the image as a CHW uint8 tensor and the label into a :class:`SegDataSample`."""

    META_KEYS = ('img_path', 'seg_map_path', 'ori_shape', 'img_shape', 'stem')

    def __init__(self, meta_keys: Sequence[str] = META_KEYS) -> None:
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = np.ascontiguousarray(results['img'].transpose(2, 0, 1))
        sample = SegDataSample()
        if 'gt_seg_map' in results:
            gt = torch.from_numpy(np.ascontiguousarray(results['gt_seg_map'])).long()[None]
            sample.gt_sem_seg = PixelData(data=gt)
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=torch.from_numpy(img), data_samples=sample)
