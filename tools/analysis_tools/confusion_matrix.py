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
import json

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state


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
    with open(path) as f:
        report = json.load(f)
    if 'confusion_matrix' not in report:
        raise KeyError(f'{path} has no "confusion_matrix": write it with tools/test.py on a '
                       f'labelled split')
    saved = report['confusion_matrix']
    counts = np.asarray(saved['counts'], dtype=np.int64)
    classes = list(saved['classes'])
    if counts.shape != (len(classes), len(classes)):
        raise ValueError(f'{path}: confusion matrix of shape {counts.shape} for '
                         f'{len(classes)} classes')
    return counts, classes


def normalize(counts: np.ndarray, by: str = 'gt') -> np.ndarray:
    """Rows (``'gt'``) or columns (``'pred'``) scaled to sum to 1; nan where they sum to 0."""
    axis = 1 if by == 'gt' else 0
    totals = counts.sum(axis=axis, keepdims=True).astype(np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(totals > 0, counts / totals, np.nan)


def plot(matrix: np.ndarray, classes: list[str], title: str | None = None) -> Figure:
    """Heat map with the percentage written in every cell above 0.5 %."""
    n = len(classes)
    fig = Figure(figsize=(0.5 * n + 3, 0.5 * n + 2))
    ax = fig.subplots()
    image = ax.imshow(np.nan_to_num(matrix) * 100, cmap='Blues', vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label='%')
    ax.set_xticks(range(n), classes, rotation=90)
    ax.set_yticks(range(n), classes)
    ax.set_xlabel('prediction')
    ax.set_ylabel('ground truth')
    ax.set_title(title or 'normalised confusion matrix (%)')
    for i, j in zip(*np.nonzero(np.nan_to_num(matrix) > 0.005)):
        value = 100 * matrix[i, j]
        ax.text(j, i, f'{value:.0f}', ha='center', va='center', fontsize=6,
                color='white' if value > 50 else 'black')
    fig.tight_layout()
    return fig


def main() -> None:
    args = parse_args()
    counts, classes = load_confusion(args.metrics)
    fig = plot(normalize(counts, args.normalize), classes, args.title)
    fig.savefig(args.out, dpi=150)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
