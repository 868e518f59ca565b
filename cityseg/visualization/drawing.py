"""Segmentation maps as pictures: palette colours, overlays and comparison grids."""
from __future__ import annotations

from collections.abc import Sequence

import mmcv
import numpy as np

from cityseg.datasets.labels import colorize

GRID_COLUMNS = ('image', 'ground truth', 'prediction', 'overlay')


def overlay(image: np.ndarray, train_ids: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """Blend the palette colours of ``train_ids`` over an RGB ``image``; ignore stays the
    image."""
    color = colorize(train_ids).astype(np.float32)
    blended = image.astype(np.float32) * (1 - opacity) + color * opacity
    keep = (train_ids == 255)[..., None]
    return np.where(keep, image, blended).round().astype(np.uint8)


def comparison_grid(samples: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                    tile_width: int = 512, opacity: float = 0.5) -> np.ndarray:
    """One row per ``(rgb_image, gt_train_ids, pred_train_ids)``: image | ground truth |
    prediction | prediction overlaid on the image, in the Cityscapes palette (ignore black).

    Every tile is resized to ``tile_width`` x the first image's aspect ratio (bilinear for
    images, nearest for label maps), so the grid is ``rows * tile_h`` by ``4 * tile_width``.
    """
    if not samples:
        raise ValueError('comparison_grid needs at least one sample')
    h0, w0 = samples[0][1].shape
    size = (tile_width, max(1, round(tile_width * h0 / w0)))  # (w, h) as mmcv expects
    rows = []
    for image, gt, pred in samples:
        if not image.shape[:2] == gt.shape == pred.shape:
            raise ValueError(f'image {image.shape[:2]}, ground truth {gt.shape} and prediction '
                             f'{pred.shape} must have the same height and width')
        image = mmcv.imresize(image, size)
        gt = mmcv.imresize(gt.astype(np.uint8), size, interpolation='nearest')
        pred = mmcv.imresize(pred.astype(np.uint8), size, interpolation='nearest')
        rows.append(np.concatenate(
            [image, colorize(gt), colorize(pred), overlay(image, pred, opacity)], axis=1))
    return np.concatenate(rows, axis=0)
