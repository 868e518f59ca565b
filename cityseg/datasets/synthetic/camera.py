"""A pinhole street camera that projects metric scene geometry and records labelled polygons."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .colours import BASE_COLOURS
from .geometry import clip_polygon, polygon_area


@dataclass
class Shape:
    """One annotated polygon plus what the painter needs to texture it."""

    label: str
    polygon: list[tuple[int, int]]
    tex: str
    params: dict = field(default_factory=dict)


class StreetView:
    """The sampled camera and street of one scene, and the z-ordered polygons drawn in it.

    Ground points are (X lateral metres, Z depth metres); a point at height h projects to
    ``x = x_v + X f / Z``, ``y = y_h + (cam_h - h) f / Z``. The helpers here project ground
    quads, facades, boxes and silhouettes and record the clipped polygons: ``layers`` (drawn
    first, in order), ``items`` (free-standing objects, drawn far to near) and ``overlay``
    (drawn last). What a street holds is :class:`~.layout.SceneBuilder`'s business.
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
        self.layers: list[Shape] = []
        self.items: list[tuple[float, list[Shape]]] = []
        self.overlay: list[Shape] = []

    # --- geometry helpers ---------------------------------------------------------------------
    def proj(self, x: float, z: float, h: float = 0.0) -> tuple[float, float]:
        k = self.f / z
        return self.x_v + x * k, self.y_h + (self.cam_h - h) * k

    def px(self, metres: float, z: float) -> float:
        return metres * self.f / z

    def shape(self, label: str, pts: list[tuple[float, float]], tex: str | None = None,
              **params) -> Shape | None:
        """Clip, round and keep a polygon; ``params['box']`` is its unclipped bounding box."""
        xs, ys = [p[0] for p in pts], [p[1] for p in pts]
        poly: list[tuple[int, int]] = []
        for x, y in clip_polygon(pts, self.w, self.h):
            p = (round(x), round(y))
            if not poly or poly[-1] != p:
                poly.append(p)
        while len(poly) > 1 and poly[0] == poly[-1]:
            poly.pop()
        if len(poly) < 3 or polygon_area(poly) < 1.0:
            return None
        params.setdefault('box', (min(xs), min(ys), max(xs), max(ys)))
        params.setdefault('color', self.tint(label))
        return Shape(label, poly, tex or label, params)

    def tint(self, label: str) -> np.ndarray:
        """The class base colour with per-object brightness and hue jitter."""
        gain = self.rng.uniform(0.92, 1.08) * (1.0 + self.rng.normal(0.0, 0.05, 3))
        return (BASE_COLOURS[label] * gain).astype(np.float32)

    def layer(self, label: str, pts, tex: str | None = None, **params) -> None:
        if (sh := self.shape(label, pts, tex, **params)) is not None:
            self.layers.append(sh)

    def item(self, z: float, shapes: list[Shape | None]) -> None:
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
