"""The normalised confusion matrix as a labelled heat map, from ``metrics.json``'s counts.

Drawn by ``tools/analysis_tools/confusion_matrix.py`` and by the evaluation report
(:mod:`cityseg.report`).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state


def normalize(counts: np.ndarray, by: str = 'gt') -> np.ndarray:
    """Rows (``'gt'``) or columns (``'pred'``) scaled to sum to 1; nan where they sum to 0."""
    axis = 1 if by == 'gt' else 0
    totals = counts.sum(axis=axis, keepdims=True).astype(np.float64)
    with np.errstate(divide='ignore', invalid='ignore'):
        return np.where(totals > 0, counts / totals, np.nan)


def plot_confusion(matrix: np.ndarray, classes: Sequence[str],
                   title: str | None = None) -> Figure:
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
