"""A tiny SegFolderDataset of 5 classes whose label files need a label_map and an
ignore_index, for tests of everything that reads labels the dataset's way."""
from __future__ import annotations

import numpy as np
from PIL import Image

from cityseg.datasets import SegFolderDataset

FIVE = ('ground', 'wall', 'tree', 'sky', 'car')
FIVE_PALETTE = [(10, 20, 30), (200, 0, 0), (0, 150, 0), (90, 90, 250), (255, 255, 0)]
# The files store void as 0 and as 9, class c as c + 1.
FIVE_LABEL_MAP = {0: 9, 1: 0, 2: 1, 3: 2, 4: 3, 5: 4}


def write_five_class_tree(root) -> dict[str, np.ndarray]:
    """``img/<name>.png`` and ``ann/<name>.png`` (values 0..5 and 9) of three images, one
    in a sub-folder; returns the raw label arrays by name, in listing order."""
    rng = np.random.default_rng(5)
    labels = {}
    for name, shape in (('a', (6, 9)), ('b/c', (5, 7)), ('d', (4, 4))):
        raw = rng.choice([0, 1, 2, 3, 4, 5, 9], size=shape).astype(np.uint8)
        raw[0, 0] = 5  # every image holds the last class
        for folder, array in (('img', np.zeros((*shape, 3), np.uint8)), ('ann', raw)):
            path = root / folder / f'{name}.png'
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(path)
        labels[name] = raw
    return labels


def mapped_counts(raw: np.ndarray) -> np.ndarray:
    """numpy's count of a raw label after FIVE_LABEL_MAP: 1..5 are classes 0..4, 0 and 9
    void."""
    return np.bincount(raw[(raw >= 1) & (raw <= 5)] - 1, minlength=5)


def five_class_dataset(root, **kwargs) -> SegFolderDataset:
    return SegFolderDataset(str(root), 'img', 'ann', '.png', '.png', classes=FIVE,
                            palette=FIVE_PALETTE, label_map=FIVE_LABEL_MAP, ignore_index=9,
                            **kwargs)
