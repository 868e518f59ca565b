"""Looks of the synthetic scenes: the same streets and labels, another domain to adapt to.

A style changes only the painted image, after the scene is drawn from its own random stream, so
a styled dataset has byte-identical labels to the plain ('day') one of the same seed: a model
trained on day images and evaluated on styled val measures the domain gap alone, as
Cityscapes -> Dark Zurich (night) or -> ACDC (fog) does with real data. Each style draws from a
stream of its own, so adding one never changes another's pixels.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from ..labels import CLASSES

_ID = {name: i for i, name in enumerate(CLASSES)}
_VEHICLES = tuple(_ID[c] for c in ('car', 'truck', 'bus'))


def _night(img: np.ndarray, train_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Dark and blue-shifted, a near-black sky, lit windows on buildings, vehicle headlights."""
    h, w = train_ids.shape
    out = img.astype(np.float32) * rng.uniform(0.18, 0.28)
    out *= np.array([0.8, 0.9, 1.25], np.float32)  # RGB: moonlight is bluish
    sky = train_ids == _ID['sky']
    out[sky] = np.array([8.0, 10.0, 28.0], np.float32) + rng.normal(0, 2, (sky.sum(), 3))
    cell = max(3, h // 24)
    lit_cells = rng.random((h // cell + 1, w // cell + 1)) < 0.3
    lit = np.kron(lit_cells, np.ones((cell, cell), bool))[:h, :w]
    ys, xs = np.mgrid[:h, :w]
    window = (ys % cell < cell * 0.6) & (xs % cell < cell * 0.5)
    out[lit & window & (train_ids == _ID['building'])] = np.array([235.0, 200.0, 120.0])
    glow = np.zeros((h, w), np.float32)
    vehicles = np.isin(train_ids, _VEHICLES).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(vehicles, connectivity=8)
    for x, y, bw, bh, area in stats[1:count]:
        if area < 12:
            continue
        radius = max(1, int(round(0.08 * bw)))
        for fx in (0.2, 0.8):
            cv2.circle(glow, (int(x + fx * bw), int(y + 0.7 * bh)), radius, 1.0, -1)
    glow = cv2.GaussianBlur(glow, (0, 0), max(1.0, w / 200))
    out += glow[..., None] * np.array([255.0, 245.0, 210.0], np.float32) * 1.5
    out += rng.normal(0.0, 4.0, out.shape).astype(np.float32)  # sensor noise of a long exposure
    return out


def _fog(img: np.ndarray, train_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grey haze thickening toward the horizon (a distance proxy), the sky fully fogged."""
    h, _ = train_ids.shape
    horizon = rng.uniform(0.4, 0.5) * h
    rows = np.arange(h, dtype=np.float32)[:, None]
    density = np.clip(1.0 - np.abs(rows - horizon) / (0.75 * h), 0.25, 0.9)
    density = np.where(train_ids == _ID['sky'], 0.95, density)[..., None]
    haze = rng.uniform(185, 215)
    out = img.astype(np.float32) * (1.0 - density) + haze * density
    return out + rng.normal(0.0, 2.0, out.shape).astype(np.float32)


# name -> function(RGB uint8 image, train-id label, rng) -> float image; 'day' is the plain look.
STYLES: dict[str, Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray] | None] = {
    'day': None, 'night': _night, 'fog': _fog}


def check_style(style: str) -> str:
    """``style`` if it names a style, else ``ValueError`` listing them."""
    if style not in STYLES:
        raise ValueError(f'unknown synthetic style {style!r}; choose one of {list(STYLES)}')
    return style


def apply_style(img: np.ndarray, train_ids: np.ndarray, style: str,
                rng: np.random.Generator) -> np.ndarray:
    """``img`` (RGB uint8) in ``style``, looked up in :data:`STYLES`; the label is only read."""
    fn = STYLES[check_style(style)]
    if fn is None:
        return img
    return np.clip(fn(img, train_ids, rng) + 0.5, 0, 255).astype(np.uint8)
