"""Class textures painted over the pixels of each polygon of a scene."""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from .camera import Shape, StreetView
from .colours import BASE_COLOURS, GLASS, SKIN, TYRE, WHITE


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


class Painter:
    """Paints shapes with class textures; noise fields are shared by the whole image."""

    def __init__(self, rng: np.random.Generator, scene: StreetView):
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

    def paint(self, shapes: list[Shape], index_map: np.ndarray) -> np.ndarray:
        img = np.zeros((*index_map.shape, 3), np.float32)
        img[:] = BASE_COLOURS['unlabeled']
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
        return _mix(c, WHITE * 0.95, cloud)

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
        return _mix(c, WHITE * 0.92, mark.astype(np.float32) * 0.9)

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
        return _mix(c, WHITE, (_frac(gz / 2.6) < 0.06) * 0.8)

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
        glass = GLASS + 30.0 * self.low[ix][:, None]
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
        return np.where((ty < 0.13)[:, None], 0.5 * SKIN + 0.5 * p['color'], c)

    def _tex_rider(self, p, x, y, ix):
        """Dark helmet and a banded high-visibility suit: riders must not read as pedestrians."""
        _, ty = _rel(p, x, y)
        c = np.where((ty < 0.15)[:, None], np.float32(0.35) * p['color'] + 20.0, p['color'])
        return _mix(c, WHITE, (_frac(ty * 7.0) < 0.3) * (ty > 0.2) * 0.75)

    def _vehicle(self, p, x, y, ix, glass: tuple[float, float]) -> np.ndarray:
        """Body colour, a glass band, dark wheels at the bottom corners, lamps on the rear face."""
        tx, ty = _rel(p, x, y)
        rx0, ry0, rx1, ry1 = p['rear']
        rel_x = (x - rx0) / max(rx1 - rx0, 1.0)
        rel_y = (y - ry0) / max(ry1 - ry0, 1.0)
        c = p['color'] * (0.95 + 0.12 * (1 - ty) + 0.04 * self.fine[ix])[:, None]
        band = (ty > glass[0]) & (ty < glass[1]) & (tx > 0.06) & (tx < 0.94)
        c = _mix(c, GLASS + 25.0 * self.low[ix][:, None], band * 0.9)
        wheel = (ty > 0.86) & ((rel_x < 0.2) | (rel_x > 0.8))
        c = np.where(wheel[:, None], TYRE, c)
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
            c = np.where(((d > 0.7) & (d <= 1.05))[:, None], TYRE, c)
            hub |= d < 0.7
        return c, hub

    def _tex_bicycle(self, p, x, y, ix):
        c, spokes = self._two_wheeler(p, x, y, p['color'])
        return _mix(c, np.float32(0.4) * p['color'] + 60.0, spokes * (0.6 + 0.3 * self.fine[ix]))

    def _tex_motorcycle(self, p, x, y, ix):
        c, hub = self._two_wheeler(p, x, y, p['color'] * (1.0 + 0.15 * self.mid[ix])[:, None])
        return _mix(c, np.array([170, 170, 180], np.float32), hub * 0.8)

    def _tex_license_plate(self, p, x, y, ix):
        return WHITE * (0.85 + 0.1 * self.grain[ix])[:, None]

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
