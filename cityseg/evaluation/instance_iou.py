"""Instance-level IoU (iIoU) of the Cityscapes benchmark, from ``*_gtFine_instanceIds.png``.

Class IoU favours large objects: a missed distant pedestrian costs a few pixels. The official
evaluator (cityscapesscripts' ``evalPixelLevelSemanticLabeling``) therefore also reports, for the
8 classes with instances, ``iIoU = iTP / (iTP + FP + iFN)`` where each ground-truth instance's
true-positive and false-negative pixels are weighted by ``avgClassSize[class] / instance size``
and FP is the class's plain false-positive pixel count. Instance ids are
``label_id * 1000 + k``; only ids above 1000 are instances, and the classes that the benchmark
ignores (caravan, trailer) are skipped. The weights are cityscapesscripts' own table.
"""
from __future__ import annotations

import mmcv
import numpy as np
import torch
from cityscapesscripts.evaluation.evalPixelLevelSemanticLabeling import args as cs_eval_args
from cityscapesscripts.helpers.labels import labels as cs_labels
from mmengine.fileio import get as get_bytes

from cityseg.datasets.labels import NUM_LABEL_IDS

INSTANCE_SUFFIX = '_gtFine_instanceIds.png'
# Label files that an instanceIds file sits next to (CityscapesDataset's label types).
LABEL_SUFFIXES = ('_gtFine_labelIds.png', '_gtFine_labelTrainIds.png')
MIN_INSTANCE_ID = 1001  # the official `instanceNp > 1000`

_SKIPPED, _NO_INSTANCES = -1, -2


def _label_id_to_instance_class() -> np.ndarray:
    """Per label id: the train id of an evaluated instance class, ``_SKIPPED`` for classes
    with instances that the benchmark ignores, ``_NO_INSTANCES`` for all others."""
    lut = np.full(NUM_LABEL_IDS, _NO_INSTANCES, dtype=np.int64)
    for lb in cs_labels:
        if lb.id >= 0 and lb.hasInstances:
            lut[lb.id] = _SKIPPED if lb.ignoreInEval else lb.trainId
    return lut


def _avg_class_size(num_classes: int) -> np.ndarray:
    """``avgClassSize`` of the official evaluator indexed by train id (0 where undefined)."""
    sizes = np.zeros(num_classes)
    for lb in cs_labels:
        if lb.hasInstances and not lb.ignoreInEval and 0 <= lb.trainId < num_classes:
            sizes[lb.trainId] = cs_eval_args.avgClassSize[lb.name]
    return sizes


LABEL_ID_TO_INSTANCE_CLASS = _label_id_to_instance_class()
INSTANCE_TRAIN_IDS: tuple[int, ...] = tuple(
    sorted(int(t) for t in LABEL_ID_TO_INSTANCE_CLASS if t >= 0))


def instance_ids_path(seg_map_path: str) -> str | None:
    """``<stem>_gtFine_instanceIds.png`` beside a ``<stem>_gtFine_{labelIds,labelTrainIds}.png``;
    ``None`` for a label not named like Cityscapes' (ACDC, BDD100K, your own files), beside
    which no Cityscapes instanceIds file can be."""
    for suffix in LABEL_SUFFIXES:
        if seg_map_path.endswith(suffix):
            return seg_map_path[:-len(suffix)] + INSTANCE_SUFFIX
    return None


def load_instance_ids(path: str) -> np.ndarray:
    """Read an instanceIds PNG (16-bit, single channel) through mmengine's file backends."""
    ids = mmcv.imfrombytes(get_bytes(path), flag='unchanged')
    if ids is None or ids.ndim != 2:
        raise ValueError(f'{path} is not a single-channel instanceIds image')
    return ids


