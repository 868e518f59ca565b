"""Self-training batches as MultiBranch pipelines and MultiSourceDataset pack them, and tiny
self-training models to feed them to."""
from __future__ import annotations

import torch
from mmengine.dataset import pseudo_collate
from torch import nn

from cityseg.datasets import MultiSourceDataset
from cityseg.registry import MODELS
from helpers.seg_batch import (
    PointwiseNet,  # noqa: F401  (registers TestPointwiseNet)
    make_data,
)

BRANCHES = ('sup', 'unsup_weak', 'unsup_strong', 'unsup_strong2')


def semi_model(type: str = 'SemiSegmentor', **semi_cfg) -> nn.Module:
    """A ``type`` self-training model of a 5-class TestPointwiseNet student (focal loss)."""
    return MODELS.build(dict(
        type=type, semi_cfg=semi_cfg,
        student=dict(type='SMPSegmentor', arch='TestPointwiseNet', num_classes=5,
                     loss=dict(type='FocalLoss'))))


def _row(branches: dict) -> dict:
    """A MultiBranch output holding ``branches`` ({name: (image, sample)}), None elsewhere."""
    return dict(inputs={b: branches[b][0] if b in branches else None for b in BRANCHES},
                data_samples={b: branches[b][1] if b in branches else None for b in BRANCHES})


def unlabelled_rows(count: int, size=(8, 12), seed: int = 1, second_strong: bool = False
                    ) -> list[dict]:
    """``count`` unlabelled rows: a weak view and its strong view(s) (colours inverted,
    halved), each image different (``seed``)."""
    data = make_data([size] * count, seed=seed)
    rows = []
    for img, sample in zip(data['inputs'], data['data_samples']):
        del sample.gt_sem_seg
        views = dict(unsup_weak=(img, sample), unsup_strong=(255 - img, sample.clone()))
        if second_strong:
            views['unsup_strong2'] = (img // 2, sample.clone())
        rows.append(_row(views))
    return rows


def semi_batch(n_sup: int = 2, n_unsup: int = 2, size=(8, 12), partners: bool = True,
               second_strong: bool = False) -> dict:
    """A collated batch of ``n_sup`` labelled and ``n_unsup`` unlabelled rows; with
    ``partners``, each unlabelled row packs another unlabelled image as its mix partner
    (``MultiSourceDataset.with_partner``, as ``MultiSourceSampler(mix_partners=True)``
    makes the dataset do)."""
    sup = make_data([size] * n_sup)
    rows = [_row(dict(sup=(img, sample)))
            for img, sample in zip(sup['inputs'], sup['data_samples'])]
    unsup = unlabelled_rows(n_unsup, size, second_strong=second_strong)
    if not partners:
        return pseudo_collate(rows + unsup)
    others = unlabelled_rows(n_unsup, size, seed=2, second_strong=second_strong)
    rows = [MultiSourceDataset.with_partner(row, None) for row in rows]
    rows += [MultiSourceDataset.with_partner(row, other) for row, other in zip(unsup, others)]
    return pseudo_collate(rows)


def preprocessed(model: nn.Module, batch: dict) -> dict:
    """``batch`` through the model's (multi-branch) data preprocessor, as in training."""
    return model.data_preprocessor(batch, True)


def teacher_labels(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """The teacher's argmax labels of preprocessed ``images``: the pseudo-labels by hand."""
    with torch.no_grad():
        return model.teacher(images, mode='tensor').argmax(1)
