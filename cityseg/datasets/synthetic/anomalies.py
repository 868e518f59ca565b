"""Objects no label covers, dropped on the road: the synthetic anomaly-segmentation benchmark.

Each labelled image of a dataset generated with ``anomalies=True`` gets 1-3 "lost cargo"
objects on its road: irregular polygons, larger nearer the camera, painted in saturated
colours with stripes or checks that no class of the scene wears. In the labels they are
Cityscapes' ``unlabeled`` (void: they count in no IoU, as in Fishyscapes Lost & Found and
SegmentMeIfYouCan), and ``*_gtFine_anomaly.png`` beside the labels marks them with
Fishyscapes' convention: 0 in-distribution, 1 anomaly, 255 void.

The objects draw from their own random stream, so the scene under them is the one the same
seed generates without anomalies.
"""
from __future__ import annotations

import colorsys
import math

import numpy as np
from PIL import Image, ImageDraw

ROAD_ID = 7  # Cityscapes label id of 'road'
ANOMALY_SUFFIX = '_gtFine_anomaly.png'


def anomaly_polygons(rng: np.random.Generator, label_ids: np.ndarray,
                     max_objects: int = 3) -> list[list[tuple[float, float]]]:
    """1..``max_objects`` polygons centred on road pixels (none when the image has no road)."""
    height, _ = label_ids.shape
    ys, xs = np.nonzero(label_ids == ROAD_ID)
    if not len(ys):
        return []
    horizon = ys.min()
    polygons = []
    for _ in range(int(rng.integers(1, max_objects + 1))):
        k = int(rng.integers(len(ys)))
        cy, cx = float(ys[k]), float(xs[k])
        nearness = (cy - horizon + 1) / (height - horizon + 1)  # 0 at the horizon, 1 at the bottom
        radius = max(3.0, height * (0.02 + 0.09 * nearness) * rng.uniform(0.7, 1.3))
        n = int(rng.integers(5, 10))
        angles = np.sort(rng.uniform(0, 2 * math.pi, n))
        radii = radius * rng.uniform(0.6, 1.0, n)
        polygons.append([(cx + r * math.cos(a), cy + 0.7 * r * math.sin(a))
                         for a, r in zip(angles, radii)])
    return polygons


def paint_anomalies(rng: np.random.Generator, img: np.ndarray,
                    polygons: list[list[tuple[float, float]]]) -> np.ndarray:
    """``img`` (RGB uint8) with each polygon filled by a saturated striped or checked texture."""
    out = img.astype(np.float32)
    height, width = img.shape[:2]
    yy, xx = np.mgrid[:height, :width]
    for polygon in polygons:
        mask = rasterize([polygon], (height, width)).astype(bool)
        hue = rng.uniform(0, 1)
        first = np.array(colorsys.hsv_to_rgb(hue, 1.0, 1.0)) * 255
        second = np.array(colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.9, 0.6)) * 255
        period = float(rng.uniform(3, 8))
        if rng.random() < 0.5:
            pattern = (np.floor((xx + yy) / period) % 2).astype(bool)  # diagonal stripes
        else:
            pattern = ((np.floor(xx / period) + np.floor(yy / period)) % 2).astype(bool)
        texture = np.where(pattern[..., None], first, second)
        texture += rng.normal(0, 6, texture.shape)
        out[mask] = texture[mask]
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def rasterize(polygons: list[list[tuple[float, float]]], shape: tuple[int, int]) -> np.ndarray:
    """``H x W`` uint8, 1 inside any polygon: PIL's polygon fill, the rasteriser of the labels."""
    canvas = Image.new('L', (shape[1], shape[0]), 0)
    draw = ImageDraw.Draw(canvas)
    for polygon in polygons:
        draw.polygon(polygon, fill=1)
    return np.asarray(canvas)


def anomaly_mask(polygons: list[list[tuple[float, float]]], train_ids: np.ndarray) -> np.ndarray:
    """1 on the objects, 255 on the other void pixels, 0 elsewhere."""
    inside = rasterize(polygons, train_ids.shape).astype(bool)
    return np.where(inside, 1, np.where(train_ids == 255, 255, 0)).astype(np.uint8)
