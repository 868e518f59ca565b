"""Class weights from the training labels' pixel frequencies, handed to the loss."""
from __future__ import annotations

import os
import os.path as osp

import numpy as np
from mmengine.dist import broadcast_object_list, is_main_process
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from terminaltables import AsciiTable

from cityseg.datasets.class_stats import (
    dataset_num_classes,
    label_files,
    per_image_class_counts,
)
from cityseg.datasets.multi_source import labelled_part
from cityseg.registry import HOOKS
from cityseg.utils.errors import CitysegTypeError

METHODS = ('enet', 'median_freq')


def class_weights(counts: np.ndarray, method: str = 'enet', c: float = 1.02,
                  normalize: bool = False,
                  clip: tuple[float, float] | None = None) -> np.ndarray:
    """Per-class loss weights from ``(num_images, num_classes)`` pixel counts.

    - ``'enet'`` (Paszke et al., 2016): ``w = 1 / ln(c + p)`` with ``p`` the class's share of
      all labelled pixels; ``c = 1.02`` bounds the weights to ``[1 / ln(1 + c), 1 / ln(c)]``,
      about 1.45 to 50.5.
    - ``'median_freq'`` (Eigen & Fergus, 2015): ``w = median(f) / f`` with ``f`` the class's
      pixels divided by the labelled pixels of the images where it appears. A class that never
      appears gets weight 0: no pixel carries it, so the weight has no effect.

    ``normalize`` scales the weights to a mean of 1 over the classes; ``clip=(lo, hi)`` then
    bounds them. (The focal loss divides by the summed pixel weights, so a common factor does
    not change the loss; normalising matters for what ``clip`` means.)
    """
    counts = np.asarray(counts, dtype=np.float64)
    if counts.ndim != 2 or (counts < 0).any():
        raise ValueError(f'counts must be a non-negative (num_images, num_classes) array, '
                         f'got shape {counts.shape}')
    totals = counts.sum(0)
    if totals.sum() == 0:
        raise ValueError('the labels hold no labelled pixel; cannot derive class weights')
    if method == 'enet':
        weights = 1.0 / np.log(c + totals / totals.sum())
    elif method == 'median_freq':
        image_pixels = counts.sum(1, keepdims=True)
        seen_in = ((counts > 0) * image_pixels).sum(0)
        freq = np.divide(totals, seen_in, out=np.zeros_like(totals), where=seen_in > 0)
        present = freq > 0
        weights = np.zeros_like(freq)
        weights[present] = np.median(freq[present]) / freq[present]
    else:
        raise ValueError(f'method must be one of {METHODS}, got {method!r}')
    if normalize:
        weights = weights / weights.mean()
    if clip is not None:
        weights = np.clip(weights, *clip)
    return weights


@HOOKS.register_module()
class ClassWeightHook(Hook):
    """Before training, count the train split's label pixels once and set the loss's class
    weights.

    Any dataset works: one weight per class of its metainfo, its labels read with the label
    settings it gives its samples (Cityscapes label ids, a SegFolderDataset's label_map...).

    The per-image counts are cached in ``work_dir/<cache_file>`` (reused on resume and by
    later runs in the same work dir; recomputed if the label files change). The weights are
    logged as a table and handed to ``model.loss_module.set_class_weight`` (JointLoss passes
    them to the components that take them, e.g. FocalLoss).

    Args:
        method, c, normalize, clip: see :func:`class_weights`.
        nproc: processes counting labels; default ``min(8, cpu_count)``.
        cache_file: file name in the work dir, or an absolute path to share it between runs.
    """

    priority = 'NORMAL'

    def __init__(self, method: str = 'enet', c: float = 1.02, normalize: bool = False,
                 clip: tuple[float, float] | None = None, nproc: int | None = None,
                 cache_file: str = 'class_stats.json') -> None:
        if method not in METHODS:
            raise ValueError(f'ClassWeightHook method must be one of {METHODS}, got {method!r}')
        self.weight_args = dict(method=method, c=c, normalize=normalize, clip=clip)
        self.nproc = nproc or min(8, os.cpu_count() or 1)
        self.cache_file = cache_file

    def before_train(self, runner) -> None:
        result = [None]
        if is_main_process():
            # with unlabelled images (MultiSourceDataset), the labelled source's classes
            dataset = labelled_part(runner.train_dataloader.dataset)
            counts = per_image_class_counts(label_files(dataset), dataset_num_classes(dataset),
                                            self.nproc, osp.join(runner.work_dir, self.cache_file))
            result = [(counts.sum(0), class_weights(counts, **self.weight_args))]
        broadcast_object_list(result)
        totals, weights = result[0]
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        loss = getattr(model, 'loss_module', None)
        if not hasattr(loss, 'set_class_weight'):
            raise CitysegTypeError(
                f'ClassWeightHook needs model.loss_module.set_class_weight(); '
                f'{type(model).__name__}.loss_module is {type(loss).__name__}')
        loss.set_class_weight(weights.tolist())
        classes = runner.train_dataloader.dataset.metainfo.get('classes', ())
        runner.logger.info(f'Class weights ({self.weight_args["method"]}):\n'
                           + weight_table(totals, weights, classes))


def weight_table(totals: np.ndarray, weights: np.ndarray, classes: tuple[str, ...]) -> str:
    """An ASCII table of each class's pixels, share of the labelled pixels and weight."""
    if len(classes) != len(weights):
        classes = tuple(str(i) for i in range(len(weights)))
    share = totals / max(totals.sum(), 1)
    rows = [['Class', 'Pixels', 'Share %', 'Weight']]
    rows += [[name, f'{int(n):,}', f'{100 * s:.3f}', f'{w:.4f}']
             for name, n, s, w in zip(classes, totals, share, weights)]
    return AsciiTable(rows).table