def instance_counts(pred: torch.Tensor, instance_ids: torch.Tensor,
                    num_classes: int) -> torch.Tensor:
    """Weighted true-positive and false-negative pixels of one image's ground-truth instances.

    One bincount over ``instance_id * C + pred`` gives, for every instance, its size and how
    many of its pixels were predicted as each class, so no per-instance mask is ever made
    (the official evaluator compares the whole image once per instance).

    Args:
        pred: predicted train ids in ``[0, C)``, any shape.
        instance_ids: the instanceIds map of the same shape (label id * 1000 + k).
        num_classes: number of classes ``C`` (train ids).

    Returns:
        ``(2, C)`` float64 tensor on ``pred``'s device: per train id, the sums over its
        instances of ``tp * w`` and ``fn * w``, ``w = avgClassSize / instance size``.

    Raises:
        ValueError: shapes differ, a prediction lies outside ``[0, C)``, or an instance id is
            negative or names a label id that does not exist or a class without instances
            (the official evaluator fails on these too).
    """
    if pred.shape != instance_ids.shape:
        raise ValueError(f'prediction shape {tuple(pred.shape)} differs from instanceIds '
                         f'shape {tuple(instance_ids.shape)}')
    if num_classes <= max(INSTANCE_TRAIN_IDS):
        raise ValueError(f'iIoU is defined on the Cityscapes train ids; num_classes='
                         f'{num_classes} lacks the instance classes {INSTANCE_TRAIN_IDS}')
    device = pred.device
    inst = instance_ids.to(device=device, dtype=torch.int32)  # uint16 PNG values, exactly
    p_lo, p_hi, i_lo, i_hi = torch.stack(
        [b.to(torch.int64) for b in (*torch.aminmax(pred), *torch.aminmax(inst))]).tolist()
    if p_lo < 0 or p_hi >= num_classes:
        raise ValueError(f'predictions must lie in [0, {num_classes}), found values in '
                         f'[{p_lo}, {p_hi}]')
    if i_lo < 0 or i_hi >= NUM_LABEL_IDS * 1000:
        raise ValueError(f'instance ids must lie in [0, {NUM_LABEL_IDS * 1000}) (label id * '
                         f'1000 + k), found values in [{i_lo}, {i_hi}]')
    index = torch.add(pred.to(torch.int32), inst, alpha=num_classes)
    rows = max(i_hi + 1, MIN_INSTANCE_ID)
    joint = torch.bincount(index.flatten(), minlength=rows * num_classes)
    joint = joint.view(rows, num_classes)  # [instance id, predicted class] -> pixels
    sizes = joint.sum(1)
    counts = torch.zeros(2, num_classes, dtype=torch.float64, device=device)
    ids = torch.nonzero(sizes[MIN_INSTANCE_ID:]).flatten().add(MIN_INSTANCE_ID)
    cls = torch.from_numpy(LABEL_ID_TO_INSTANCE_CLASS).to(device)[ids // 1000]
    if bool((cls == _NO_INSTANCES).any()):
        bad = ids[cls == _NO_INSTANCES][:5].tolist()
        raise ValueError(f'instance ids {bad} belong to classes without instances')
    ids, cls = ids[cls >= 0], cls[cls >= 0]
    size, tp = sizes[ids].double(), joint[ids, cls].double()
    weight = torch.from_numpy(_avg_class_size(num_classes)).to(device)[cls] / size
    counts[0].index_add_(0, cls, tp * weight)
    counts[1].index_add_(0, cls, (size - tp) * weight)
    return counts


def instance_iou(conf: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per-class iIoU from the summed confusion matrix and :func:`instance_counts` sums.

    nan for classes without instances and where ``iTP + FP + iFN`` is zero (no instance in
    the ground truth and the class never predicted), as the official ``getScoreAverage``
    then leaves them out of the mean.
    """
    conf = np.asarray(conf, dtype=np.float64)
    fp = conf.sum(axis=0) - np.diag(conf)
    tp_w, fn_w = np.asarray(counts, dtype=np.float64)
    denom = tp_w + fp + fn_w
    scores = np.full(len(conf), np.nan)
    evaluated = np.zeros(len(conf), dtype=bool)
    evaluated[[t for t in INSTANCE_TRAIN_IDS if t < len(conf)]] = True
    valid = evaluated & (denom > 0)
    scores[valid] = tp_w[valid] / denom[valid]
    return scores
