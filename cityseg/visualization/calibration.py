"""Reliability diagrams: accuracy against confidence per bin, from the calibration metric's bins."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state


def plot_reliability(panels: Mapping[str, Mapping]) -> Figure:
    """One panel per entry of ``panels``: ``{title: scores}``, each ``scores`` holding ``ECE``
    and ``reliability`` as :func:`~cityseg.evaluation.calibration_scores` returns them.

    Bars are each bin's accuracy, the red part the gap to its mean confidence; a perfectly
    calibrated model follows the diagonal; each bar is labelled with its share of the pixels.
    """
    fig = Figure(figsize=(4 * len(panels), 4))
    axes = np.atleast_1d(fig.subplots(1, len(panels), sharey=True))
    for ax, (title, scores) in zip(axes, panels.items()):
        rel = scores['reliability']
        lower, upper = np.asarray(rel['lower']), np.asarray(rel['upper'])
        count = np.asarray(rel['count'], dtype=float)
        acc = np.nan_to_num(np.asarray(rel['accuracy'], dtype=float))
        conf = np.asarray(rel['confidence'], dtype=float)
        gap = np.where(count > 0, np.nan_to_num(conf) - acc, 0.0)  # empty bins: no bar
        share = count / count.sum() if count.sum() else count
        width = upper - lower
        ax.bar(lower, acc, width=width, align='edge', color='tab:blue', edgecolor='black',
               alpha=0.8, label='accuracy')
        for x, w, y, s in zip(lower, width, acc, share):
            if s >= 0.005:
                ax.text(x + w / 2, y + 0.01, f'{100 * s:.0f}%', ha='center', fontsize=6)
        # from the accuracy to the mean confidence: above the bar when over-confident, over it
        # (hatched) when under-confident
        ax.bar(lower, gap, bottom=acc, width=width, align='edge', color='tab:red', alpha=0.4,
               edgecolor='darkred', hatch='//', zorder=3, label='gap to mean confidence')
        ax.plot([0, 1], [0, 1], '--', color='grey')
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel('confidence')
        ax.set_title(f'{title}: ECE {100 * scores["ECE"]:.2f} %')
        ax.legend(loc='upper left', fontsize=8)
    axes[0].set_ylabel('accuracy')
    fig.tight_layout()
    return fig
