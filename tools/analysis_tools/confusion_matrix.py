"""Plot the normalised confusion matrix saved by ``tools/test.py`` in its ``metrics.json``.

Each row (ground-truth class) is divided by its pixel count, so a cell reads "share of this
class's pixels predicted as that class" and the diagonal is the per-class accuracy (recall);
``--normalize pred`` divides columns instead (precision on the diagonal). Classes absent from
the ground truth have an empty row.

Usage: ``python tools/analysis_tools/confusion_matrix.py work_dirs/x/<time>/metrics.json
--out confusion.png``
"""
from __future__ import annotations

import argparse

import numpy as np

from cityseg.evaluation.metrics_file import read_metrics_file
from cityseg.utils.cli import run_cli
from cityseg.visualization.confusion import normalize, plot_confusion


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('metrics', help='metrics.json written by tools/test.py')
    parser.add_argument('--out', required=True, help='image file to write (png, pdf, svg)')
    parser.add_argument('--normalize', choices=['gt', 'pred'], default='gt',
                        help='divide rows by ground-truth counts (default) or columns by '
                        'prediction counts')
    parser.add_argument('--title', default=None)
    return parser.parse_args()


def load_confusion(path: str) -> tuple[np.ndarray, list[str]]:
    """The counts (rows = ground truth) and class names stored by ``tools/test.py``."""
    saved = read_metrics_file(path, require=('confusion_matrix',))['confusion_matrix']
    return np.asarray(saved['counts'], dtype=np.int64), list(saved['classes'])


def main() -> None:
    args = parse_args()
    counts, classes = load_confusion(args.metrics)
    fig = plot_confusion(normalize(counts, args.normalize), classes, args.title)
    fig.savefig(args.out, dpi=150)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    run_cli(main)
