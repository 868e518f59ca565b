"""cityscapesscripts' official pixel-level evaluator, run on label-id PNGs, and the comparison
of its scores with ours: the one reference for every parity test."""
from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling
from PIL import Image

from cityseg.datasets.labels import ID_TO_TRAIN_ID, IGNORE_INDEX, TRAIN_ID_TO_ID, VALID_LABEL_IDS

# Every label id whose train id is void: the official evaluator must ignore all of them.
VOID_LABEL_IDS = sorted(i for i in VALID_LABEL_IDS if ID_TO_TRAIN_ID[i] == IGNORE_INDEX)


def label_ids_with_every_void(gt_train_ids: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The label-id map of a train-id ground truth, void pixels spread over every void id."""
    label_ids = TRAIN_ID_TO_ID[gt_train_ids]
    void = gt_train_ids == IGNORE_INDEX
    label_ids[void] = rng.choice(VOID_LABEL_IDS, int(void.sum()))
    return label_ids


def write_eval_files(root: Path, preds: Sequence[np.ndarray], gt_label_ids: Sequence[np.ndarray],
                     instance_ids: Sequence[np.ndarray] | None = None
                     ) -> tuple[list[str], list[str]]:
    """Prediction PNGs (from train ids) and ground-truth label-id (and instanceIds) PNGs named
    as the official tool pairs them; returns the prediction and label file lists."""
    gt_dir, pred_dir = root / 'gtFine' / 'val' / 'city', root / 'results'
    gt_dir.mkdir(parents=True)
    pred_dir.mkdir()
    pred_files, gt_files = [], []
    for k, (pred, gt) in enumerate(zip(preds, gt_label_ids)):
        stem = f'city_{k:06d}_000019'
        pred_files.append(str(pred_dir / f'{stem}_leftImg8bit.png'))
        gt_files.append(str(gt_dir / f'{stem}_gtFine_labelIds.png'))
        Image.fromarray(TRAIN_ID_TO_ID[pred].astype(np.uint8)).save(pred_files[-1])
        Image.fromarray(np.asarray(gt).astype(np.uint8)).save(gt_files[-1])
        if instance_ids is not None:
            Image.fromarray(instance_ids[k]).save(str(gt_dir / f'{stem}_gtFine_instanceIds.png'))
    return pred_files, gt_files


def official_evaluation(pred_files: Sequence[str], gt_files: Sequence[str],
                        instance_level: bool = False,
                        export_file: str | None = None) -> dict:
    """``evaluateImgLists`` of cityscapesscripts on the files: ``classScores``,
    ``averageScoreClasses`` and, with ``instance_level``, ``classInstScores`` and
    ``averageScoreInstClasses``; ``export_file`` also writes its JSON export there.

    The official instance path calls ``np.in1d``, which numpy 2.4 removed; ``np.isin`` is its
    documented replacement, with the same results, and stands in for it during the call.
    """
    args = copy.copy(evalPixelLevelSemanticLabeling.args)
    args.evalInstLevelScore = instance_level
    args.evalPixelAccuracy = False
    args.quiet = True
    args.JSONOutput = export_file is not None
    if export_file is not None:
        args.exportFile = export_file
    with mock.patch.object(np, 'in1d', np.isin, create=True):
        return evalPixelLevelSemanticLabeling.evaluateImgLists(list(pred_files), list(gt_files),
                                                               args)


def assert_class_scores_match(ours: Mapping[str, float | None], theirs: Mapping[str, float],
                              abs_tol: float = 1e-6) -> int:
    """Per class of ours, our score equals the official one within ``abs_tol``, and is
    undefined (nan, or None as metrics.json writes it) exactly where the official one is nan;
    the official scores of the other labels (those ignored in evaluation) must be nan. Returns
    how many defined scores were compared, for callers to check that the comparison had teeth.
    """
    others = {name: v for name, v in theirs.items() if name not in ours}
    assert all(math.isnan(v) for v in others.values()), others
    defined = 0
    for name, value in ours.items():
        value, reference = float('nan') if value is None else value, theirs[name]
        if math.isnan(reference):
            assert math.isnan(value), name
        else:
            assert value == pytest.approx(reference, abs=abs_tol), name
            defined += 1
    return defined
