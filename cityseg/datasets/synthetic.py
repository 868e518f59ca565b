"""A procedural, Cityscapes-formatted street-scene dataset for tests, demos and CPU quickstarts.

The real Cityscapes download needs an account and ~11 GB; this generator writes a small dataset
with the same directory layout and file naming, so every tool that reads Cityscapes (the dataset
class, cityscapesscripts' converters and evaluator) runs on it unchanged.

Each scene is built as a z-ordered list of labelled polygons (sky, a perspective road toward a
vanishing point, sidewalks, building facades, walls, fences, vegetation, poles carrying signs and
lights, vehicles, two-wheelers with riders, pedestrians, and the void classes of the label table).
The polygons are written as the official ``gtFine_polygons.json`` and every label image is
rasterised from them by cityscapesscripts' own ``json2labelImg`` / ``json2instanceImg`` code, so
re-running the official conversion reproduces the shipped ``labelTrainIds`` exactly. The RGB image
is painted through the same polygons (same rasteriser), each class with a base colour derived from
(not equal to) its palette colour plus a class-specific texture, then globally jittered and
noised: learnable by a small network in minutes, but not a colour lookup.

Like the official test set, whose labels are dummies, the ``test`` split only has
``leftImg8bit`` images. Output is a pure function of (seed, split, index, size): every image draws
from its own ``numpy.random.Generator``, so ``nproc`` and the split sizes do not change it.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from multiprocessing import Pool
from pathlib import Path

import cv2
import numpy as np
from cityscapesscripts.helpers.annotation import Annotation
from cityscapesscripts.helpers.labels import labels as CS_LABELS
from cityscapesscripts.preparation.json2instanceImg import createInstanceImage
from cityscapesscripts.preparation.json2labelImg import createLabelImage
from PIL import Image, ImageDraw

try:  # POSIX only; elsewhere concurrent callers may generate twice but never see a partial copy.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None

__all__ = ['SPLIT_CITIES', 'generate_synthetic_cityscapes', 'ensure_synthetic_cityscapes']

SPLIT_CITIES: dict[str, tuple[str, ...]] = {
    'train': ('aachen', 'bochum', 'bremen'),
    'val': ('frankfurt', 'lindau'),
    'test': ('berlin', 'bielefeld'),
}
# Bumped whenever the drawing changes, so that cached datasets of an older look are regenerated.
GENERATOR_VERSION = 1
MARKER_NAME = '.synthetic_complete'
_FRAME = 19  # the official gtFine annotations are on frame 19 of each 30-frame snippet


# ----------------------------------------------------------------------------------------------
# Appearance: base colours derived from the label table
# ----------------------------------------------------------------------------------------------
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


_BASE = _base_colours()
_SKIN = np.array([214, 170, 140], np.float32)
_GLASS = np.array([40, 52, 70], np.float32)
_TYRE = np.array([22, 22, 24], np.float32)
_WHITE = np.array([232, 232, 225], np.float32)


# ----------------------------------------------------------------------------------------------
# Scene description
# ----------------------------------------------------------------------------------------------
@dataclass
class _Shape:
    """One annotated polygon plus what the painter needs to texture it."""

    label: str
    polygon: list[tuple[int, int]]
    tex: str
    params: dict = field(default_factory=dict)


def _clip_polygon(pts: list[tuple[float, float]], w: int, h: int) -> list[tuple[float, float]]:
    """Sutherland-Hodgman clip to the image: the JSON keeps in-image coordinates like Cityscapes."""
    def clip(poly, inside, cross):
        out = []
        for i, cur in enumerate(poly):
            prev = poly[i - 1]
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
        return out

    def at_x(x0):
        return lambda a, b: (x0, a[1] + (b[1] - a[1]) * (x0 - a[0]) / (b[0] - a[0]))

    def at_y(y0):
        return lambda a, b: (a[0] + (b[0] - a[0]) * (y0 - a[1]) / (b[1] - a[1]), y0)

    poly = list(pts)
    for inside, cross in ((lambda p: p[0] >= 0, at_x(0.0)),
                          (lambda p: p[0] <= w - 1, at_x(w - 1.0)),
                          (lambda p: p[1] >= 0, at_y(0.0)),
                          (lambda p: p[1] <= h - 1, at_y(h - 1.0))):
        if not poly:
            break
        poly = clip(poly, inside, cross)
    return poly


def _convex_hull(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Monotone-chain hull: the silhouette of a box is the hull of its projected corners."""
    pts = sorted(set(pts))

    def half(seq):
        out: list[tuple[float, float]] = []
        for p in seq:
            while len(out) >= 2 and ((out[-1][0] - out[-2][0]) * (p[1] - out[-2][1])
                                     - (out[-1][1] - out[-2][1]) * (p[0] - out[-2][0])) <= 0:
                out.pop()
            out.append(p)
        return out

    lower, upper = half(pts), half(reversed(pts))
    return lower[:-1] + upper[:-1]


def _area(poly: list[tuple[int, int]]) -> float:
    pairs = zip(poly, poly[1:] + poly[:1])
    return 0.5 * abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairs))


# Unit silhouettes (x to the right, y downwards, in units of the figure's height).
_PERSON = [(0.0, 0.0), (0.045, 0.015), (0.06, 0.065), (0.045, 0.11), (0.035, 0.13), (0.13, 0.16),
           (0.15, 0.32), (0.155, 0.5), (0.105, 0.5), (0.095, 0.25), (0.09, 0.54), (0.11, 1.0),
           (0.03, 1.0), (0.0, 0.6), (-0.03, 1.0), (-0.11, 1.0), (-0.09, 0.54), (-0.095, 0.25),
           (-0.105, 0.5), (-0.155, 0.5), (-0.15, 0.32), (-0.13, 0.16), (-0.035, 0.13),
           (-0.045, 0.11), (-0.06, 0.065), (-0.045, 0.015)]
# A seated rider facing +x: helmet, back, thigh forward, shin down; arms reach to the handlebar.
_RIDER = [(-0.02, 0.0), (0.07, 0.01), (0.09, 0.09), (0.06, 0.15), (0.1, 0.2), (0.32, 0.38),
          (0.3, 0.44), (0.1, 0.32), (0.08, 0.55), (0.3, 0.58), (0.33, 0.98), (0.24, 1.0),
          (0.21, 0.7), (-0.04, 0.7), (-0.12, 0.62), (-0.1, 0.25), (-0.06, 0.15), (-0.09, 0.08)]


