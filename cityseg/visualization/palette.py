"""Class colours for pictures: the dataset's palette, Cityscapes' only when none is known.

Every dataset states its palette in its metainfo (``dataset_meta['palette']``: the Cityscapes
table for the driving datasets, the user's colours for :class:`.SegFolderDataset`), which the
Runner hands to the visualizer and the evaluator. Every picture cityseg draws takes its colours
from there through :func:`colorize`, so a custom dataset's visuals show its own colours.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache

import numpy as np

from cityseg.datasets.labels import IGNORE_INDEX, PALETTE

Palette = Sequence[Sequence[int]]


def palette_of(dataset_meta: Mapping | None) -> tuple[tuple[int, int, int], ...]:
    """``dataset_meta['palette']`` as a tuple of ``(R, G, B)``, else the Cityscapes palette."""
    palette = (dataset_meta or {}).get('palette')
    return PALETTE if palette is None else _as_tuple(palette)


def colorize(class_ids: np.ndarray, palette: Palette | None = None) -> np.ndarray:
    """``(..., 3)`` uint8 RGB picture of a class-index map: class ``c`` in ``palette[c]``
    (default: Cityscapes'), ignore (255) and indices without a colour black."""
    return _color_table(PALETTE if palette is None else _as_tuple(palette))[class_ids]


def _as_tuple(palette: Palette) -> tuple[tuple[int, int, int], ...]:
    """A hashable copy of ``palette``, checked: at most 255 colours of three 8-bit values."""
    colours = tuple(tuple(int(v) for v in c) for c in palette)
    if len(colours) > IGNORE_INDEX or any(
            len(c) != 3 or not all(0 <= v <= 255 for v in c) for c in colours):
        raise ValueError(f'a palette holds up to {IGNORE_INDEX} (R, G, B) colours of 0..255, '
                         f'got {list(palette)}')
    return colours


@lru_cache(maxsize=16)
def _color_table(palette: tuple[tuple[int, int, int], ...]) -> np.ndarray:
    """Lookup table over the 256 uint8 values: class index -> colour, the rest black."""
    table = np.zeros((256, 3), dtype=np.uint8)
    table[:len(palette)] = np.asarray(palette, dtype=np.uint8).reshape(-1, 3)
    table.setflags(write=False)
    return table
