"""Inputs as the dataloader hands them to a segmentor, and tiny networks with known symmetries."""
from __future__ import annotations

import torch
from mmengine.structures import PixelData
from torch import nn

from cityseg.registry import MODELS
from cityseg.structures import SegDataSample


def make_data(sizes: list[tuple[int, int]], num_classes: int = 5, seed: int = 0,
              label_scale: int = 1) -> dict:
    """uint8 CHW images of the given (h, w) and random labels ``label_scale`` times larger."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for i, (h, w) in enumerate(sizes):
        inputs.append(torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen))
        label_shape = (1, h * label_scale, w * label_scale)
        sample = SegDataSample(metainfo=dict(img_path=f'img{i}.png', seg_map_path=f'label{i}.png',
                                             ori_shape=label_shape[1:]))
        sample.gt_sem_seg = PixelData(data=torch.randint(0, num_classes, label_shape,
                                                         generator=gen))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


class PointwiseNet(nn.Module):
    """1x1 convolutions only: each pixel's logits depend on that pixel alone.

    So any tiling (slide inference) and any mirroring give exactly the whole-image logits.
    """

    def __init__(self, encoder_name=None, encoder_weights=None, in_channels=3, classes=5):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(in_channels, 8, 1), nn.ReLU())
        self.segmentation_head = nn.Conv2d(8, classes, 1)

    def forward(self, x):
        return self.segmentation_head(self.encoder(x))


class MirrorConvNet(nn.Module):
    """3x3 convolutions whose kernels are left-right symmetric: f(flip(x)) == flip(f(x)).

    Unlike :class:`PointwiseNet` it mixes neighbouring pixels, so padding placed on the wrong
    side of a mirrored input changes the border logits. ``symmetric=False`` keeps the random
    kernels, the negative control.
    """

    def __init__(self, encoder_name=None, encoder_weights=None, in_channels=3, classes=5,
                 symmetric=True):
        super().__init__()
        self.encoder = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1), nn.ReLU(),
                                     nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.segmentation_head = nn.Conv2d(8, classes, 3, padding=1)
        if symmetric:
            with torch.no_grad():
                for conv in self.modules():
                    if isinstance(conv, nn.Conv2d):
                        conv.weight.copy_((conv.weight + conv.weight.flip(-1)) / 2)

    def forward(self, x):
        return self.segmentation_head(self.encoder(x))


MODELS.register_module(name='TestPointwiseNet', module=PointwiseNet)
MODELS.register_module(name='TestMirrorConvNet', module=MirrorConvNet)
