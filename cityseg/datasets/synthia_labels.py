"""SYNTHIA-RAND-CITYSCAPES class ids and their Cityscapes train ids.

The ids are those of the dataset's README (``GT/LABELS`` PNGs, 16 bits, the class id in the
R channel); each class maps to the Cityscapes class of the same meaning, as DAFormer's
``tools/convert_datasets/synthia.py`` does; parking slots, road works and lane markings are
void. SYNTHIA has no terrain, truck or train, so it covers 16 of Cityscapes' 19 classes; the
13-class protocol also leaves out wall, fence and pole.
"""
from __future__ import annotations

import numpy as np

from .labels import CLASSES, IGNORE_INDEX

# README order: id -> name; the Cityscapes class each one is, or None (void).
SYNTHIA_CLASSES: tuple[tuple[str, str | None], ...] = (
    ('void', None), ('sky', 'sky'), ('building', 'building'), ('road', 'road'),
    ('sidewalk', 'sidewalk'), ('fence', 'fence'), ('vegetation', 'vegetation'),
    ('pole', 'pole'), ('car', 'car'), ('traffic sign', 'traffic sign'),
    ('pedestrian', 'person'), ('bicycle', 'bicycle'), ('motorcycle', 'motorcycle'),
    ('parking-slot', None), ('road-work', None), ('traffic light', 'traffic light'),
    ('terrain', 'terrain'), ('rider', 'rider'), ('truck', 'truck'), ('bus', 'bus'),
    ('train', 'train'), ('wall', 'wall'), ('lanemarking', None),
)
# Cityscapes classes evaluated under each protocol (the literature's mIoU16 and mIoU13).
PROTOCOL_CLASSES: dict[int, tuple[str, ...]] = {
    16: tuple(c for c in CLASSES if c not in ('terrain', 'truck', 'train')),
    13: tuple(c for c in CLASSES if c not in ('terrain', 'truck', 'train', 'wall', 'fence',
                                              'pole')),
}
# The same lists under the names the literature reports them by: what IoUMetric's
# ``class_subsets='synthia'`` averages (mean IoU over each subset, next to mIoU).
SYNTHIA_CLASS_SUBSETS: dict[str, tuple[str, ...]] = {
    f'mIoU{n}': classes for n, classes in PROTOCOL_CLASSES.items()}

SYNTHIA_ID_TO_TRAIN_ID = np.full(256, IGNORE_INDEX, dtype=np.uint8)
for _id, (_, _cityscapes) in enumerate(SYNTHIA_CLASSES):
    if _cityscapes is not None:
        SYNTHIA_ID_TO_TRAIN_ID[_id] = CLASSES.index(_cityscapes)
VALID_SYNTHIA_IDS = np.zeros(256, dtype=bool)
VALID_SYNTHIA_IDS[:len(SYNTHIA_CLASSES)] = True