class _SceneBuilder:
    """Samples one street scene in a simple pinhole model and records its polygons in z-order.

    Ground points are (X lateral metres, Z depth metres); a point at height h projects to
    ``x = x_v + X f / Z``, ``y = y_h + (cam_h - h) f / Z``. Structures that line the street are
    drawn first; free-standing objects are sorted far to near so nearer ones occlude.
    """

    def __init__(self, rng: np.random.Generator, width: int, height: int, index: int):
        self.rng, self.w, self.h, self.index = rng, width, height, index
        self.s = min(width / 512.0, height / 256.0)  # pixel scale of minimum object sizes
        self.f = float(width)
        self.y_h = height * rng.uniform(0.34, 0.48)
        self.x_v = width * rng.uniform(0.38, 0.62)
        self.road = rng.uniform(3.5, 7.0)  # half width of the road, metres
        bottom = height - self.y_h
        self.cam_h = self.road * bottom / (width * rng.uniform(0.3, 0.48))
        self.z_bottom = self.cam_h * self.f / bottom  # depth seen at the bottom image row
        self.side = {-1: rng.uniform(2.0, 4.5), 1: rng.uniform(2.0, 4.5)}  # sidewalk widths
        self.z_far = rng.uniform(110.0, 220.0)
        self.rail: float | None = None  # lateral position of a tram line, if any
        self.outer: dict[int, float] = {}  # where the facades start, per side
        self.layers: list[_Shape] = []
        self.items: list[tuple[float, list[_Shape]]] = []
        self.overlay: list[_Shape] = []

    # --- geometry helpers ---------------------------------------------------------------------
    def proj(self, x: float, z: float, h: float = 0.0) -> tuple[float, float]:
        k = self.f / z
        return self.x_v + x * k, self.y_h + (self.cam_h - h) * k

    def px(self, metres: float, z: float) -> float:
        return metres * self.f / z

    def shape(self, label: str, pts: list[tuple[float, float]], tex: str | None = None,
              **params) -> _Shape | None:
        """Clip, round and keep a polygon; ``params['box']`` is its unclipped bounding box."""
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        poly: list[tuple[int, int]] = []
        for x, y in _clip_polygon(pts, self.w, self.h):
            p = (round(x), round(y))
            if not poly or poly[-1] != p:
                poly.append(p)
        while len(poly) > 1 and poly[0] == poly[-1]:
            poly.pop()
        if len(poly) < 3 or _area(poly) < 1.0:
            return None
        params.setdefault('box', (min(xs), min(ys), max(xs), max(ys)))
        params.setdefault('color', self.tint(label))
        return _Shape(label, poly, tex or label, params)

    def tint(self, label: str) -> np.ndarray:
        """The class base colour with per-object brightness and hue jitter."""
        gain = self.rng.uniform(0.92, 1.08) * (1.0 + self.rng.normal(0.0, 0.05, 3))
        return (_BASE[label] * gain).astype(np.float32)

    def layer(self, label: str, pts, tex: str | None = None, **params) -> None:
        if (sh := self.shape(label, pts, tex, **params)) is not None:
            self.layers.append(sh)

    def item(self, z: float, shapes: list[_Shape | None]) -> None:
        kept = [sh for sh in shapes if sh is not None]
        if kept:
            self.items.append((z, kept))

    def ground_quad(self, x0: float, x1: float, z0: float, z1: float):
        return [self.proj(x0, z0), self.proj(x1, z0), self.proj(x1, z1), self.proj(x0, z1)]

    def side_quad(self, x: float, z0: float, z1: float, h0: float, h1: float):
        return [self.proj(x, z0, h0), self.proj(x, z0, h1), self.proj(x, z1, h1),
                self.proj(x, z1, h0)]

    def box(self, x: float, z: float, w: float, ln: float, h0: float, h1: float):
        """Projected corners of an axis-aligned box (centre x, near face at depth z)."""
        return [self.proj(x + dx, z + dz, hh) for dx in (-w / 2, w / 2) for dz in (0.0, ln)
                for hh in (h0, h1)]

    def figure(self, unit, x: float, z: float, height_m: float, min_px: float, mirror: bool):
        """Scale a unit silhouette standing at (x, z); at least ``min_px`` tall on screen."""
        hp = max(self.px(height_m, z), min_px * self.s)
        bx, by = self.proj(x, z)
        sign = -1.0 if mirror else 1.0
        return [(bx + sign * ux * hp, by - hp + uy * hp) for ux, uy in unit]

    def depth_range(self, lo: float, hi: float) -> float:
        """Depth sampled uniformly in inverse depth, i.e. uniformly over image rows."""
        return 1.0 / self.rng.uniform(1.0 / hi, 1.0 / lo)

    # --- scene content --------------------------------------------------------------------
    def build(self) -> list[_Shape]:
        rng = self.rng
        self.layer('sky', [(0, 0), (self.w - 1, 0), (self.w - 1, self.y_h + 2), (0, self.y_h + 2)],
                   cloud=rng.uniform(0.1, 0.7))
        self.layer('ground' if rng.random() < 0.5 else 'terrain',
                   [(0, self.y_h), (self.w - 1, self.y_h), (self.w - 1, self.h - 1),
                    (0, self.h - 1)])
        self.skyline()
        self.street()
        for side in (-1, 1):
            self.facades(side)
        self.street_furniture()
        self.traffic()
        self.people()
        self.ego()
        ordered = self.layers + [sh for _, shapes in sorted(self.items, key=lambda t: -t[0])
                                 for sh in shapes]
        return ordered + self.overlay

    def skyline(self) -> None:
        """Fronto-parallel buildings at the end of the street, and sometimes a tunnel mouth."""
        rng, z = self.rng, self.z_far
        x = (0 - self.x_v) * z / self.f - 5
        x_end = (self.w - self.x_v) * z / self.f + 5
        while x < x_end:
            width = rng.uniform(8.0, 30.0)
            if rng.random() > 0.2:
                top = rng.uniform(6.0, 30.0)
                self.layer('building', [self.proj(x, z, 0), self.proj(x, z, top),
                                        self.proj(x + width, z, top), self.proj(x + width, z, 0)],
                           plane=('front', z), style=int(rng.integers(3)),
                           period=(rng.uniform(2.5, 4.5), rng.uniform(2.8, 3.6)))
            x += width
        if rng.random() < 0.12:
            zt, half, top = z * 0.9, self.road + 2.0, rng.uniform(5.0, 8.0)
            arch = [self.proj(-half * math.cos(a), zt, top * 0.6 + top * 0.4 * math.sin(a))
                    for a in np.linspace(0, math.pi, 9)]
            self.layer('tunnel', [self.proj(-half, zt), *arch, self.proj(half, zt)])

    def street(self) -> None:
        rng, road, zf = self.rng, self.road, self.z_far
        zn = self.z_bottom * 0.3
        lines = [0.0] + [sgn * (road - 0.3) for sgn in (-1, 1)]
        if road > 5.0:
            lines += [-road / 2, road / 2]
        self.layer('road', self.ground_quad(-road, road, zn, zf), lines=lines,
                   dash=rng.uniform(4.0, 8.0))
        if rng.random() < 0.3:
            sgn, z0 = rng.choice([-1, 1]), self.depth_range(self.z_bottom, 60.0)
            self.layer('parking', self.ground_quad(sgn * road, sgn * (road - 2.3), z0,
                                                   z0 + rng.uniform(10, 40)))
        if self.index % 2 == 0 or rng.random() < 0.35:
            self.rail = float(rng.choice([-1, 1])) * road / 2  # a lane of its own
            self.layer('rail track', self.ground_quad(self.rail - 1.2, self.rail + 1.2, zn, zf),
                       centre=self.rail)
        for side in (-1, 1):
            edge = road + self.side[side]
            self.layer('sidewalk', self.ground_quad(side * road, side * edge, zn, zf),
                       curb=road, tile=rng.uniform(0.4, 0.7))
            strip = rng.uniform(0.0, 5.0) if rng.random() < 0.8 else 0.0
            if strip > 0.3:
                label = rng.choice(['terrain', 'terrain', 'terrain', 'ground', 'parking'])
                self.layer(str(label), self.ground_quad(side * edge, side * (edge + strip), zn, zf))
            self.outer[side] = edge + strip

    def facades(self, side: int) -> None:
        """Buildings, walls and hedges along one side of the street, near to far."""
        rng, x0 = self.rng, self.outer[side]
        z = self.z_bottom * rng.uniform(0.3, 0.8)
        while z < self.z_far * 0.85:
            ln = rng.uniform(8.0, 30.0)
            kind = rng.choice(['building', 'building', 'building', 'wall', 'hedge', 'gap'],
                              p=[0.22, 0.18, 0.15, 0.2, 0.15, 0.1])
            x = side * (x0 + rng.uniform(0.5, 3.0))
            if kind != 'gap' and (kind == 'building' or rng.random() < 0.7):
                top = rng.uniform(6.0, 18.0)
                self.layer('building', self.side_quad(x + side * 2.0, z, z + ln, 0.0, top),
                           plane=('side', x + side * 2.0), style=int(rng.integers(3)),
                           period=(rng.uniform(2.5, 4.5), rng.uniform(2.8, 3.6)))
            if kind == 'wall':
                self.layer('wall', self.side_quad(x, z, z + ln, 0.0, rng.uniform(1.5, 4.0)),
                           plane=('side', x), block=rng.uniform(0.4, 0.8))
            elif kind == 'hedge':
                zs = np.linspace(z, z + ln, 10)
                tops = rng.uniform(1.5, 4.0) * rng.uniform(0.8, 1.2, zs.size)
                pts = [self.proj(x, z, 0.0)] + [self.proj(x, zz, t) for zz, t in zip(zs, tops)]
                self.layer('vegetation', pts + [self.proj(x, z + ln, 0.0)])
            z += ln
            if rng.random() < 0.2:
                z += rng.uniform(2.0, 10.0)  # a side street: the far skyline shows through
        for label, p in (('fence', 0.55), ('wall', 0.3)):  # along the sidewalk's outer edge
            if rng.random() < p:
                z0 = self.depth_range(self.z_bottom * 0.6, 40.0)
                x = side * (self.road + self.side[side] - 0.1)
                self.layer(label, self.side_quad(x, z0, z0 + rng.uniform(8, 40), 0.0,
                                                 rng.uniform(1.0, 2.2)),
                           plane=('side', x), bar=rng.uniform(0.15, 0.35),
                           block=rng.uniform(0.4, 0.8))
        if rng.random() < 0.15:
            z0 = self.depth_range(self.z_bottom, 40.0)
            x = side * (self.road + 0.1)
            self.layer('guard rail', self.side_quad(x, z0, z0 + rng.uniform(10, 40), 0.0, 0.8),
                       plane=('side', x))

    def street_furniture(self) -> None:
        rng = self.rng
        n_poles = int(rng.integers(3, 7))
        for i in range(n_poles):
            side = int(rng.choice([-1, 1]))
            z = self.depth_range(self.z_bottom * 1.05, 55.0)
            x = side * (self.road + rng.uniform(0.3, 0.9))
            group = rng.random() < 0.1
            self.pole(x, z, rng.uniform(4.0, 9.0), sign=i == 0 or rng.random() < 0.75,
                      light=i in (1, 2) or rng.random() < 0.4, group=group)
        for _ in range(int(rng.integers(1, 6))):  # trees on the strip or the sidewalk's edge
            side = int(rng.choice([-1, 1]))
            z = self.depth_range(self.z_bottom * 1.1, 70.0)
            x = side * rng.uniform(self.road + self.side[side] * 0.7, self.outer[side] + 1.5)
            self.tree(x, z)
        for label, p in (('static', 0.4), ('dynamic', 0.3)):
            if rng.random() < p:
                side = int(rng.choice([-1, 1]))
                z = self.depth_range(self.z_bottom * 1.1, 40.0)
                x = side * (self.road + rng.uniform(0.5, self.side[side]))
                w, h = (rng.uniform(0.8, 2.0), rng.uniform(0.5, 1.2))
                pts = [self.proj(x - w / 2, z), self.proj(x - w / 2, z, h),
                       self.proj(x + w / 2, z, h), self.proj(x + w / 2, z)]
                self.item(z, [self.shape(label, pts)])
        if rng.random() < 0.1:  # a bridge across the street
            z, top = self.depth_range(30.0, 90.0), rng.uniform(6.0, 9.0)
            span = (self.w + 20) * z / self.f
            pts = [self.proj(-span, z, top - 1.5), self.proj(-span, z, top),
                   self.proj(span, z, top), self.proj(span, z, top - 1.5)]
            self.item(z, [self.shape('bridge', pts)])

    def pole(self, x: float, z: float, height: float, sign: bool, light: bool, group: bool) -> None:
        rng = self.rng
        half = max(self.px(0.12, z), 3.0 * self.s)
        bx, by = self.proj(x, z)
        _, ty = self.proj(x, z, height)
        label = 'polegroup' if group else 'pole'
        shapes = [self.shape(label, [(bx - half, by), (bx - half, ty), (bx + half, ty),
                                     (bx + half, by)], 'pole')]
        if group:
            dx = 3.5 * half
            shapes.append(self.shape(label, [(bx + dx - half, by), (bx + dx - half, ty + 3),
                                             (bx + dx + half, ty + 3), (bx + dx + half, by)],
                                     'pole'))
        if light:
            hw = max(self.px(0.2, z), 4.0 * self.s)
            hh = max(self.px(0.55, z), 10.0 * self.s)
            _, cy = self.proj(x, z, min(height - 0.5, rng.uniform(3.0, 5.0)))
            cx = bx + rng.choice([-1, 0, 1]) * (half + hw)
            shapes.append(self.shape('traffic light', [(cx - hw, cy - hh), (cx + hw, cy - hh),
                                                       (cx + hw, cy + hh), (cx - hw, cy + hh)],
                                     lit=int(rng.integers(3))))
        if sign:
            r = max(self.px(rng.uniform(0.3, 0.45), z), 7.0 * self.s)
            _, cy = self.proj(x, z, rng.uniform(2.2, 3.0))
            kind = int(rng.integers(4))
            if kind == 0:
                pts = [(bx + r * math.cos(a), cy + r * math.sin(a))
                       for a in np.linspace(0, 2 * math.pi, 16, endpoint=False)]
            elif kind == 1:
                pts = [(bx, cy + r), (bx - r * 1.1, cy - r * 0.8), (bx + r * 1.1, cy - r * 0.8)]
            elif kind == 2:
                pts = [(bx, cy - r), (bx + r, cy), (bx, cy + r), (bx - r, cy)]
            else:
                pts = [(bx - r, cy - r * 0.7), (bx + r, cy - r * 0.7), (bx + r, cy + r * 0.7),
                       (bx - r, cy + r * 0.7)]
            shapes.append(self.shape('traffic sign', pts, centre=(bx, cy, r), kind=kind))
        self.item(z, shapes)

    def tree(self, x: float, z: float) -> None:
        rng = self.rng
        trunk_h, radius = rng.uniform(1.8, 3.5), rng.uniform(1.2, 3.2)
        tw = max(self.px(0.18, z), 2.0 * self.s)
        bx, by = self.proj(x, z)
        _, ty = self.proj(x, z, trunk_h)
        r = self.px(radius, z)
        cy = ty - r * 0.8
        gap = math.asin(min(0.9, tw / max(r, 1e-3)))
        angles = np.linspace(math.pi / 2 + gap, math.pi / 2 + 2 * math.pi - gap, 18)
        radii = r * rng.uniform(0.8, 1.15, angles.size)
        crown = [(bx + rr * math.cos(a), cy + rr * math.sin(a)) for a, rr in zip(angles, radii)]
        pts = [(bx + tw, by), *crown, (bx - tw, by)]
        self.item(z, [self.shape('vegetation', pts, trunk=(bx, ty, tw))])

    def traffic(self) -> None:
        """Vehicles on lanes (never overlapping in depth within a lane), trams on the rail."""
        rng = self.rng
        lanes = [-self.road / 2, self.road / 2, -(self.road - 1.1), self.road - 1.1]
        taken: list[tuple[float, float, float]] = []
        specs = {  # width, length, height (metres)
            'car': (1.8, 4.3, 1.5), 'truck': (2.5, 8.0, 3.4), 'bus': (2.55, 12.0, 3.2),
            'caravan': (2.3, 6.5, 2.7), 'trailer': (2.2, 5.0, 2.0),
        }
        todo = [k for k, p in (('truck', 0.7), ('bus', 0.7), ('caravan', 0.12),
                               ('trailer', 0.1)) if rng.random() < p]
        todo += ['car'] * int(rng.integers(1, 5))  # big vehicles first: they need more room
        if self.rail is not None and (self.index % 2 == 0 or rng.random() < 0.7):
            z = self.depth_range(self.z_bottom * 1.1, 35.0)
            self.vehicle('train', self.rail, z, 2.8, rng.uniform(25.0, 60.0), 3.8)
            taken.append((self.rail, z, z + 60.0))
        for kind in todo:
            w, ln, h = specs[kind]
            for _ in range(8):  # rejection sampling of a free spot
                x = float(rng.choice(lanes)) + rng.uniform(-0.4, 0.4)
                z = self.depth_range(self.z_bottom * 0.95, 80.0)
                if all(abs(x - tx) > 2.6 or z + ln + 1 < z0 or z > z1 + 1 for tx, z0, z1 in taken):
                    taken.append((x, z, z + ln))
                    self.vehicle(kind, x, z, w * rng.uniform(0.93, 1.07), ln,
                                 h * rng.uniform(0.9, 1.1))
                    break
        wheels = [k for k in ('motorcycle', 'bicycle') if rng.random() < 0.85]
        wheels += [str(rng.choice(['motorcycle', 'bicycle'])) for _ in range(rng.integers(0, 3))]
        for kind in wheels:
            on_road = rng.random() < 0.6
            side = int(rng.choice([-1, 1]))
            x = side * (self.road - rng.uniform(0.8, 2.0) if on_road
                        else self.road + rng.uniform(0.5, self.side[side]))
            z = self.depth_range(self.z_bottom * 1.05, 28.0)
            self.two_wheeler(kind, x, z, ridden=on_road or rng.random() < 0.5)

    def vehicle(self, kind: str, x: float, z: float, w: float, ln: float, h: float) -> None:
        rng = self.rng
        corners = self.box(x, z, w, ln, 0.0, h * (0.62 if kind == 'car' else 1.0))
        if kind == 'car':
            corners += self.box(x, z + ln * 0.22, w * 0.84, ln * 0.5, h * 0.6, h)
        elif kind == 'truck':  # cab lower than the cargo box
            corners += self.box(x, z - 2.0, w * 0.95, 2.0, 0.0, h * 0.8)
        hull = _convex_hull(corners)
        rear = (*self.proj(x - w / 2, z, h), *self.proj(x + w / 2, z))
        shapes = [self.shape(kind, hull, rear=rear, ribs=int(rng.integers(5, 12)))]
        if kind == 'car' and rng.random() < 0.5:  # license plates: not drawn in label images
            qx, qy = self.proj(x, z, 0.45)
            hw, hh = self.px(0.26, z), self.px(0.06, z)
            if hw >= 3:
                shapes.append(self.shape('license plate', [(qx - hw, qy - hh), (qx + hw, qy - hh),
                                                           (qx + hw, qy + hh), (qx - hw, qy + hh)]))
        self.item(z, shapes)

    def two_wheeler(self, kind: str, x: float, z: float, ridden: bool) -> None:
        """A side view: wheels and frame as one polygon, the rider on top of it."""
        rng = self.rng
        ln, h = (2.0, 1.15) if kind == 'motorcycle' else (1.75, 1.05)
        hp = max(self.px(h, z), (26.0 if kind == 'motorcycle' else 24.0) * self.s)
        lp = hp * ln / h
        bx, by = self.proj(x, z)
        face = 1.0 if rng.random() < 0.5 else -1.0
        r = hp * (0.33 if kind == 'motorcycle' else 0.36)
        front = (bx + face * (lp / 2 - r), by - r)
        rear = (bx - face * (lp / 2 - r), by - r)
        # lower outline left to right (each wheel's lower half), upper outline right to left
        lower = [(cx + r * math.cos(a), cy + r * math.sin(a)) for cx, cy in sorted([front, rear])
                 for a in np.linspace(math.pi, 0, 7)]
        hx, seat = front[0] - face * r * 0.3, (bx - face * lp * 0.12, by - hp * 0.8)
        upper = [(hx, by - hp), (hx - face * r * 0.5, by - hp * 0.9), seat,
                 (rear[0], by - 2 * r - 0.05 * hp)]
        outline = lower + sorted(upper, key=lambda p: -p[0])
        shapes = [self.shape(kind, outline, wheels=[(*front, r), (*rear, r)])]
        if ridden:  # the rider's hip (unit point 13) sits on the seat
            rh = hp * 1.4
            unit = [(-ux if face < 0 else ux, uy) for ux, uy in _RIDER]
            hip = unit[13]
            rider = [(seat[0] + (ux - hip[0]) * rh, seat[1] + (uy - hip[1]) * rh)
                     for ux, uy in unit]
            shapes.append(self.shape('rider', rider))
        self.item(z, shapes)

    def people(self) -> None:
        rng = self.rng
        for _ in range(int(rng.integers(4, 10))):
            side = int(rng.choice([-1, 1]))
            if rng.random() < 0.2:
                x = rng.uniform(-self.road, self.road)  # crossing the street
            else:
                x = side * (self.road + rng.uniform(0.3, self.side[side] - 0.3))
            z = self.depth_range(self.z_bottom * 1.02, 35.0)
            pts = self.figure(_PERSON, x, z, rng.uniform(1.55, 1.95), 28.0,
                                 mirror=rng.random() < 0.5)
            self.item(z, [self.shape('person', pts, shirt=rng.uniform(0.8, 1.15, 3))])

    def ego(self) -> None:
        rng, w, h = self.rng, self.w, self.h
        if rng.random() < 0.6:
            depth = h * rng.uniform(0.06, 0.13)
            xs = np.linspace(0, w - 1, 15)
            curve = [(float(x), h - depth * (1.0 - 0.45 * ((x - w / 2) / (w / 2)) ** 2))
                     for x in xs]
            if (sh := self.shape('ego vehicle', [(0, h - 1), *curve, (w - 1, h - 1)])) is not None:
                self.overlay.append(sh)
        if rng.random() < 0.15:
            c = h * rng.uniform(0.05, 0.12)
            for pts in ([(0, h - 1 - c), (c * 1.5, h - 1), (0, h - 1)],
                        [(w - 1, h - 1 - c), (w - 1, h - 1), (w - 1 - c * 1.5, h - 1)]):
                if (sh := self.shape('rectification border', pts)) is not None:
                    self.overlay.append(sh)
        if rng.random() < 0.1:
            band = max(2.0, 3.0 * self.s)
            sh = self.shape('out of roi', [(0, h - 1 - band), (w - 1, h - 1 - band), (w - 1, h - 1),
                                           (0, h - 1)])
            if sh is not None:
                self.overlay.append(sh)


