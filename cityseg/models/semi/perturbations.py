"""Perturbations beyond the strong view: UniMatch's feature dropout and MIC's masked images."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cityseg.utils.errors import CitysegTypeError


def feature_perturbed_logits(net: nn.Module, images: torch.Tensor, p: float) -> torch.Tensor:
    """Logits of ``net`` with channel dropout (``p``) on every encoder feature map, as
    UniMatch's feature perturbation (its ``nn.Dropout2d(0.5)`` on the encoder's features).

    ``net`` is an smp model (``encoder``, ``decoder``, ``segmentation_head``); the first
    feature of smp's encoders is the input image itself and is left alone.
    """
    parts = [getattr(net, name, None) for name in ('encoder', 'decoder', 'segmentation_head')]
    if any(part is None for part in parts):
        raise CitysegTypeError(
            f'semi_cfg.feature_perturbation needs an smp network with encoder, '
            f'decoder and segmentation_head; {type(net).__name__} has not')
    encoder, decoder, head = parts
    features = encoder(images)
    features = [features[0], *(F.dropout2d(f, p, training=True) for f in features[1:])]
    return head(decoder(features))


def block_keep_masks(shape: torch.Size, block_size: int, ratio: float,
                     device: torch.device) -> torch.Tensor:
    """``N x 1 x H x W`` float masks, 0 on a random ``ratio`` of ``block_size`` squares and 1
    elsewhere: MIC's masked image (its mask_block_size 64 and mask_ratio 0.7 at 1024x512)."""
    n, _, h, w = shape
    grid = (-(-h // block_size), -(-w // block_size))
    keep = (torch.rand((n, 1, *grid)) >= ratio).float().to(device)
    return F.interpolate(keep, scale_factor=block_size, mode='nearest')[..., :h, :w]
