"""Batch collation on the device: normalise, BGR->RGB, pad to the network's size divisor."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseDataPreprocessor
from mmengine.structures import PixelData

from cityseg.registry import MODELS


@MODELS.register_module()
class SegDataPreProcessor(BaseDataPreprocessor):
    """Move uint8 images to the device, normalise them there and stack them into a batch.

    Doing the float conversion on the device (instead of in dataloader workers) keeps the
    workers' output at a quarter of the bytes and lets a GPU do the arithmetic.

    Args:
        mean, std: per-channel statistics in RGB order, in 0..255 units.
        bgr_to_rgb: flip the channels first (mmcv loads BGR).
        size_divisor: pad height and width up to a multiple of it, with ``pad_val`` for
            images and ``seg_pad_val`` (ignore) for labels. ``None`` (default) lets
            :class:`SMPSegmentor` set the network's own divisor (its encoder's output stride,
            e.g. 32, 16 for DeepLabV3+, 128 for PAN); a number is combined with it (least
            common multiple). Padding is at the bottom/right, so cropping ``img_shape`` off a
            prediction undoes it.
    """

    def __init__(self, mean: Sequence[float] = (123.675, 116.28, 103.53),
                 std: Sequence[float] = (58.395, 57.12, 57.375), bgr_to_rgb: bool = True,
                 size_divisor: int | None = None, pad_val: float = 0, seg_pad_val: int = 255,
                 non_blocking: bool = False) -> None:
        super().__init__(non_blocking)
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1),
                             persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(-1, 1, 1),
                             persistent=False)
        self.bgr_to_rgb = bgr_to_rgb
        self.size_divisor = size_divisor
        self.pad_val = pad_val
        self.seg_pad_val = seg_pad_val

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        samples = data.get('data_samples')
        if isinstance(inputs, torch.Tensor):
            inputs = list(inputs)
        heights = [img.shape[-2] for img in inputs]
        widths = [img.shape[-1] for img in inputs]
        d = self.size_divisor or 1
        pad_h = -(-max(heights) // d) * d
        pad_w = -(-max(widths) // d) * d
        batch = []
        for i, img in enumerate(inputs):
            img = img.float()
            if self.bgr_to_rgb and img.shape[0] == 3:
                img = img.flip(0)
            img = (img - self.mean) / self.std
            pad = (0, pad_w - img.shape[-1], 0, pad_h - img.shape[-2])
            batch.append(F.pad(img, pad, value=self.pad_val))
            if samples is not None:
                samples[i].set_metainfo(dict(img_shape=tuple(img.shape[-2:]),
                                             pad_shape=(pad_h, pad_w)))
                if training and 'gt_sem_seg' in samples[i]:
                    # A new PixelData: the old one refuses data of another height and width.
                    gt = samples[i].gt_sem_seg
                    samples[i].gt_sem_seg = PixelData(
                        data=F.pad(gt.data, pad, value=self.seg_pad_val), metainfo=gt.metainfo)
        return dict(inputs=torch.stack(batch), data_samples=samples)
