"""Preprocess each branch of a multi-branch batch (labelled, weak, strong) on its own."""
from __future__ import annotations

from mmengine.model import BaseDataPreprocessor
from torch import nn


class MultiBranchDataPreprocessor(BaseDataPreprocessor):
    """The segmentor's own preprocessor, applied branch by branch.

    A training batch from :class:`~cityseg.datasets.MultiBranch` pipelines is
    ``{'inputs': {branch: [image or None, ...]}, 'data_samples': {branch: [...]}}``; each
    branch's present samples (in batch order, so the weak and strong views of one image share
    their position) are normalised, padded and stacked by ``inner``. Validation and test
    batches are ordinary ones and go to ``inner`` unchanged, as mmdetection's
    ``MultiBranchDataPreprocessor`` does.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    @property
    def size_divisor(self) -> int | None:
        return self.inner.size_divisor

    def forward(self, data: dict, training: bool = False) -> dict:
        if not isinstance(data.get('inputs'), dict):
            return self.inner(data, training)
        inputs, samples = {}, {}
        for branch, images in data['inputs'].items():
            present = [i for i, image in enumerate(images) if image is not None]
            if not present:
                continue
            out = self.inner(dict(inputs=[images[i] for i in present],
                                  data_samples=[data['data_samples'][branch][i]
                                                for i in present]), training)
            inputs[branch], samples[branch] = out['inputs'], out['data_samples']
        return dict(inputs=inputs, data_samples=samples)
