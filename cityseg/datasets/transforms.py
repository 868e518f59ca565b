"""Pipeline transforms: Albumentations augmentation, resizing by a ratio, and packing.

Images are loaded by :class:`~cityseg.datasets.loading.LoadCityscapesImage` (BGR, uint8); the
data preprocessor turns them to RGB on the device. Albumentations' colour transforms treat the
channels symmetrically (brightness, contrast, saturation) or with symmetric random ranges
(hue), so applying them to BGR draws from the same distribution as applying them to RGB.
"""
from __future__ import annotations

import inspect
import random
from collections.abc import Sequence

import albumentations as A
import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.structures import PixelData

from cityseg.registry import TRANSFORMS
from cityseg.structures import SegDataSample
from cityseg.utils.errors import CitysegKeyError

from .labels import IGNORE_INDEX


@TRANSFORMS.register_module()
class Albu(BaseTransform):
    """Apply an albumentations pipeline, built from config dicts, to image and label together.

    Each dict names an albumentations class by ``type`` (``dict(type='RandomCrop', height=512,
    width=512, pad_if_needed=True)``); ``OneOf``/``SomeOf``/``Sequential`` take nested
    ``transforms`` lists. Arguments are checked strictly, so a misspelt key is an error rather
    than albumentations' warning. The label goes through as ``mask``: it is always resampled with
    nearest interpolation (another ``mask_interpolation`` is refused) and its border fill
    defaults to ``seg_fill`` (255, ignore) wherever albumentations pads or warps. An image
    without a label gets ``ignore_mask`` instead (0 on its own pixels, 255 where padded or
    warped in, whatever ``seg_fill`` is; carried through later ``Albu`` steps), so that
    self-training leaves
    the padding of unlabelled crops out of its pseudo-labels, as UniMatch's ``ignore_mask``
    does.

    Randomness: albumentations keeps its own generator per ``Compose``, which forked dataloader
    workers would inherit unchanged, so every worker (and, without persistent workers, every
    epoch) would replay the same crops and flips. The generator is therefore reseeded from
    torch's seed for the current process: the worker seed inside a ``DataLoader`` worker
    (distinct per worker and per epoch, reproducible under the runner's ``randomness.seed``),
    ``torch.initial_seed()`` elsewhere.
    """

    def __init__(self, transforms: Sequence[dict], seg_fill: int = IGNORE_INDEX) -> None:
        self.seg_fill = seg_fill
        self.transforms_cfg = [dict(t) for t in transforms]
        self.aug = A.Compose([self._build(t) for t in self.transforms_cfg], strict=True)
        self._seed: int | None = None
        # 0 for a pipeline's own Albu; MultiBranch gives each branch's Albu a stream of its own
        self.stream = 0

    def _build(self, cfg: dict) -> A.BasicTransform:
        cfg = dict(cfg)
        name = cfg.pop('type')
        cls = getattr(A, name, None)
        if cls is None:
            raise CitysegKeyError(f'albumentations has no transform named {name!r}')
        if 'transforms' in cfg:
            cfg['transforms'] = [self._build(t) for t in cfg['transforms']]
            return cls(**cfg)
        params = inspect.signature(cls.__init__).parameters
        if cfg.get('mask_interpolation', cv2.INTER_NEAREST) != cv2.INTER_NEAREST:
            raise ValueError(f'{name}: mask_interpolation={cfg["mask_interpolation"]} would '
                             f'blend label ids; labels are always resampled with nearest')
        # Transforms that pad or warp fill the mask with a number; CoarseDropout and the like
        # default to None (mask left alone) and keep doing so.
        if 'fill_mask' in params and params['fill_mask'].default is not None:
            cfg.setdefault('fill_mask', self.seg_fill)
        return cls(**cfg)

    def _reseed(self) -> None:
        worker = torch.utils.data.get_worker_info()
        seed = worker.seed if worker is not None else torch.initial_seed()
        if seed != self._seed:
            self._seed = seed
            # another stream per MultiBranch branch: equal seeds would correlate the branches
            if self.stream:
                rngs = np.random.default_rng([seed, self.stream]), random.Random(
                    f'{seed}/{self.stream}')
            else:
                rngs = np.random.default_rng(seed), random.Random(seed)
            self.aug.set_random_state(*rngs)

    def transform(self, results: dict) -> dict:
        self._reseed()
        if 'gt_seg_map' in results:
            out = self.aug(image=results['img'], mask=results['gt_seg_map'])
            results['gt_seg_map'] = out['mask']
        else:
            # Without a label a padded border would pass for the image's own pixels, and a
            # self-training teacher would pseudo-label it: ignore_mask tracks it instead.
            # Own pixels go through as any value but seg_fill, the pads' fill.
            own = np.uint8((self.seg_fill + 1) % 256)
            ignore = results.get('ignore_mask')
            marked = (np.full(results['img'].shape[:2], own) if ignore is None
                      else np.where(ignore == 0, own, np.uint8(self.seg_fill)))
            out = self.aug(image=results['img'], mask=marked)
            results['ignore_mask'] = np.where(out['mask'] == own, 0, 255).astype(np.uint8)
        results['img'] = out['image']
        results['img_shape'] = out['image'].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(transforms={self.transforms_cfg})'


@TRANSFORMS.register_module()
class ResizeByRatio(BaseTransform):
    """Scale the image by ``ratio`` (bilinear) and, if ``resize_label``, the label (nearest).

    The reference's half-resolution mode is ``ratio=0.5``. Validation keeps the label at full
    resolution (``resize_label=False``) so that metrics are computed where the benchmark defines
    them; the model's prediction is resized up instead.
    """

    cacheable = True

    def __init__(self, ratio: float, resize_label: bool = True) -> None:
        if not ratio > 0:
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

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(ratio={self.ratio}, '
                f'resize_label={self.resize_label})')


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
            # uint8 (train ids fit): 8x fewer bytes from the workers and a faster metric; the
            # loss widens it on the device.
            gt = torch.from_numpy(np.ascontiguousarray(results['gt_seg_map']))[None]
            sample.gt_sem_seg = PixelData(data=gt)
        if 'ignore_mask' in results:
            mask = torch.from_numpy(np.ascontiguousarray(results['ignore_mask']))[None]
            sample.ignore_mask = PixelData(data=mask)
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=torch.from_numpy(img), data_samples=sample)
