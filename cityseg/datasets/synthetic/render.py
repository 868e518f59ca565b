"""One scene: its polygons, rasterised like cityscapesscripts does, and the painted image."""
from __future__ import annotations

import cv2
import numpy as np
from PIL import Image, ImageDraw

from .layout import SceneBuilder
from .painting import Painter


def render_scene(rng: np.random.Generator, size: tuple[int, int],
                 index: int) -> tuple[np.ndarray, dict]:
    """Build scene ``index`` from ``rng``: (RGB uint8 image, polygons document in the official
    format). The image is painted through the polygons, then globally jittered and noised."""
    width, height = size
    scene = SceneBuilder(rng, width, height, index)
    shapes = scene.build()
    index_img = Image.new('I', (width, height), 0)
    draw = ImageDraw.Draw(index_img)
    for k, sh in enumerate(shapes, 1):  # the same rasteriser json2labelImg uses, same order
        draw.polygon(sh.polygon, fill=k)
    img = Painter(rng, scene).paint(shapes, np.asarray(index_img))
    contrast, brightness = rng.uniform(0.85, 1.1), rng.uniform(-15.0, 15.0)
    img = (img - 128.0) * contrast + 128.0 + brightness
    img *= rng.uniform(0.96, 1.04, 3).astype(np.float32)  # white balance
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    img += rng.normal(0.0, rng.uniform(2.0, 5.0), img.shape).astype(np.float32)
    doc = {'imgHeight': height, 'imgWidth': width,
           'objects': [{'label': sh.label, 'polygon': [list(p) for p in sh.polygon]}
                       for sh in shapes]}
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), doc
