"""An evaluation as one HTML page: ``<out_dir>/index.html`` with its figures beside it.

Everything the page shows comes from what the evaluation already produced: ``metrics.json``
(:mod:`cityseg.evaluation.metrics_file`: summary, per-class scores, confusion matrix,
per-image scores) and the pictures of the worst images that
:class:`~cityseg.engine.hooks.WorstImagesHook` drew during the same test loop. Building it
reads no dataset image and runs no model, so it costs seconds. The page is rendered by a
jinja2 template (``templates/index.html.j2``), the plots by matplotlib; it loads nothing from
the network (inline CSS and a few lines of inline JS for sorting tables), so it opens from
the file system, or anywhere the folder is copied.
"""
from __future__ import annotations

import datetime
import json
import os
import os.path as osp
from collections.abc import Mapping, Sequence

import numpy as np
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from cityseg.engine.hooks.worst_images_hook import PICTURES, picture_path
from cityseg.evaluation.metrics_file import read_metrics_file, summary_keys
from cityseg.visualization import normalize, palette_of, plot_confusion
from cityseg.visualization.calibration import plot_reliability

from .plots import class_bars

CLASS_KEYS = ('IoU', 'Acc', 'Dice', 'iIoU')
PICTURE_TITLES = dict(image='image', gt='ground truth', pred='prediction', error='errors')
TEMPLATES = osp.join(osp.dirname(osp.abspath(__file__)), 'templates')
DPI = 100


def load_metrics(path: str) -> dict:
    """``metrics.json`` at ``path``, or inside ``path`` when it is a report (or log) folder,
    read by :func:`~cityseg.evaluation.metrics_file.read_metrics_file`."""
    return read_metrics_file(osp.join(path, 'metrics.json') if osp.isdir(path) else path)


def checkpoint_info(ckpt: Mapping, sha256: str) -> dict:
    """``sha256`` (first 12 hex digits) and training ``iteration`` of a checkpoint, from its
    contents and hash as :func:`~cityseg.utils.checkpoint_loading.read_checkpoint_once`
    read them."""
    meta = ckpt.get('meta', {}) if isinstance(ckpt, Mapping) else {}
    return dict(sha256=sha256[:12], iteration=meta.get('iter'))


