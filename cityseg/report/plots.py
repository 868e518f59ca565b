"""The report's figures: per-class scores as bars in the dataset's palette colours."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state

# Bars of classes whose colour is this close to white get an outline to stay visible.
EDGE_COLOR = '#444444'


def class_bars(scores: Mapping[str, Sequence[float | None]], classes: Sequence[str],
               palette: Sequence[Sequence[int]], title: str,
               ylabel: str = '%', symmetric: bool = False) -> Figure:
    """One panel per score (``{'IoU': [per class], ...}``, fractions, None or nan for
    undefined), one bar per class in its palette colour, values in percent.

    ``symmetric`` centres the y axis on 0 (for differences) instead of spanning 0..100.
    Undefined scores get no bar and an 'n/a' mark, so that a missing class is not read as 0.
    """
    n = len(classes)
    colors = [tuple(c / 255 for c in rgb) for rgb in palette[:n]]
    fig = Figure(figsize=(max(8.0, 0.45 * n + 2), 2.4 * len(scores) + 1.2))
    axes = fig.subplots(len(scores), 1, sharex=True, squeeze=False)[:, 0]
    for ax, (name, values) in zip(axes, scores.items()):
        pct = 100 * np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        defined = ~np.isnan(pct)
        ax.bar(np.arange(n)[defined], pct[defined], color=np.array(colors)[defined],
               edgecolor=EDGE_COLOR, linewidth=0.6)
        for i in np.flatnonzero(~defined):
            ax.text(i, 0, 'n/a', ha='center', va='bottom', fontsize=7, color='grey')
        if symmetric:
            bound = max(1.0, float(np.abs(pct[defined]).max(initial=0)) * 1.1)
            ax.set_ylim(-bound, bound)
            ax.axhline(0, color='black', linewidth=0.8)
        else:
            ax.set_ylim(0, 100)
        ax.set_ylabel(f'{name} ({ylabel})')
        ax.grid(axis='y', alpha=0.3)
    axes[-1].set_xticks(range(n), classes, rotation=60, ha='right')
    axes[0].set_title(title)
    fig.tight_layout()
    return fig
