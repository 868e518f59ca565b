"""Pseudo-labels from a teacher's scores, their pixel weights, and the weighted loss on them."""
from __future__ import annotations

import torch
import torch.nn.functional as F

# How much each pseudo-labelled pixel counts (the config key semi_cfg.pixel_weight).
PIXEL_WEIGHTS = ('threshold', 'confident_share')


def pseudo_labels(probs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(confidence, label)`` per pixel: the top class score and its class (N x H x W)."""
    confidence, label = probs.max(1)
    return confidence, label


def pixel_weights(confidence: torch.Tensor, valid: torch.Tensor,
                  threshold: float | torch.Tensor, mode: str = 'threshold') -> torch.Tensor:
    """Per-pixel weight of the pseudo-labels (N x H x W, float).

    ``threshold`` is one number, or one per pixel (N x H x W: a
    :class:`~cityseg.models.semi.thresholds.SelfAdaptiveThreshold`'s, by the pixel's class).

    - ``'threshold'`` (FixMatch, UniMatch): 1 where ``confidence >= threshold``, else 0;
    - ``'confident_share'`` (DACS, DAFormer): every pixel of an image weighs the share of its
      valid pixels whose confidence reaches ``threshold`` (one number per image; DAFormer
      takes one share over the whole batch).

    ``valid`` marks the image's pixels (not padding); invalid ones weigh 0.
    """
    confident = confidence >= threshold  # UniMatch's >= and DAFormer's ge alike
    if mode == 'threshold':
        return (confident & valid).float()
    if mode == 'confident_share':
        share = (confident & valid).flatten(1).sum(1) / valid.flatten(1).sum(1).clamp(min=1)
        return share[:, None, None] * valid.float()
    raise ValueError(f'semi_cfg.pixel_weight must be one of {PIXEL_WEIGHTS}, got {mode!r}')


def weighted_cross_entropy(logits: torch.Tensor, labels: torch.Tensor, weights: torch.Tensor,
                           ignore_index: int = 255,
                           class_weight: torch.Tensor | None = None) -> torch.Tensor:
    """Cross-entropy of each pixel times its weight, summed over the batch and divided by the
    number of labelled (not ``ignore_index``) pixels, as UniMatch and DACS normalise it: a
    batch whose pseudo-labels are mostly unconfident contributes little, not a rescaled mean
    of its few confident pixels.

    With ``class_weight`` (one per class) each pixel also weighs its label's class weight, and
    the sum is divided by the labelled pixels' summed class weights instead of their count:
    with every pixel weight 1 this is ``F.cross_entropy(weight=class_weight)``, the weighted
    mean that :class:`~cityseg.models.FocalLoss` also takes.
    """
    if logits.shape[-2:] != labels.shape[-2:]:
        logits = F.interpolate(logits, size=labels.shape[-2:], mode='bilinear',
                               align_corners=False)
    loss = F.cross_entropy(logits.float(), labels, ignore_index=ignore_index, reduction='none')
    norm = (labels != ignore_index).float()
    if class_weight is not None:
        norm = norm * class_weight.to(norm.device)[labels.masked_fill(labels == ignore_index, 0)]
    return (loss * weights * norm).sum() / norm.sum().clamp(min=torch.finfo(norm.dtype).tiny)
