"""Cityscapes label definitions, derived once from cityscapesscripts' label table.

cityscapesscripts' ``helpers/labels.py`` is the single source of class names, label ids, train
ids and colours; everything in cityseg that needs them imports from this module instead of
retyping the table.
"""
from __future__ import annotations

import numpy as np
from cityscapesscripts.helpers.labels import labels as CS_LABELS

IGNORE_INDEX = 255
NUM_LABEL_IDS = 34  # label ids 0..33; license plate (-1) is not stored in labelIds PNGs

_TRAIN_LABELS = sorted((lb for lb in CS_LABELS if 0 <= lb.trainId < IGNORE_INDEX),
                       key=lambda lb: lb.trainId)

CLASSES: tuple[str, ...] = tuple(lb.name for lb in _TRAIN_LABELS)
PALETTE: tuple[tuple[int, int, int], ...] = tuple(tuple(lb.color) for lb in _TRAIN_LABELS)
NUM_CLASSES = len(CLASSES)
VALID_LABEL_IDS: frozenset[int] = frozenset(lb.id for lb in CS_LABELS if lb.id >= 0)


def _build_id_to_train_id() -> np.ndarray:
    """Lookup table over all uint8 values: Cityscapes label id -> train id.

    Void ids map to 255. Values that are not Cityscapes ids also map to 255 in the table; the
    dataset checks for them separately so that a corrupt label raises instead of vanishing.
    """
    lut = np.full(256, IGNORE_INDEX, dtype=np.uint8)
    for lb in CS_LABELS:
        if lb.id >= 0:
            lut[lb.id] = lb.trainId if 0 <= lb.trainId < IGNORE_INDEX else IGNORE_INDEX
    return lut


def _build_train_id_to_id() -> np.ndarray:
    """Lookup table: train id -> Cityscapes label id (255 -> 0, 'unlabeled'), for submissions."""
    lut = np.zeros(256, dtype=np.uint8)
    for lb in _TRAIN_LABELS:
        lut[lb.trainId] = lb.id
    return lut


ID_TO_TRAIN_ID: np.ndarray = _build_id_to_train_id()
TRAIN_ID_TO_ID: np.ndarray = _build_train_id_to_id()
TRAIN_ID_TO_COLOR: np.ndarray = np.zeros((256, 3), dtype=np.uint8)
TRAIN_ID_TO_COLOR[:NUM_CLASSES] = np.asarray(PALETTE, dtype=np.uint8)


def has_label_ids(classes) -> bool:
    """Whether ``classes`` are Cityscapes' 19 training classes, the only classes with
    Cityscapes label ids (``None`` stands for them)."""
    return classes is None or tuple(classes) == CLASSES


def train_ids_to_label_ids(pred: np.ndarray) -> np.ndarray:
    """Map train ids back to Cityscapes label ids, as the test server expects."""
    return TRAIN_ID_TO_ID[pred]
