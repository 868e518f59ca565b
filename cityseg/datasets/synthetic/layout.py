"""What a street scene holds: road, sidewalks, facades, street furniture, traffic, people."""
from __future__ import annotations

import math

import numpy as np

from .camera import Shape, StreetView
from .geometry import convex_hull

# Unit silhouettes (x to the right, y downwards, in units of the figure's height).
PERSON = [(0.0, 0.0), (0.045, 0.015), (0.06, 0.065), (0.045, 0.11), (0.035, 0.13), (0.13, 0.16),
          (0.15, 0.32), (0.155, 0.5), (0.105, 0.5), (0.095, 0.25), (0.09, 0.54), (0.11, 1.0),
          (0.03, 1.0), (0.0, 0.6), (-0.03, 1.0), (-0.11, 1.0), (-0.09, 0.54), (-0.095, 0.25),
          (-0.105, 0.5), (-0.155, 0.5), (-0.15, 0.32), (-0.13, 0.16), (-0.035, 0.13),
          (-0.045, 0.11), (-0.06, 0.065), (-0.045, 0.015)]
# A seated rider facing +x: helmet, back, thigh forward, shin down; arms reach to the handlebar.
RIDER = [(-0.02, 0.0), (0.07, 0.01), (0.09, 0.09), (0.06, 0.15), (0.1, 0.2), (0.32, 0.38),
         (0.3, 0.44), (0.1, 0.32), (0.08, 0.55), (0.3, 0.58), (0.33, 0.98), (0.24, 1.0),
         (0.21, 0.7), (-0.04, 0.7), (-0.12, 0.62), (-0.1, 0.25), (-0.06, 0.15), (-0.09, 0.08)]


class SceneBuilder(StreetView):
    """Samples the content of one street scene, in the z-order the label images need.

    Structures that line the street are drawn first; free-standing objects are sorted far to
    near so nearer ones occlude; the ego vehicle and void borders come last.
    """

    def build(self) -> list[Shape]:
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
        hull = convex_hull(corners)
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
            unit = [(-ux if face < 0 else ux, uy) for ux, uy in RIDER]
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
            pts = self.figure(PERSON, x, z, rng.uniform(1.55, 1.95), 28.0,
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