# ----------------------------------------------------------------------------------------------
# Painting: class textures over the pixels of each polygon
# ----------------------------------------------------------------------------------------------
def _smooth_noise(rng: np.random.Generator, h: int, w: int, cell: float) -> np.ndarray:
    """Value noise in about [-1, 1] with features of ``cell`` pixels."""
    gh, gw = int(h / cell) + 3, int(w / cell) + 3
    grid = rng.uniform(-1.0, 1.0, (gh, gw)).astype(np.float32)
    big = cv2.resize(grid, (int(gw * cell), int(gh * cell)), interpolation=cv2.INTER_CUBIC)
    return big[:h, :w]


def _frac(v: np.ndarray) -> np.ndarray:
    return v - np.floor(v)


def _mix(a: np.ndarray, b: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Per-pixel blend of colours a -> b by weights m (N,)."""
    m = m[:, None]
    return a * (1.0 - m) + b * m


def _rel(p: dict, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixel position inside the shape's unclipped bounding box, in [0, 1]."""
    x0, y0, x1, y1 = p['box']
    return (x - x0) / max(x1 - x0, 1.0), (y - y0) / max(y1 - y0, 1.0)


class _Painter:
    """Paints shapes with class textures; noise fields are shared by the whole image."""

    def __init__(self, rng: np.random.Generator, scene: _SceneBuilder):
        h, w = scene.h, scene.w
        self.sc = scene
        self.low = _smooth_noise(rng, h, w, 24.0 * scene.s)
        self.mid = _smooth_noise(rng, h, w, 5.0 * scene.s)
        self.fine = _smooth_noise(rng, h, w, 2.0)
        self.grain = rng.normal(0.0, 1.0, (h, w)).astype(np.float32)
        self.tex: dict[str, Callable[[dict, np.ndarray, np.ndarray, np.ndarray], np.ndarray]] = {
            name[5:].replace('_', ' '): getattr(self, name) for name in dir(self)
            if name.startswith('_tex_')
        }

    def paint(self, shapes: list[_Shape], index_map: np.ndarray) -> np.ndarray:
        img = np.zeros((*index_map.shape, 3), np.float32)
        img[:] = _BASE['unlabeled']
        for k, sh in enumerate(shapes, 1):
            xs, ys = zip(*sh.polygon)
            x0, y0 = min(xs), min(ys)
            yy, xx = np.nonzero(index_map[y0:max(ys) + 1, x0:max(xs) + 1] == k)
            if yy.size:
                x, y = xx + x0, yy + y0
                fn = self.tex.get(sh.tex, self._tex_plain)
                img[y, x] = fn(sh.params, x.astype(np.float32), y.astype(np.float32), (y, x))
        return img

    # --- coordinate helpers ---------------------------------------------------------------
    def ground(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Ground-plane coordinates (X, Z) in metres of image pixels below the horizon."""
        sc = self.sc
        z = sc.cam_h * sc.f / np.maximum(y - sc.y_h, 0.5)
        return (x - sc.x_v) * z / sc.f, z

    def plane(self, p: dict, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(along, height) in metres on a vertical facade: 'side' at lateral X, 'front' at Z."""
        sc = self.sc
        kind, value = p['plane']
        if kind == 'side':
            dx = x - sc.x_v
            z = value * sc.f / np.where(np.abs(dx) < 0.5, np.copysign(0.5, value), dx)
            z = np.abs(z)
        else:
            z = np.full_like(x, value)
        along = z if kind == 'side' else (x - sc.x_v) * z / sc.f
        return along, sc.cam_h - (y - sc.y_h) * z / sc.f

    # --- textures: (params, x, y, index) -> (N, 3) colours --------------------------------
    def _tex_plain(self, p, x, y, ix):
        return p['color'] * (1.0 + 0.12 * self.mid[ix])[:, None]

    def _tex_sky(self, p, x, y, ix):
        c = p['color'] * (0.8 + 0.35 * np.clip(y / max(self.sc.y_h, 1.0), 0, 1))[:, None]
        cloud = np.clip((self.low[ix] + 0.6 * self.mid[ix] - p['cloud']) * 2.0, 0, 1) * 0.7
        return _mix(c, _WHITE * 0.95, cloud)

    def _tex_road(self, p, x, y, ix):
        gx, gz = self.ground(x, y)
        c = p['color'] * (0.95 + 0.06 * self.mid[ix] + 0.05 * self.fine[ix])[:, None]
        wear = np.exp(-((np.abs(gx) % (self.sc.road / 2) - self.sc.road / 4) ** 2) / 0.3)
        c = c * (1.0 - 0.08 * wear)[:, None]
        mark = np.zeros_like(x, dtype=bool)
        width = np.maximum(0.09, 0.5 * gz / self.sc.f)  # keep far lines at least ~1 px wide
        dashed = _frac(gz / p['dash']) < 0.45
        for i, line in enumerate(p['lines']):
            on = np.abs(gx - line) < width
            mark |= on & dashed if i == 0 or i > 2 else on
        return _mix(c, _WHITE * 0.92, mark.astype(np.float32) * 0.9)

    def _tex_sidewalk(self, p, x, y, ix):
        gx, gz = self.ground(x, y)
        t = p['tile']
        step = gz * gz / (self.sc.cam_h * self.sc.f)  # depth covered by one pixel row
        grout = (_frac(gx / t) < 0.08) | ((_frac(gz / t) < 0.1) & (step < 0.25 * t))
        c = p['color'] * (1.0 + 0.07 * self.fine[ix] - 0.22 * grout)[:, None]
        curb = np.abs(np.abs(gx) - p['curb']) < 0.25
        return _mix(c, np.array([200, 196, 190], np.float32), curb * 0.7)

    def _tex_parking(self, p, x, y, ix):
        gx, gz = self.ground(x, y)
        c = p['color'] * (0.9 + 0.1 * self.mid[ix])[:, None]
        return _mix(c, _WHITE, (_frac(gz / 2.6) < 0.06) * 0.8)

    def _tex_rail_track(self, p, x, y, ix):
        gx, gz = self.ground(x, y)
        off = np.abs(gx - p['centre'])
        c = p['color'] * (0.8 + 0.25 * self.fine[ix] + 0.1 * self.grain[ix])[:, None]
        c = _mix(c, np.array([90, 70, 50], np.float32), (_frac(gz / 0.65) < 0.35) * 0.6)
        rail = np.abs(off - 0.72) < np.maximum(0.06, 0.6 * gz / self.sc.f)
        return _mix(c, np.array([190, 190, 200], np.float32), rail * 0.9)

    def _tex_ground(self, p, x, y, ix):
        return p['color'] * (0.85 + 0.12 * self.mid[ix] + 0.06 * self.grain[ix])[:, None]

    def _tex_terrain(self, p, x, y, ix):
        blades = self.fine[ix] + 0.5 * self.grain[ix]
        return p['color'] * (0.9 + 0.08 * self.low[ix] + 0.07 * blades)[:, None]

    def _tex_vegetation(self, p, x, y, ix):
        leaves = np.tanh(2.5 * (self.mid[ix] + 0.6 * self.fine[ix]))
        c = p['color'] * (0.8 + 0.22 * leaves + 0.05 * self.grain[ix])[:, None]
        if 'trunk' in p:
            bx, ty, tw = p['trunk']
            bark = (np.abs(x - bx) <= tw) & (y > ty)
            c = _mix(c, np.array([92, 70, 52], np.float32), bark * 0.85)
        return c

    def _tex_building(self, p, x, y, ix):
        along, hgt = self.plane(p, x, y)
        pa, ph = p['period']
        c = p['color'] * (0.95 + 0.06 * self.low[ix] + 0.05 * self.fine[ix])[:, None]
        if p['style'] == 1:  # brick courses
            c = c * (1.0 - 0.15 * (_frac(hgt / 0.35) < 0.2))[:, None]
        window = ((np.abs(_frac(along / pa) - 0.5) < (0.32 if p['style'] == 2 else 0.22))
                  & (np.abs(_frac(hgt / ph) - 0.5) < 0.25) & (hgt > 1.5))
        glass = _GLASS + 30.0 * self.low[ix][:, None]
        return _mix(c, glass, window * 0.85)

    def _tex_wall(self, p, x, y, ix):
        along, hgt = self.plane(p, x, y)
        b = p['block']
        row = np.floor(hgt / b)
        col = np.floor(along / (2 * b) + 0.5 * row)
        joint = (_frac(hgt / b) < 0.1) | (_frac(along / (2 * b) + 0.5 * row) < 0.05)
        stone = 0.92 + 0.1 * np.sin(row * 1.7 + col * 2.3)  # blocks of varying shade
        return p['color'] * (stone + 0.05 * self.mid[ix] - 0.3 * joint)[:, None]

    def _tex_fence(self, p, x, y, ix):
        along, hgt = self.plane(p, x, y)
        bar = _frac(along / p['bar']) < 0.4
        c = np.where(bar[:, None], p['color'], p['color'] * 0.5 + 25.0)
        top = _frac(hgt / 0.5) < 0.15
        return c * (1.0 + 0.12 * top + 0.05 * self.fine[ix])[:, None]

    def _tex_guard_rail(self, p, x, y, ix):
        along, hgt = self.plane(p, x, y)
        band = (hgt > 0.45) & (hgt < 0.75)
        post = _frac(along / 2.0) < 0.1
        return p['color'] * (0.55 + 0.5 * (band | post) + 0.05 * self.fine[ix])[:, None]

    def _tex_pole(self, p, x, y, ix):
        tx, _ = _rel(p, x, y)
        shade = 0.65 + 0.45 * np.sin(np.pi * np.clip(tx, 0, 1))
        return p['color'] * (shade + 0.04 * self.grain[ix])[:, None]

    def _tex_traffic_sign(self, p, x, y, ix):
        cx, cy, r = p['centre']
        d = np.maximum(np.abs(x - cx), np.abs(y - cy)) / r
        if p['kind'] == 0:
            d = np.hypot(x - cx, y - cy) / r
        elif p['kind'] == 2:
            d = (np.abs(x - cx) + np.abs(y - cy)) / r
        border = d > 0.72
        symbol = (np.abs(y - cy) < 0.15 * r) & (np.abs(x - cx) < 0.45 * r)
        c = np.where(border[:, None], np.array([235, 235, 225], np.float32), p['color'])
        return np.where(symbol[:, None], np.float32(0.35) * p['color'], c)

    def _tex_traffic_light(self, p, x, y, ix):
        tx, ty = _rel(p, x, y)
        c = p['color'] * 0.85
        lamp = np.floor(np.clip(ty, 0, 0.999) * 3)
        centre = (lamp + 0.5) / 3
        x0, y0, x1, y1 = p['box']
        ratio = (y1 - y0) / max(x1 - x0, 1.0)
        on = np.hypot(tx - 0.5, (ty - centre) * ratio) < 0.3
        lit = np.array([[255, 70, 50], [255, 210, 60], [70, 255, 140]], np.float32)
        lamp_col = np.where((lamp == p['lit'])[:, None], lit[p['lit']], np.float32(45.0))
        return np.where(on[:, None], lamp_col, c)

    def _tex_person(self, p, x, y, ix):
        _, ty = _rel(p, x, y)
        shirt = p['color'] * p['shirt']
        c = np.where((ty < 0.54)[:, None], shirt, p['color'] * 0.55 + 15.0)
        return np.where((ty < 0.13)[:, None], 0.5 * _SKIN + 0.5 * p['color'], c)

    def _tex_rider(self, p, x, y, ix):
        """Dark helmet and a banded high-visibility suit: riders must not read as pedestrians."""
        _, ty = _rel(p, x, y)
        c = np.where((ty < 0.15)[:, None], np.float32(0.35) * p['color'] + 20.0, p['color'])
        return _mix(c, _WHITE, (_frac(ty * 7.0) < 0.3) * (ty > 0.2) * 0.75)

    def _vehicle(self, p, x, y, ix, glass: tuple[float, float]) -> np.ndarray:
        """Body colour, a glass band, dark wheels at the bottom corners, lamps on the rear face."""
        tx, ty = _rel(p, x, y)
        rx0, ry0, rx1, ry1 = p['rear']
        rel_x = (x - rx0) / max(rx1 - rx0, 1.0)
        rel_y = (y - ry0) / max(ry1 - ry0, 1.0)
        c = p['color'] * (0.95 + 0.12 * (1 - ty) + 0.04 * self.fine[ix])[:, None]
        band = (ty > glass[0]) & (ty < glass[1]) & (tx > 0.06) & (tx < 0.94)
        c = _mix(c, _GLASS + 25.0 * self.low[ix][:, None], band * 0.9)
        wheel = (ty > 0.86) & ((rel_x < 0.2) | (rel_x > 0.8))
        c = np.where(wheel[:, None], _TYRE, c)
        lamp = (np.abs(rel_y - 0.55) < 0.06) & ((rel_x < 0.12) | (rel_x > 0.88))
        return _mix(c, np.array([230, 40, 40], np.float32), lamp * 0.85)

    def _tex_car(self, p, x, y, ix):
        return self._vehicle(p, x, y, ix, (0.08, 0.4))

    def _tex_truck(self, p, x, y, ix):
        c = self._vehicle(p, x, y, ix, (0.05, 0.16))
        tx, _ = _rel(p, x, y)
        return c * (1.0 - 0.18 * (_frac(tx * p['ribs']) < 0.18))[:, None]

    def _tex_bus(self, p, x, y, ix):
        tx, ty = _rel(p, x, y)
        c = self._vehicle(p, x, y, ix, (0.18, 0.52))
        mullion = (_frac(tx * 7) < 0.08) & (ty > 0.18) & (ty < 0.52)
        c = np.where(mullion[:, None], p['color'], c)
        return np.where((ty < 0.1)[:, None], np.float32(0.6) * p['color'] + 90.0, c)

    def _tex_train(self, p, x, y, ix):
        tx, ty = _rel(p, x, y)
        c = self._vehicle(p, x, y, ix, (0.22, 0.47))
        c = np.where((np.abs(ty - 0.62) < 0.04)[:, None], np.array([225, 215, 90], np.float32), c)
        mullion = (_frac(tx * 14) < 0.12) & (ty > 0.22) & (ty < 0.47)
        return np.where(mullion[:, None], p['color'] * 1.2, c)

    def _tex_caravan(self, p, x, y, ix):
        return self._vehicle(p, x, y, ix, (0.25, 0.45)) * 0.4 + 120.0

    def _tex_trailer(self, p, x, y, ix):
        tx, _ = _rel(p, x, y)
        return self._vehicle(p, x, y, ix, (0.0, 0.0)) * (1.0 - 0.2 * (_frac(tx * 9) < 0.2))[:, None]

    def _two_wheeler(self, p, x, y, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Frame colour with dark tyres; also returns the pixels inside the rims."""
        c = np.broadcast_to(frame, (x.size, 3))
        hub = np.zeros_like(x, dtype=bool)
        for cx, cy, r in p['wheels']:
            d = np.hypot(x - cx, y - cy) / r
            c = np.where(((d > 0.7) & (d <= 1.05))[:, None], _TYRE, c)
            hub |= d < 0.7
        return c, hub

    def _tex_bicycle(self, p, x, y, ix):
        c, spokes = self._two_wheeler(p, x, y, p['color'])
        return _mix(c, np.float32(0.4) * p['color'] + 60.0, spokes * (0.6 + 0.3 * self.fine[ix]))

    def _tex_motorcycle(self, p, x, y, ix):
        c, hub = self._two_wheeler(p, x, y, p['color'] * (1.0 + 0.15 * self.mid[ix])[:, None])
        return _mix(c, np.array([170, 170, 180], np.float32), hub * 0.8)

    def _tex_license_plate(self, p, x, y, ix):
        return _WHITE * (0.85 + 0.1 * self.grain[ix])[:, None]

    def _tex_ego_vehicle(self, p, x, y, ix):
        _, ty = _rel(p, x, y)
        return p['color'] * 0.5 + (50.0 * (1 - ty) + 4.0 * self.grain[ix])[:, None]

    def _tex_static(self, p, x, y, ix):
        return np.array([118, 108, 92], np.float32) * (0.9 + 0.15 * self.mid[ix])[:, None]

    def _tex_dynamic(self, p, x, y, ix):
        tx, _ = _rel(p, x, y)
        return p['color'] * (1.0 + 0.3 * (_frac(tx * 4) < 0.5))[:, None]

    def _tex_bridge(self, p, x, y, ix):
        _, ty = _rel(p, x, y)
        return p['color'] * (0.9 + 0.15 * (ty < 0.2) + 0.08 * self.mid[ix])[:, None]

    def _tex_tunnel(self, p, x, y, ix):
        return p['color'] * (0.45 + 0.1 * self.mid[ix])[:, None]


# ----------------------------------------------------------------------------------------------
# One sample: polygons -> JSON -> label images (cityscapesscripts) and the painted image
# ----------------------------------------------------------------------------------------------
def _image_rng(seed: int, split: str, index: int) -> np.random.Generator:
    """Per-image stream: the output does not depend on worker count or split sizes."""
    return np.random.default_rng([seed, tuple(SPLIT_CITIES).index(split), index])


def _render(seed: int, split: str, index: int, size: tuple[int, int]):
    """Build one scene: (RGB uint8 image, polygons document in the official format)."""
    width, height = size
    rng = _image_rng(seed, split, index)
    scene = _SceneBuilder(rng, width, height, index)
    shapes = scene.build()
    index_img = Image.new('I', (width, height), 0)
    draw = ImageDraw.Draw(index_img)
    for k, sh in enumerate(shapes, 1):  # the same rasteriser json2labelImg uses, same order
        draw.polygon(sh.polygon, fill=k)
    img = _Painter(rng, scene).paint(shapes, np.asarray(index_img))
    contrast, brightness = rng.uniform(0.85, 1.1), rng.uniform(-15.0, 15.0)
    img = (img - 128.0) * contrast + 128.0 + brightness
    img *= rng.uniform(0.96, 1.04, 3).astype(np.float32)  # white balance
    img = cv2.GaussianBlur(img, (0, 0), 0.6)
    img += rng.normal(0.0, rng.uniform(2.0, 5.0), img.shape).astype(np.float32)
    doc = {'imgHeight': height, 'imgWidth': width,
           'objects': [{'label': sh.label, 'polygon': [list(p) for p in sh.polygon]}
                       for sh in shapes]}
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), doc


def _sample_stem(split: str, index: int) -> tuple[str, str]:
    cities = SPLIT_CITIES[split]
    city = cities[index % len(cities)]
    return city, f'{city}_{index // len(cities):06d}_{_FRAME:06d}'


def _write_sample(task: tuple[str, int], out_dir: Path, size: tuple[int, int], seed: int) -> None:
    split, index = task
    city, stem = _sample_stem(split, index)
    img, doc = _render(seed, split, index, size)
    img_dir = out_dir / 'leftImg8bit' / split / city
    img_dir.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(img_dir / f'{stem}_leftImg8bit.png')
    if split == 'test':
        return
    gt_dir = out_dir / 'gtFine' / split / city
    gt_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=4)
    (gt_dir / f'{stem}_gtFine_polygons.json').write_text(text)
    annotation = Annotation()
    annotation.fromJsonText(text)  # exactly what json2labelImg would read back from the file
    prefix = gt_dir / f'{stem}_gtFine_'
    createLabelImage(annotation, 'ids').save(f'{prefix}labelIds.png')
    createLabelImage(annotation, 'trainIds').save(f'{prefix}labelTrainIds.png')
    createLabelImage(annotation, 'color').save(f'{prefix}color.png')
    # Pillow cannot write 32-bit PNGs; ids stay below 34000, so 16 bits as in the official files.
    instances = np.asarray(createInstanceImage(annotation, 'ids')).astype(np.uint16)
    Image.fromarray(instances).save(f'{prefix}instanceIds.png')


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------
def _generation_args(num_train: int = 24, num_val: int = 8, num_test: int = 4,
                     size: tuple[int, int] = (512, 256), seed: int = 0) -> dict:
    """The arguments that determine the output (not nproc), as stored in the marker file."""
    width, height = (int(v) for v in size)
    if width < 32 or height < 16:
        raise ValueError(f'size must be at least 32x16 (width, height), got {size}')
    counts = (num_train, num_val, num_test)
    if any(int(n) < 0 for n in counts):
        raise ValueError(f'image counts must be >= 0, got {counts}')
    return {'version': GENERATOR_VERSION, 'num_train': int(num_train), 'num_val': int(num_val),
            'num_test': int(num_test), 'size': [width, height], 'seed': int(seed)}


def generate_synthetic_cityscapes(out_dir: str | Path, num_train: int = 24, num_val: int = 8,
                                  num_test: int = 4, size: tuple[int, int] = (512, 256),
                                  seed: int = 0, nproc: int = 1) -> Path:
    """Write a synthetic dataset in the Cityscapes layout under ``out_dir`` and return it.

    ``size`` is (width, height). ``train``/``val`` get ``leftImg8bit`` images and all ``gtFine``
    files (polygons json, labelIds, labelTrainIds, color, instanceIds); ``test`` gets images only,
    since the official test labels are dummies. An earlier synthetic dataset in ``out_dir`` is
    replaced; a non-empty directory without our marker is refused, so a real Cityscapes copy is
    never overwritten. The marker (the generation arguments as json) is written last.
    """
    out_dir = Path(out_dir)
    args = _generation_args(num_train, num_val, num_test, size, seed)
    if out_dir.exists() and any(out_dir.iterdir()):
        if not (out_dir / MARKER_NAME).exists():
            raise FileExistsError(f'{out_dir} is not empty and is not a synthetic dataset')
        (out_dir / MARKER_NAME).unlink()
        for sub in ('leftImg8bit', 'gtFine'):
            shutil.rmtree(out_dir / sub, ignore_errors=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    tasks = [(split, i) for split, n in zip(SPLIT_CITIES, (num_train, num_val, num_test))
             for i in range(n)]
    worker = partial(_write_sample, out_dir=out_dir, size=tuple(args['size']), seed=int(seed))
    if nproc > 1 and len(tasks) > 1:
        with Pool(min(nproc, len(tasks))) as pool:
            pool.map(worker, tasks, chunksize=max(1, len(tasks) // (4 * nproc)))
    else:
        for task in tasks:
            worker(task)
    (out_dir / MARKER_NAME).write_text(json.dumps(args, sort_keys=True))
    return out_dir


def _is_complete(out_dir: Path, args: dict) -> bool:
    try:
        return json.loads((out_dir / MARKER_NAME).read_text()) == args
    except (OSError, ValueError):
        return False


@contextlib.contextmanager
def _dir_lock(out_dir: Path) -> Iterator[None]:
    """Serialise generators of the same directory (e.g. the ranks of a distributed launch)."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    with open(out_dir.parent / f'.{out_dir.name}.lock', 'w') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_synthetic_cityscapes(out_dir: str | Path, **kwargs) -> Path:
    """Return ``out_dir`` holding the synthetic dataset for ``kwargs``, generating it if needed.

    A dataset whose marker matches the arguments (nproc aside) is reused untouched. Otherwise it
    is generated into a temporary sibling directory and swapped in by renames, so that readers
    and concurrent callers never see a half-written dataset.
    """
    out_dir = Path(out_dir)
    args = _generation_args(**{k: v for k, v in kwargs.items() if k != 'nproc'})
    if _is_complete(out_dir, args):
        return out_dir
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    with _dir_lock(out_dir):
        if _is_complete(out_dir, args):  # another process finished while we waited
            return out_dir
        if (out_dir.exists() and any(out_dir.iterdir())
                and not (out_dir / MARKER_NAME).exists()):
            raise FileExistsError(f'{out_dir} is not empty and is not a synthetic dataset')
        tag = uuid.uuid4().hex[:8]
        tmp = out_dir.with_name(f'.{out_dir.name}.tmp-{tag}')
        old = out_dir.with_name(f'.{out_dir.name}.old-{tag}')
        try:
            generate_synthetic_cityscapes(tmp, **kwargs)
            if out_dir.exists():
                os.replace(out_dir, old)
            os.replace(tmp, out_dir)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            shutil.rmtree(old, ignore_errors=True)
    return out_dir
