"""``metrics.json``: what :class:`~cityseg.evaluation.IoUMetric` writes after an evaluation.

One JSON object, read by people, by ``tools/analysis_tools/confusion_matrix.py`` and by
evaluation reports:

- the caller's ``meta`` first (``tools/test.py`` passes ``config``, ``checkpoint``, ``split``
  and ``tta``);
- the summary metrics at the top level (``aAcc``, ``mIoU``, ``mAcc``, ...);
- ``per_class``: ``{class name: {'IoU': ..., 'Acc': ..., ...}}``;
- ``confusion_matrix``: ``classes``, ``rows`` (``'ground truth'``), ``columns``
  (``'prediction'``) and the ``counts``;
- ``per_image``: ``[{'file': ..., 'mIoU': ..., 'aAcc': ...}, ...]`` in dataset order.

Undefined scores (nan) are written as ``null``, so that the file is strict JSON.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
from mmengine.fileio import dump


def write_metrics_file(path: str, meta: Mapping, summary: Mapping[str, float],
                       per_class: Mapping[str, Mapping[str, float]], conf: np.ndarray,
                       per_image: Sequence[Mapping]) -> None:
    """Write the evaluation to ``path`` (any mmengine file backend; folders are created)."""
    report = dict(
        **meta, **summary, per_class=per_class,
        confusion_matrix=dict(classes=list(per_class), rows='ground truth',
                              columns='prediction', counts=np.asarray(conf).tolist()),
        per_image=per_image)
    dump(_nan_to_none(report), path, file_format='json', indent=2, allow_nan=False)


def _nan_to_none(obj: object) -> object:
    """``obj`` with every float nan (in nested dicts and lists) replaced by None."""
    if isinstance(obj, Mapping):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_nan_to_none(v) for v in obj]
    return None if isinstance(obj, float) and math.isnan(obj) else obj