def build_report(metrics: Mapping, out_dir: str, compare: Mapping | None = None,
                 worst_dir: str | None = None, num_worst: int = 8,
                 palette: Sequence[Sequence[int]] | None = None,
                 meta: Mapping | None = None, calibration: Mapping | None = None) -> str:
    """Write ``<out_dir>/index.html`` (and its figures, and a copy of ``metrics``) for one
    evaluation; return the page's path.

    Args:
        metrics: the content of ``metrics.json`` (see :func:`load_metrics`).
        out_dir: the report folder (created).
        compare: another evaluation's ``metrics.json`` content: the page adds the difference
            of every summary and per-class score (this run minus that one).
        worst_dir: where :class:`~cityseg.engine.hooks.WorstImagesHook` drew the worst
            images; the page shows the ``num_worst`` lowest per-image mIoUs of ``metrics``,
            whose pictures must all be there. None shows none.
        num_worst: how many worst images to show.
        palette: one RGB colour per class (the dataset's ``metainfo['palette']``); None is
            the Cityscapes palette.
        meta: more lines for the header, e.g. ``checkpoint_info`` and the command.
        calibration: :class:`~cityseg.evaluation.CalibrationMetric`'s ``details`` (and the
            ``temperature``): the page adds a calibration section with the reliability
            diagram. None adds none.
    """
    classes = list(metrics['confusion_matrix']['classes'])
    palette = palette_of(dict(palette=palette))
    if len(palette) < len(classes):
        raise ValueError(f'{len(classes)} classes but a palette of {len(palette)} colours')
    os.makedirs(osp.join(out_dir, 'figures'), exist_ok=True)
    with open(osp.join(out_dir, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=2)

    keys = [k for k in CLASS_KEYS if any(k in s for s in metrics['per_class'].values())]
    scores = {k: [metrics['per_class'][c].get(k) for c in classes] for k in keys}
    figures = dict(class_scores=_save(class_bars(
        scores, classes, palette, 'per-class scores'), out_dir, 'class_scores.png'))
    deltas = None
    if compare is not None:
        deltas = {k: [_delta(metrics['per_class'][c].get(k),
                             compare['per_class'].get(c, {}).get(k)) for c in classes]
                  for k in keys}
        figures['class_delta'] = _save(class_bars(
            deltas, classes, palette, 'per-class difference: this run minus the compared one',
            ylabel='points', symmetric=True), out_dir, 'class_delta.png')
    counts = np.asarray(metrics['confusion_matrix']['counts'], dtype=np.int64)
    figures['confusion'] = _save(plot_confusion(normalize(counts, 'gt'), classes),
                                 out_dir, 'confusion.png')
    if calibration is not None:
        title = f'T = {calibration.get("temperature", 1.0):.3f}'
        figures['reliability'] = _save(plot_reliability({title: calibration}), out_dir,
                                       'reliability.png')

    summary = [dict(name=k, value=metrics[k],
                    other=None if compare is None else compare.get(k),
                    delta=None if compare is None else _delta(metrics[k], compare.get(k)))
               for k in summary_keys(metrics) if k in metrics]
    class_rows = [dict(name=c, color='#{:02x}{:02x}{:02x}'.format(*palette[i]),
                       scores=[scores[k][i] for k in keys],
                       deltas=None if deltas is None else [deltas[k][i] for k in keys])
                  for i, c in enumerate(classes)]
    worst = [] if worst_dir is None else _worst_images(metrics['per_image'], worst_dir,
                                                       out_dir, num_worst)
    header = {k: metrics.get(k) for k in ('config', 'checkpoint', 'split', 'tta', 'backend', 'onnx')
              if metrics.get(k) is not None}
    header.update(meta or {})
    header.setdefault('date', datetime.datetime.now().isoformat(sep=' ', timespec='seconds'))
    # autoescape=True, not select_autoescape(): that decides by extension and leaves
    # ``index.html.j2`` unescaped, so a class or file name could inject a script (issue 23).
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(pct=_pct, signed=_signed)
    page = env.get_template('index.html.j2').render(
        title=osp.basename(str(metrics.get('config', 'evaluation'))), header=header,
        summary=summary, keys=keys, class_rows=class_rows, figures=figures,
        compared=None if compare is None else compare.get('checkpoint', 'the compared run'),
        per_image=metrics['per_image'], worst=worst, calibration=calibration)
    path = osp.join(out_dir, 'index.html')
    with open(path, 'w', encoding='utf-8') as f:
        f.write(page)
    return path


def _worst_images(per_image: Sequence[Mapping], worst_dir: str, out_dir: str,
                  num: int) -> list[dict]:
    """The ``num`` lowest-mIoU entries with their pictures (paths relative to ``out_dir``)."""
    scored = sorted((e for e in per_image if e.get('mIoU') is not None),
                    key=lambda e: e['mIoU'])
    worst = []
    for entry in scored[:num]:
        pictures = []
        for kind in PICTURES:
            full = picture_path(worst_dir, entry['file'], kind)
            thumb = picture_path(worst_dir, entry['file'], kind, thumbnail=True)
            for file in (full, thumb):
                if not osp.isfile(file):
                    raise FileNotFoundError(
                        f'{file} does not exist: {entry["file"]} is among the {num} worst '
                        f'images, but WorstImagesHook did not draw it into {worst_dir}')
            pictures.append(dict(title=PICTURE_TITLES[kind], full=osp.relpath(full, out_dir),
                                 thumb=osp.relpath(thumb, out_dir)))
        worst.append(dict(entry, pictures=pictures))
    return worst


def _save(fig, out_dir: str, name: str) -> str:
    """Write ``fig`` to ``<out_dir>/figures/<name>``; return the path relative to out_dir."""
    fig.savefig(osp.join(out_dir, 'figures', name), dpi=DPI)
    return f'figures/{name}'


def _delta(value: float | None, other: float | None) -> float | None:
    return None if value is None or other is None else value - other


def _pct(value: float | None) -> str:
    """A fraction as a percentage with two decimals; undefined as 'n/a'."""
    return 'n/a' if value is None else f'{100 * value:.2f}'


def _signed(value: float | None) -> str:
    """A difference of fractions in percentage points, with its sign; undefined as 'n/a'."""
    return 'n/a' if value is None else f'{100 * value:+.2f}'
