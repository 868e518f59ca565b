"""Base colours of the painted classes, derived from (not equal to) the label table's palette."""
from __future__ import annotations

import math

import numpy as np
from cityscapesscripts.helpers.labels import labels as CS_LABELS


def _hue_rotation(degrees: float) -> np.ndarray:
    """RGB matrix rotating hue about the grey axis (the CSS ``hue-rotate`` filter)."""
    c, s = math.cos(math.radians(degrees)), math.sin(math.radians(degrees))
    lum = np.array([0.213, 0.715, 0.072])
    cos_part = np.array([[0.787, -0.715, -0.072], [-0.213, 0.285, -0.072], [-0.213, -0.715, 0.928]])
    sin_part = np.array([[-0.213, -0.715, 0.928], [0.143, 0.140, -0.283], [-0.787, 0.715, 0.072]])
    return lum[None, :] + c * cos_part + s * sin_part


def _base_colours() -> dict[str, np.ndarray]:
    """Palette colours rotated in hue and compressed in range.

    The rotation keeps the palette's class separation (so the scene stays learnable) while
    making sure a model cannot succeed by inverting ``colorize``; the lift keeps the black void
    classes visible enough to carry texture.
    """
    rot = _hue_rotation(25.0)
    return {lb.name: (30.0 + 0.8 * np.clip(rot @ np.asarray(lb.color, float), 0, 255))
            .astype(np.float32) for lb in CS_LABELS}


BASE_COLOURS = _base_colours()
SKIN = np.array([214, 170, 140], np.float32)
GLASS = np.array([40, 52, 70], np.float32)
TYRE = np.array([22, 22, 24], np.float32)
WHITE = np.array([232, 232, 225], np.float32)
