"""What the exported graph is: its input and output names and the module that gets traced.

The graph's input ``image`` is float32 RGB NCHW in 0..255 (a uint8 image cast to float, or one
resized with bilinear interpolation); its output ``logits`` is float32
``N x num_classes x H x W``. H and W must be multiples of the model's size divisor (32 for most
encoders, 16 for DeepLabV3+): pad at the bottom/right and crop the logits back, as
:class:`~cityseg.apis.onnx.runtime.OnnxRuntimeNet` inside the segmentor does. A consumer needs
no knowledge of the training statistics, only of RGB channel order. The model's temperature
(temperature scaling, :mod:`cityseg.evaluation.temperature`) is the graph's ``temperature``
metadata entry: the logits are not divided by it, so that the argmax is the network's and a
consumer applies ``softmax(logits / temperature)`` for calibrated probabilities.

Shared by the exporter, the runtime and the comparison, so none of them imports another's
module for these names.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from cityseg.models import predicting_segmentor

INPUT_NAME = 'image'
OUTPUT_NAME = 'logits'
# Metadata key of the model's temperature (the logits are raw: divide by it before a softmax).
TEMPERATURE_KEY = 'temperature'


class RawImageNet(nn.Module):
    """A model's predicting network (:func:`~cityseg.models.predicting_segmentor`: the
    segmentor's own, or the student or teacher a self-training model predicts with) taking
    raw RGB pixels: ``net((x - mean) / std)``.

    ``mean``/``std`` are the data preprocessor's (RGB order, 0..255 units), so the graph
    computes exactly what :class:`~cityseg.models.SegDataPreProcessor` feeds the network.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        segmentor = predicting_segmentor(model)
        self.net = segmentor.net
        self.register_buffer('mean', segmentor.data_preprocessor.mean.detach().clone())
        self.register_buffer('std', segmentor.data_preprocessor.std.detach().clone())

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.net((image - self.mean) / self.std)
        if logits.shape[-2:] != image.shape[-2:]:
            logits = F.interpolate(logits, size=image.shape[-2:], mode='bilinear',
                                   align_corners=False)
        return logits
