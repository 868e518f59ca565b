"""Export a segmentor's network to ONNX with the normalisation inside the graph (the graph's
contract is in :mod:`cityseg.apis.onnx.graph`)."""
from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import torch
from torch import nn

from cityseg.models import predicting_segmentor

from .extra import require
from .graph import INPUT_NAME, OUTPUT_NAME, TEMPERATURE_KEY, RawImageNet

OPSET = 17


def export_onnx(model: nn.Module, path: str | os.PathLike, shape: Sequence[int] = (1024, 2048),
                dynamic: bool = False, opset: int = OPSET) -> None:
    """Write ``model``'s network, fed raw RGB, to ``path`` (see :mod:`cityseg.apis.onnx.graph`).

    Args:
        model: a segmentor, or a self-training model: its predicting network is exported
            (:func:`~cityseg.models.predicting_segmentor`).
        shape: ``(H, W)`` of the traced input; the graph's fixed size unless ``dynamic``.
        dynamic: let batch size, height and width vary.

    Uses torch's TorchScript exporter (``dynamo=False``): the dynamo one needs ``onnxscript``.
    The exporter serialises with the ``onnx`` package, an optional dependency of cityseg.
    The model's ``temperature`` is stored as the graph's ``temperature`` metadata.
    """
    segmentor = predicting_segmentor(model)
    h, w = shape
    divisor = segmentor.data_preprocessor.size_divisor or 1
    if h % divisor or w % divisor:
        raise ValueError(f'export shape {h}x{w} must be a multiple of the size divisor '
                         f'{divisor} of {type(segmentor.net).__name__}')
    onnx = require('onnx', 'exporting to ONNX')
    wrapper = RawImageNet(segmentor).eval()
    dummy = torch.randint(0, 256, (1, 3, h, w), device=wrapper.mean.device).float()
    axes = {0: 'batch', 2: 'height', 3: 'width'}
    # The exporter warns that the legacy path is deprecated and that the wrapper's shape test
    # is traced as a constant: both expected here (the test only resizes non-smp networks).
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter('ignore', DeprecationWarning)
        warnings.simplefilter('ignore', torch.jit.TracerWarning)
        torch.onnx.export(wrapper, (dummy,), os.fspath(path), dynamo=False,
                          input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                          opset_version=opset,
                          dynamic_axes={INPUT_NAME: axes, OUTPUT_NAME: axes} if dynamic else None)
    graph = onnx.load(os.fspath(path))
    entry = graph.metadata_props.add()
    entry.key, entry.value = TEMPERATURE_KEY, repr(float(segmentor.temperature))
    onnx.save(graph, os.fspath(path))
