"""Rare-class sampling (DAFormer): source images drawn so that rare classes are seen often.

A source domain's rare classes (riders, trains, motorcycles) appear in few images and few
pixels; self-training then pseudo-labels them poorly in the target, which in turn teaches
them worse. DAFormer samples a class c with probability ``softmax((1 - f_c) / T)`` over the
classes' pixel frequencies ``f_c``, then an image holding at least ``min_pixels`` of c.
"""
from __future__ import annotations

import numpy as np
import torch


def rare_class_probabilities(counts: np.ndarray, temperature: float = 0.01) -> np.ndarray:
    """DAFormer's class probabilities from ``(num_images, num_classes)`` pixel counts:
    ``softmax((1 - f_c) / temperature)`` over the classes present (absent ones: 0)."""
    if temperature <= 0:
        raise ValueError(f'rare-class sampling temperature must be > 0, got {temperature}')
    totals = counts.sum(0).astype(np.float64)
    present = totals > 0
    if not present.any():
        raise ValueError('rare-class sampling needs labelled pixels; the source has none')
    freq = totals / totals.sum()
    logits = np.where(present, (1 - freq) / temperature, -np.inf)
    p = np.exp(logits - logits[present].max())
    return p / p.sum()


class RareClassStream:
    """Endless source indices: a class by :func:`rare_class_probabilities`, then uniformly one
    of the images holding at least ``min_pixels`` of it (all holding it, where none holds
    that many), both drawn from ``generator``."""

    def __init__(self, counts: np.ndarray, temperature: float = 0.01,
                 min_pixels: int = 3000) -> None:
        self.probs = torch.as_tensor(rare_class_probabilities(counts, temperature))
        self.images = []
        for c in range(counts.shape[1]):
            enough = np.flatnonzero(counts[:, c] >= min_pixels)
            self.images.append(enough if enough.size else np.flatnonzero(counts[:, c] > 0))

    def __call__(self, generator: torch.Generator):
        while True:
            c = int(torch.multinomial(self.probs, 1, generator=generator))
            images = self.images[c]
            yield int(images[int(torch.randint(len(images), (), generator=generator))])
