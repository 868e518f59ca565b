"""Plot the curves of several training runs on one figure and print a summary table.

    python tools/analysis_tools/analyze_logs.py work_dirs/unet work_dirs/deeplab \
        --keys loss mIoU lr --out curves.png

Each WORK_DIR is read from the ``<timestamp>/vis_data/scalars.json`` files that mmengine's
``LocalVisBackend`` writes: the latest run, spliced onto the runs it resumed from (see
:func:`cityseg.visualization.load_scalars`). The figure has one panel per key with one line per
run; the table gives each run's last iteration, its best mIoU and the validation step it was
reached at (an iteration, or an epoch where LoggerHook logs metrics by epoch, as the 100-epoch
schedule does), and the final loss. The x axis is the logged step of each record, likewise, or
with ``--x-axis minutes`` the minutes of training up to it (the logged iteration times summed,
validation not counted: :func:`cityseg.visualization.training_minutes`), to compare runs whose
iterations cost differently, or a run with its time budget.
"""
from __future__ import annotations

import argparse
import os.path as osp
from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure
from terminaltables import AsciiTable

from cityseg.utils.cli import run_cli
from cityseg.visualization import draw_series, load_scalars, series, training_minutes

PANEL_SIZE = (8, 3)  # inches per key
DPI = 100


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Compare the curves of training runs')
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR', help='runs to compare')
    parser.add_argument('--keys', nargs='+', default=['loss', 'mIoU', 'lr'],
                        help='logged scalars to plot (training and validation keys alike)')
    parser.add_argument('--labels', nargs='+', help='legend names (default: the folder names)')
    parser.add_argument('--metric', default='mIoU', help='the validation metric to summarise')
    parser.add_argument('--logy', nargs='*', default=[], metavar='KEY',
                        help='keys to plot on a log scale (e.g. loss lr)')
    parser.add_argument('--x-axis', choices=['step', 'minutes'], default='step',
                        help="'minutes': minutes of training (validation not counted)")
    parser.add_argument('--out', required=True, help='figure file (.png, .pdf, .svg...)')
    args = parser.parse_args()
    if args.labels and len(args.labels) != len(args.work_dirs):
        parser.error(f'{len(args.labels)} --labels for {len(args.work_dirs)} work dirs')
    return args


def load_runs(work_dirs: Sequence[str], metric: str) -> list[tuple[list[dict], list[dict]]]:
    """Every run's training and validation records."""
    runs = []
    for work_dir in work_dirs:
        train, val = load_scalars(work_dir, metric)
        if not train and not val:
            raise FileNotFoundError(f'no */vis_data/scalars.json records under {work_dir}')
        runs.append((train, val))
    return runs


def in_minutes(points: tuple, train: Sequence[dict]) -> tuple:
    """``points`` (steps, values) with each step replaced by the minutes of training up to it
    (interpolated between logged training steps)."""
    steps, values = points
    return tuple(np.interp(steps, *training_minutes(train))), values


def plot_runs(runs: Sequence[tuple[list[dict], list[dict]]], labels: Sequence[str],
              keys: Sequence[str], path: str, logy: Sequence[str] = (),
              x_axis: str = 'step') -> None:
    """One panel per key, one line per run, against the step or the minutes of training
    (``x_axis``); a key no run logged is an error naming the keys that were logged."""
    fig = Figure(figsize=(PANEL_SIZE[0], PANEL_SIZE[1] * len(keys)), dpi=DPI)
    axes = fig.subplots(len(keys), 1, squeeze=False)[:, 0]
    for ax, key in zip(axes, keys):
        lines = {label: points if x_axis == 'step' else in_minutes(points, train)
                 for label, (train, val) in zip(labels, runs)
                 if (points := series(train + val, [key]).get(key))}
        if not lines:
            logged = sorted({k for run in runs for records in run for r in records for k in r}
                            - {'step'})
            raise KeyError(f'no run logged {key!r}; logged keys: {logged}')
        draw_series(ax, lines, logy=key in logy)
        ax.set(ylabel=key)
    axes[-1].set_xlabel('step' if x_axis == 'step' else 'minutes of training')
    fig.tight_layout()
    fig.savefig(path, dpi=DPI)


def summary(runs: Sequence[tuple[list[dict], list[dict]]], labels: Sequence[str],
            metric: str) -> str:
    """A table: run, last iteration, best ``metric`` and its validation step, final loss."""
    rows = [['run', 'last iter', f'best {metric}', 'at val step', 'final loss']]
    for label, (train, val) in zip(labels, runs):
        evals = [r for r in val if metric in r]
        losses = [r for r in train if 'loss' in r]
        best = max(evals, key=lambda r: r[metric]) if evals else None
        last = max((r['step'] for r in train), default='-')
        rows.append([label, last,
                     f'{best[metric]:.4f}' if best else '-', best['step'] if best else '-',
                     f'{losses[-1]["loss"]:.4f}' if losses else '-'])
    return AsciiTable(rows).table


def main() -> None:
    args = parse_args()
    labels = args.labels or [osp.basename(osp.normpath(d)) for d in args.work_dirs]
    runs = load_runs(args.work_dirs, args.metric)
    plot_runs(runs, labels, args.keys, args.out, args.logy, args.x_axis)
    print(summary(runs, labels, args.metric))
    print(f'figure written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
