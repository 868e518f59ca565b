"""2-D polygon geometry of the scene builder: clipping to the image, hulls, areas."""
from __future__ import annotations


def clip_polygon(pts: list[tuple[float, float]], w: int, h: int) -> list[tuple[float, float]]:
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


def convex_hull(pts: list[tuple[float, float]]) -> list[tuple[float, float]]:
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


def polygon_area(poly: list[tuple[int, int]]) -> float:
    pairs = zip(poly, poly[1:] + poly[:1])
    return 0.5 * abs(sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in pairs))
