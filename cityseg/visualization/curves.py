"""Training curves from the scalars mmengine's ``LocalVisBackend`` logs.

Every run in a work dir (a first run and its resumptions) writes
``<work_dir>/<timestamp>/vis_data/scalars.json``, one JSON record per logged step: training
records hold ``loss``, ``loss_<term>``, ``lr``...; validation records hold the metrics
(``mIoU``...). Reading them back, rather than keeping a history in a hook, makes the curves
span resumptions with nothing saved in checkpoints.
"""
from __future__ import annotations

import glob
import json
import os.path as osp
from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure

FIGSIZE = (8, 4.5)  # inches; at DPI 100, 800 x 450 pixels
DPI = 100
Series = Mapping[str, tuple[Sequence[float], Sequence[float]]]


def load_scalars(work_dir: str, metric: str = 'mIoU') -> tuple[list[dict], list[dict]]:
    """Training and validation records of every run in ``work_dir``, oldest run first.

    A resumed run restarts logging at its checkpoint; records an earlier run logged at or after
    that step (work done after its last checkpoint, then lost) are dropped.
    """
    train: list[dict] = []
    val: list[dict] = []
    for path in sorted(glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))):
        with open(path) as f:
            records = [json.loads(line) for line in f if line.strip()]
        for kind, into in ((False, train), (True, val)):
            new = [r for r in records if (metric in r) == kind]
            if new:
                first = new[0]['step']
                into[:] = [r for r in into if r['step'] < first] + new
    return train, val


def series(records: Sequence[dict], keys: Sequence[str]) -> dict:
    """``{key: (steps, values)}`` for each key present in the records."""
    out = {}
    for key in keys:
        points = [(r['step'], r[key]) for r in records if key in r]
        if points:
            out[key] = tuple(zip(*points))
    return out


def training_minutes(train: Sequence[dict]) -> tuple[list[int], list[float]]:
    """``(steps, minutes)``: the minutes of training up to each logged training step, from
    step 0. Each record's ``time`` (the mean seconds per iteration over the logger's window)
    counts for the iterations since the previous record; validation and checkpoint writing
    are not counted, nor is anything before the first iteration. Exact when the
    LogProcessor's ``window_size`` is the logger's ``interval`` (otherwise each window's mean
    stands for the interval's).

    Raises:
        KeyError: the training records hold no ``time``.
    """
    timed = [r for r in train if 'time' in r]
    if not timed:
        raise KeyError('the training records hold no per-iteration `time` (mmengine logs it '
                       'with every training record)')
    steps, minutes, last_step, total = [0], [0.0], 0, 0.0
    for record in timed:
        total += record['time'] * (record['step'] - last_step) / 60
        last_step = record['step']
        steps.append(last_step)
        minutes.append(total)
    return steps, minutes


def draw_series(ax: Axes, data: Series, logy: bool = False) -> None:
    """One line per series (dots where there are few points), grid, legend, optional log y."""
    for name, (steps, values) in data.items():
        ax.plot(steps, values, label=name, marker='o' if len(steps) < 30 else None)
    if logy:
        ax.set_yscale('log')
    ax.grid(alpha=0.3)
    if data:
        ax.legend()


def plot_series(data: Series, path: str, title: str, xlabel: str, ylabel: str,
                logy: bool = False) -> None:
    """:func:`draw_series` on one ``FIGSIZE`` figure at ``DPI``, written to ``path``."""
    fig = Figure(figsize=FIGSIZE, dpi=DPI)  # no pyplot: no global backend, nothing to close
    ax = fig.subplots()
    draw_series(ax, data, logy)
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.savefig(path, dpi=DPI)
