"""``metrics.json``: what :class:`~cityseg.evaluation.IoUMetric` writes after an evaluation.

One JSON object, written by :func:`write_metrics_file` and read back by
:func:`read_metrics_file` (evaluation reports, ``tools/publish_model.py``,
``tools/analysis_tools/confusion_matrix.py``) or by people:

- the caller's ``meta`` first (``tools/test.py`` passes ``config``, ``checkpoint``,
  ``checkpoint_sha256`` (the evaluated file's content hash, which tools/publish_model.py
  compares), ``split`` and ``tta``);
- the summary metrics at the top level (``aAcc``, ``mIoU``, ``mAcc``, ..., and the mean of
  each class subset, e.g. ``mIoU16`` and ``mIoU13`` of SYNTHIA -> Cityscapes);
- ``class_subsets``: ``{key: [class names]}``, the classes each of those subset means
  averages (only when the metric had ``class_subsets``);
- ``per_class``: ``{class name: {'IoU': ..., 'Acc': ..., ...}}``;
- ``confusion_matrix``: ``classes``, ``rows`` (``'ground truth'``), ``columns``
  (``'prediction'``) and the ``counts``;
- ``per_image``: ``[{'file': ..., 'mIoU': ..., 'aAcc': ...}, ...]`` in dataset order.

Undefined scores (nan) are written as ``null``, so that the file is strict JSON.
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from mmengine.fileio import dump, get_text

# The sections every metrics.json has (the summary keys depend on the metric's settings).
SECTIONS = ('per_class', 'confusion_matrix', 'per_image')
# The summary metrics IoUMetric writes at the top level, in the order a reader shows them.
SUMMARY_KEYS = ('aAcc', 'mIoU', 'mAcc', 'mDice', 'iIoU', 'mFscore', 'mPrecision', 'mRecall')
_WRITTEN_BY = 'expected a metrics.json written by tools/test.py on a labelled split'


def write_metrics_file(path: str, meta: Mapping, summary: Mapping[str, float],
                       per_class: Mapping[str, Mapping[str, float]], conf: np.ndarray,
                       per_image: Sequence[Mapping],
                       class_subsets: Mapping[str, Sequence[str]] | None = None) -> None:
    """Write the evaluation to ``path`` (any mmengine file backend; folders are created).
    ``class_subsets`` (``{summary key: class names}``) is written only when non-empty."""
    subsets = dict(class_subsets=dict(class_subsets)) if class_subsets else {}
    report = dict(
        **meta, **summary, **subsets, per_class=per_class,
        confusion_matrix=dict(classes=list(per_class), rows='ground truth',
                              columns='prediction', counts=np.asarray(conf).tolist()),
        per_image=per_image)
    dump(nan_to_none(report), path, file_format='json', indent=2, allow_nan=False)


def nan_to_none(obj: object) -> object:
    """``obj`` with every float nan (in nested dicts and lists) replaced by None."""
    if isinstance(obj, Mapping):
        return {k: nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [nan_to_none(v) for v in obj]
    return None if isinstance(obj, float) and math.isnan(obj) else obj


def summary_keys(metrics: Mapping, keys: Sequence[str] = SUMMARY_KEYS) -> list[str]:
    """``keys`` with the class-subset means the file records in ``class_subsets`` right after
    ``mIoU`` (at the end without it): the summary rows a reader of ``metrics`` shows."""
    subsets = [k for k in metrics.get('class_subsets') or {} if k not in keys]
    at = list(keys).index('mIoU') + 1 if 'mIoU' in keys else len(keys)
    return [*keys[:at], *subsets, *keys[at:]]


def read_metrics_file(path: str, require: Iterable[str] = SECTIONS) -> dict:
    """The contents of a ``metrics.json`` that :func:`write_metrics_file` wrote, checked.

    Args:
        path: the file (any mmengine file backend, as the writer).
        require: the top-level keys the caller needs (default: every section); a missing one
            raises a ``ValueError`` naming the file and the keys.

    A missing file, bad JSON (with its line and column), a non-object, and a confusion matrix
    whose counts do not match its classes each raise an error that names ``path``.
    """
    try:
        text = get_text(path)
    except FileNotFoundError:
        raise FileNotFoundError(f'{path} does not exist: {_WRITTEN_BY}') from None
    try:
        metrics = json.loads(text)
    except json.JSONDecodeError as err:
        raise ValueError(f'{path} is not valid JSON ({err.msg}, line {err.lineno} column '
                         f'{err.colno}): {_WRITTEN_BY}') from err
    if not isinstance(metrics, dict):
        raise ValueError(f'{path} holds a JSON {type(metrics).__name__}, not an object: '
                         f'{_WRITTEN_BY}')
    missing = [key for key in require if key not in metrics]
    if missing:
        raise ValueError(f'{path} has no {", ".join(map(repr, missing))}: {_WRITTEN_BY}')
    if 'confusion_matrix' in metrics:
        _check_confusion(path, metrics['confusion_matrix'])
    return metrics


def _check_confusion(path: str, saved: object) -> None:
    """The saved confusion matrix is square, one row and column per named class."""
    if not isinstance(saved, Mapping) or not {'classes', 'counts'} <= set(saved):
        raise ValueError(f'{path}: "confusion_matrix" needs "classes" and "counts"')
    shape = np.shape(saved['counts'])
    if shape != (len(saved['classes']),) * 2:
        raise ValueError(f'{path}: confusion matrix of shape {shape} for '
                         f'{len(saved["classes"])} classes')
