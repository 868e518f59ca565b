"""Check an exported graph against the PyTorch network it came from, on real images."""
from __future__ import annotations

import os
from collections.abc import Sequence

import cv2
import numpy as np
import torch
from torch import nn

from cityseg.models import predicting_segmentor

from .graph import INPUT_NAME, OUTPUT_NAME, RawImageNet
from .runtime import create_session


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
        model: a segmentor, or a self-training model (its predicting network,
            :func:`~cityseg.models.predicting_segmentor`).
        images_bgr: uint8 BGR images, resized to ``shape`` for a fixed-size graph (else padded
            to the size divisor).

    Returns:
        ``max_abs_diff`` (largest logit difference) and ``agreement`` (fraction of pixels
        whose argmax class is the same), over all images.
    """
    session = create_session(onnx_path)
    wrapper = RawImageNet(model).eval()
    divisor = predicting_segmentor(model).data_preprocessor.size_divisor or 1
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
