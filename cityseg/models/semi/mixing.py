"""Mixing masks of self-training: CutMix boxes (FixMatch / UniMatch) and ClassMix (DACS).

A mask says, per pixel, whether the mixed sample takes the *partner's* pixel; images, labels
and pixel weights are all mixed with the same mask by :func:`mix`, so a mixed label is always
the label of the pixel mixed in.
"""
from __future__ import annotations

import torch

from cityseg.registry import MODELS


def mix(mask: torch.Tensor, partner: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """``partner`` where ``mask`` (N x H x W) holds, else ``base``; images (N x C x H x W) and
    maps (N x H x W) alike."""
    if partner.dim() == mask.dim() + 1:
        mask = mask[:, None]
    return torch.where(mask, partner, base)


@MODELS.register_module()
class CutMix:
    """A random box per sample, with probability ``prob`` (else an empty mask), as UniMatch's
    ``obtain_cutmix_box``: its area a uniform share in ``area`` of the image, its aspect ratio
    (height / width) uniform in ``aspect``, the box inside the image.

    Args:
        prob: chance that a sample is mixed at all (UniMatch: 0.5).
        area: (min, max) share of the image the box covers (UniMatch: 0.02 .. 0.4).
        aspect: (min, max) height / width of the box (UniMatch: 0.3 .. 1 / 0.3).
    """

    def __init__(self, prob: float = 0.5, area: tuple[float, float] = (0.02, 0.4),
                 aspect: tuple[float, float] = (0.3, 1 / 0.3)) -> None:
        if not (0 <= prob <= 1 and 0 < area[0] <= area[1] <= 1 and 0 < aspect[0] <= aspect[1]):
            raise ValueError(f'CutMix: prob in [0, 1], 0 < area min <= max <= 1 and 0 < aspect '
                             f'min <= max, got prob={prob}, area={area}, aspect={aspect}')
        self.prob, self.area, self.aspect = prob, tuple(area), tuple(aspect)

    def masks(self, labels: torch.Tensor) -> torch.Tensor:
        """Boxes shaped like ``labels`` (N x H x W; only the shape is used)."""
        n, h, w = labels.shape
        out = torch.zeros((n, h, w), dtype=torch.bool)
        for i in range(n):
            if torch.rand(()) >= self.prob:
                continue
            share = torch.empty(()).uniform_(*self.area).item()
            ratio = torch.empty(()).uniform_(*self.aspect).item()
            bh = min(h, max(1, round((share * h * w * ratio) ** 0.5)))
            bw = min(w, max(1, round((share * h * w / ratio) ** 0.5)))
            y = int(torch.randint(0, h - bh + 1, ()))
            x = int(torch.randint(0, w - bw + 1, ()))
            out[i, y:y + bh, x:x + bw] = True
        return out.to(labels.device)

    def __repr__(self) -> str:
        return f'CutMix(prob={self.prob}, area={self.area}, aspect={self.aspect})'


@MODELS.register_module()
class ClassMix:
    """Half of the classes present in each partner label (rounded up), as DACS: the mask
    covers every pixel of those classes, so whole objects are pasted with their outlines.

    Args:
        ignore_index: label value never chosen (void pixels stay the base image's).
    """

    def __init__(self, ignore_index: int = 255) -> None:
        self.ignore_index = ignore_index

    def masks(self, labels: torch.Tensor) -> torch.Tensor:
        """Masks of a random half of each label's classes (N x H x W)."""
        out = torch.zeros(labels.shape, dtype=torch.bool, device=labels.device)
        for i, label in enumerate(labels):
            classes = torch.unique(label)
            classes = classes[classes != self.ignore_index]
            if classes.numel() == 0:
                continue
            keep = (classes.numel() + 1) // 2
            chosen = classes[torch.randperm(classes.numel())[:keep].to(classes.device)]
            out[i] = torch.isin(label, chosen)
        return out

    def __repr__(self) -> str:
        return f'ClassMix(ignore_index={self.ignore_index})'
