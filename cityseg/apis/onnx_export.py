"""Export a segmentor's network to ONNX with the normalisation inside the graph.

The exported graph's input ``image`` is float32 RGB NCHW in 0..255 (a uint8 image cast to
float, or one resized with bilinear interpolation); its output ``logits`` is float32
``N x num_classes x H x W``. H and W must be multiples of the model's size divisor (32 for
most encoders, 16 for DeepLabV3+): pad at the bottom/right and crop the logits back, as
:class:`~cityseg.apis.onnx_runtime.OnnxRuntimeNet` does. A consumer needs no knowledge of the
training statistics, only of RGB channel order.
"""
from __future__ import annotations

import os
import warnings
from collections.abc import Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

INPUT_NAME = 'image'
OUTPUT_NAME = 'logits'
OPSET = 17


class RawImageNet(nn.Module):
    """A segmentor's network that takes raw RGB pixels: ``net((x - mean) / std)``.

    ``mean``/``std`` are the data preprocessor's (RGB order, 0..255 units), so the graph
    computes exactly what :class:`~cityseg.models.SegDataPreProcessor` feeds the network.
    """

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.net = model.net
        self.register_buffer('mean', model.data_preprocessor.mean.detach().clone())
        self.register_buffer('std', model.data_preprocessor.std.detach().clone())

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        logits = self.net((image - self.mean) / self.std)
        if logits.shape[-2:] != image.shape[-2:]:
            logits = F.interpolate(logits, size=image.shape[-2:], mode='bilinear',
                                   align_corners=False)
        return logits


def export_onnx(model: nn.Module, path: str | os.PathLike, shape: Sequence[int] = (1024, 2048),
                dynamic: bool = False, opset: int = OPSET) -> None:
    """Write ``model``'s network, fed raw RGB, to ``path`` (see the module docstring).

    Args:
        model: an :class:`~cityseg.models.SMPSegmentor` (``net`` + ``data_preprocessor``).
        shape: ``(H, W)`` of the traced input; the graph's fixed size unless ``dynamic``.
        dynamic: let batch size, height and width vary.

    Uses torch's TorchScript exporter (``dynamo=False``): the dynamo one needs ``onnxscript``.
    """
    h, w = shape
    divisor = model.data_preprocessor.size_divisor or 1
    if h % divisor or w % divisor:
        raise ValueError(f'export shape {h}x{w} must be a multiple of the size divisor '
                         f'{divisor} of {type(model.net).__name__}')
    wrapper = RawImageNet(model).eval()
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


def onnx_input(image_bgr: np.ndarray, shape: Sequence[int] | None, divisor: int) -> np.ndarray:
    """A BGR uint8 image as the graph's input: resized to ``shape`` if given (a fixed-size
    graph), else zero-padded at the bottom/right to multiples of ``divisor``."""
    if shape is not None:
        image_bgr = cv2.resize(image_bgr, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
    h, w = image_bgr.shape[:2]
    image_bgr = cv2.copyMakeBorder(image_bgr, 0, -h % divisor, 0, -w % divisor,
                                   cv2.BORDER_CONSTANT, value=0)
    return np.ascontiguousarray(image_bgr[..., ::-1].transpose(2, 0, 1)[None], dtype=np.float32)


def compare_with_pytorch(model: nn.Module, onnx_path: str | os.PathLike,
                         images_bgr: Sequence[np.ndarray],
                         shape: Sequence[int] | None = None) -> dict[str, float]:
    """Run onnxruntime and PyTorch on the same real images and compare their logits.

    Args:
        images_bgr: uint8 BGR images, resized to ``shape`` for a fixed-size graph (else padded
            to the size divisor).

    Returns:
        ``max_abs_diff`` (largest logit difference) and ``agreement`` (fraction of pixels
        whose argmax class is the same), over all images.
    """
    from .onnx_runtime import create_session

    session = create_session(onnx_path)
    wrapper = RawImageNet(model).eval()
    divisor = model.data_preprocessor.size_divisor or 1
    max_diff, same, total = 0.0, 0, 0
    for image in images_bgr:
        x = onnx_input(image, shape, divisor)
        ort_logits = torch.from_numpy(session.run([OUTPUT_NAME], {INPUT_NAME: x})[0])
        with torch.no_grad():
            pt_logits = wrapper(torch.from_numpy(x).to(wrapper.mean.device)).float().cpu()
        max_diff = max(max_diff, (ort_logits - pt_logits).abs().max().item())
        same += (ort_logits.argmax(1) == pt_logits.argmax(1)).sum().item()
        total += pt_logits[:, 0].numel()
    return dict(max_abs_diff=max_diff, agreement=same / total)
