"""Label maps for metric tests: street-scene-like (prediction, ground truth) pairs, the
sample dicts mmengine's Evaluator hands to a metric, and an independent confusion matrix."""
from __future__ import annotations

import numpy as np
import torch
from mmengine.structures import PixelData

from cityseg.datasets.labels import CLASSES, IGNORE_INDEX, NUM_CLASSES
from cityseg.structures.seg_data_sample import SegDataSample

BUS = CLASSES.index('bus')  # predicted in places, never in the ground truth
TRAIN = CLASSES.index('train')  # in neither ground truth nor prediction


def histogram_reference(pred: np.ndarray, gt: np.ndarray, num_classes: int = NUM_CLASSES,
                        ignore_index: int = IGNORE_INDEX) -> np.ndarray:
    """numpy's 2-D histogram (rows = ground truth) over the pixels whose ground truth is not
    ``ignore_index``."""
    keep = gt != ignore_index
    ref, _, _ = np.histogram2d(gt[keep], pred[keep], bins=num_classes,
                               range=[[0, num_classes], [0, num_classes]])
    return ref.astype(np.int64)


def metric_sample(pred, gt, img_path: str | None = None, dtype: torch.dtype = torch.int64) -> dict:
    """The dict mmengine's Evaluator hands to ``process`` for one SegDataSample."""
    meta = {} if img_path is None else {'img_path': img_path}
    ds = SegDataSample(metainfo=meta)
    ds.pred_sem_seg = PixelData(data=torch.as_tensor(pred).to(dtype).reshape(1, *np.shape(pred)))
    ds.gt_sem_seg = PixelData(data=torch.as_tensor(gt).to(dtype).reshape(1, *np.shape(gt)))
    return ds.to_dict()


def blobby_pairs(seed: int = 0, n: int = 4, h: int = 64,
                 w: int = 128) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train-id (pred, gt) pairs made of rectangles, like street scenes in miniature.

    The ground truth uses every class except BUS and TRAIN and has void regions and scattered
    void pixels; predictions are the ground truth with blocks of errors and BUS blobs, and
    never contain TRAIN.
    """
    rng = np.random.default_rng(seed)
    gt_classes = [c for c in range(NUM_CLASSES) if c not in (BUS, TRAIN)]
    pred_classes = [c for c in range(NUM_CLASSES) if c != TRAIN]
    pairs = []
    for _ in range(n):
        gt = np.repeat(np.repeat(rng.choice(gt_classes, (8, 16)), 8, 0), 8, 1)
        for _ in range(20):
            y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
            gt[y:y + rng.integers(2, 12), x:x + rng.integers(2, 24)] = rng.choice(gt_classes)
        y, x = rng.integers(0, h - 16), rng.integers(0, w - 16)
        gt[y:y + 16, x:x + 30] = IGNORE_INDEX
        gt[rng.random((h, w)) < 0.02] = IGNORE_INDEX
        pred = gt.copy()
        pred[gt == IGNORE_INDEX] = rng.choice(pred_classes, int((gt == IGNORE_INDEX).sum()))
        for _ in range(15):
            y, x = rng.integers(0, h - 8), rng.integers(0, w - 8)
            pred[y:y + rng.integers(2, 10), x:x + rng.integers(2, 20)] = rng.choice(pred_classes)
        noise = rng.random((h, w)) < 0.05
        pred[noise] = rng.choice(pred_classes, int(noise.sum()))
        pairs.append((pred, gt))
    all_gt = np.concatenate([g.ravel() for _, g in pairs])
    all_pred = np.concatenate([p.ravel() for p, _ in pairs])
    assert set(np.unique(all_gt)) == {*gt_classes, IGNORE_INDEX}
    assert BUS in all_pred and TRAIN not in all_pred
    return pairs
