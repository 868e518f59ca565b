"""Write a small synthetic dataset in the Cityscapes layout (see cityseg.datasets.synthetic).

Example::

    python tools/make_synthetic_cityscapes.py --out data/synthetic_cityscapes --size 512x256
    python tools/make_synthetic_cityscapes.py --out data/synthetic_cityscapes_night --style night
"""
from __future__ import annotations

import argparse
import time

from cityseg.datasets.synthetic import generate_synthetic_cityscapes
from cityseg.datasets.synthetic.styles import STYLES
from cityseg.utils.cli import run_cli


def parse_size(text: str) -> tuple[int, int]:
    """'WxH' -> (width, height)."""
    try:
        width, height = (int(v) for v in text.lower().split('x'))
    except ValueError as err:
        msg = f'expected WIDTHxHEIGHT, e.g. 512x256, got {text!r}'
        raise argparse.ArgumentTypeError(msg) from err
    return width, height


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='data/synthetic_cityscapes', help='output directory')
    parser.add_argument('--num-train', type=int, default=24)
    parser.add_argument('--num-val', type=int, default=8)
    parser.add_argument('--num-test', type=int, default=4)
    parser.add_argument('--size', type=parse_size, default=(512, 256), help='WIDTHxHEIGHT')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--nproc', type=int, default=1, help='worker processes (same output)')
    parser.add_argument('--style', choices=list(STYLES), default='day',
                        help='the images\' look (labels unchanged): a target domain to adapt to')
    parser.add_argument('--anomalies', action='store_true',
                        help='put objects no label covers on the roads of train/val images, '
                        'with *_gtFine_anomaly.png masks (0 in-distribution, 1 anomaly, 255 void)')
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    start = time.perf_counter()
    out = generate_synthetic_cityscapes(args.out, num_train=args.num_train, num_val=args.num_val,
                                        num_test=args.num_test, size=args.size, seed=args.seed,
                                        nproc=args.nproc, style=args.style,
                                        anomalies=args.anomalies)
    print(f'wrote {args.num_train}/{args.num_val}/{args.num_test} train/val/test images to {out} '
          f'in {time.perf_counter() - start:.1f} s')


if __name__ == '__main__':
    run_cli(main)
