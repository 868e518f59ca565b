"""Segmentation maps as pictures: palette colours, overlays and comparison grids.

One drawing path for every picture cityseg makes: :class:`SegLocalVisualizer` (training
visuals, every vis backend), ``PredictionWriterHook``'s ``show_dir`` (tools/test.py) and
tools/infer.py all draw a prediction with :func:`prediction_pictures`. Colours come from the
``palette`` argument (the dataset's, :func:`.palette_of`), Cityscapes' when it is ``None``.
"""
from __future__ import annotations

from collections.abc import Sequence

import mmcv
import numpy as np

from cityseg.utils.fileio import write_image

from .palette import Palette, colorize

GRID_COLUMNS = ('image', 'ground truth', 'prediction', 'overlay')
ERROR_COLOR = (255, 0, 0)


def error_map(image: np.ndarray, gt: np.ndarray, pred: np.ndarray,
              ignore_index: int = 255) -> np.ndarray:
    """Where the prediction is wrong: ``ERROR_COLOR`` on wrong pixels, black where the ground
    truth is ``ignore_index`` (not scored), and the RGB ``image`` in dimmed grey elsewhere, so
    the errors stand out against the scene they are in."""
    if not image.shape[:2] == gt.shape == pred.shape:
        raise ValueError(f'image {image.shape[:2]}, ground truth {gt.shape} and prediction '
                         f'{pred.shape} must have the same height and width')
    grey = (image.astype(np.float32).mean(axis=2, keepdims=True) * 0.5).astype(np.uint8)
    out = np.repeat(grey, 3, axis=2)
    out[(pred != gt) & (gt != ignore_index)] = ERROR_COLOR
    out[gt == ignore_index] = 0
    return out


def overlay(image: np.ndarray, train_ids: np.ndarray, opacity: float = 0.5,
            palette: Palette | None = None) -> np.ndarray:
    """Blend the palette colours of ``train_ids`` over an RGB ``image``; ignore stays the
    image."""
    color = colorize(train_ids, palette).astype(np.float32)
    blended = image.astype(np.float32) * (1 - opacity) + color * opacity
    keep = (train_ids == 255)[..., None]
    return np.where(keep, image, blended).round().astype(np.uint8)


def prediction_pictures(image: np.ndarray, train_ids: np.ndarray, opacity: float = 0.5,
                        palette: Palette | None = None) -> dict[str, np.ndarray]:
    """``{'color': palette picture, 'overlay': palette over the RGB image}`` of a prediction,
    both RGB uint8 at the prediction's resolution (``image`` must already have it)."""
    return dict(color=colorize(train_ids, palette),
                overlay=overlay(image, train_ids, opacity, palette))


def write_prediction_pictures(prefix: str, image: np.ndarray, train_ids: np.ndarray,
                              opacity: float = 0.5, palette: Palette | None = None) -> None:
    """:func:`prediction_pictures` as ``<prefix>_color.png`` and ``<prefix>_overlay.png``
    (folders created as needed)."""
    for kind, picture in prediction_pictures(image, train_ids, opacity, palette).items():
        write_image(picture[..., ::-1], f'{prefix}_{kind}.png')  # RGB -> BGR for cv2


def comparison_grid(samples: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
                    tile_width: int = 512, opacity: float = 0.5,
                    palette: Palette | None = None) -> np.ndarray:
    """One row per ``(rgb_image, gt_train_ids, pred_train_ids)``: image | ground truth |
    prediction | prediction overlaid on the image, in ``palette`` (default: Cityscapes';
    ignore black).

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
        pictures = prediction_pictures(image, pred, opacity, palette)
        rows.append(np.concatenate(
            [image, colorize(gt, palette), pictures['color'], pictures['overlay']], axis=1))
    return np.concatenate(rows, axis=0)
