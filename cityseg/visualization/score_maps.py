"""Anomaly score maps as files: a 16-bit PNG that keeps the values, and a colour picture.

The 16-bit PNG maps ``[low, high]`` linearly onto ``0..65535``; ``low`` and ``high`` are the
score's bounds where it has them (``msp``, ``entropy``: comparable across images), else the
image's own minimum and maximum. Both are stored in the PNG's text chunks (``score``,
``low``, ``high``), so ``value = low + pixel / 65535 * (high - low)`` reads it back
(:func:`read_score_map`). The colour picture uses magma, as SegmentMeIfYouCan's pictures do
(bright = anomalous), over the same range.
"""
from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from PIL import Image, PngImagePlugin

from cityseg.models.uncertainty import score_range
from cityseg.utils.fileio import atomic_output, write_image


def score_map_range(name: str, score: np.ndarray, num_classes: int) -> tuple[float, float]:
    """``[low, high]`` of the pictures: the score's bounds, else the map's extent."""
    bounds = score_range(name, num_classes)
    if bounds is not None:
        return bounds
    low, high = float(score.min()), float(score.max())
    return low, high if high > low else low + 1.0


def write_score_map(prefix: str, name: str, score: np.ndarray, num_classes: int) -> None:
    """``<prefix>_<name>.png`` (16-bit, values in its text chunks) and
    ``<prefix>_<name>_color.png`` (magma)."""
    low, high = score_map_range(name, score, num_classes)
    unit = np.clip((score.astype(np.float64) - low) / (high - low), 0, 1)
    info = PngImagePlugin.PngInfo()
    for key, value in (('score', name), ('low', repr(low)), ('high', repr(high))):
        info.add_text(key, value)
    # atomically, as every picture cityseg writes (fileio.write_image), text chunks included
    with atomic_output(f'{prefix}_{name}.png', fsync=False) as tmp:
        Image.fromarray(np.round(unit * 65535).astype(np.uint16)).save(tmp, pnginfo=info)
    colour = (colormaps['magma'](unit)[..., :3] * 255 + 0.5).astype(np.uint8)
    write_image(colour[..., ::-1], f'{prefix}_{name}_color.png')  # RGB -> cv2's BGR


def read_score_map(path: str) -> np.ndarray:
    """The float scores of a 16-bit map :func:`write_score_map` wrote (to 1/65535 of its
    range)."""
    with Image.open(path) as img:
        if 'low' not in img.text or 'high' not in img.text:
            raise ValueError(f'{path} has no low/high text chunks: not a score map written by '
                             'tools/infer.py --uncertainty')
        low, high = float(img.text['low']), float(img.text['high'])
        pixels = np.asarray(img, dtype=np.float64)
    return low + pixels / 65535 * (high - low)
