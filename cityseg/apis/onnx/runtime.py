"""Run an exported ONNX network inside a segmentor, so whole/slide inference and TTA still apply.

The segmentor keeps doing everything around the network (channel flip, padding, slide windows,
flips and scales, resizing to the image, argmax); only ``model.net`` is replaced by
:class:`OnnxRuntimeNet`, so the two backends differ in the network's arithmetic alone.
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import nn

from cityseg.models.predictor import predicting_segmentor, segmentor_key
from cityseg.models.test_cfg import check_temperature

from .extra import require
from .graph import INPUT_NAME, OUTPUT_NAME, TEMPERATURE_KEY

if TYPE_CHECKING:
    import onnxruntime as ort


def create_session(path: str | os.PathLike, device: str = 'cpu',
                   num_threads: int | None = None) -> ort.InferenceSession:
    """An onnxruntime session on ``device`` (CUDA when asked for and available, else CPU).

    onnxruntime is an optional dependency of cityseg, imported here on first use.
    """
    path = os.fspath(path)
    ort = require('onnxruntime', f'running {path} with onnxruntime')
    if not os.path.isfile(path):
        raise FileNotFoundError(f'ONNX model not found: {path}')
    providers = ['CPUExecutionProvider']
    if device.startswith('cuda') and 'CUDAExecutionProvider' in ort.get_available_providers():
        providers.insert(0, 'CUDAExecutionProvider')
    options = ort.SessionOptions()
    # Idle onnxruntime threads otherwise spin, taking the cores from the segmentor's PyTorch
    # work between runs (resizing, softmax, argmax) and from anything else on the machine.
    options.add_session_config_entry('session.intra_op.allow_spinning', '0')
    if num_threads:
        options.intra_op_num_threads = num_threads
    session = ort.InferenceSession(path, options, providers=providers)
    names = ([i.name for i in session.get_inputs()], [o.name for o in session.get_outputs()])
    if names != ([INPUT_NAME], [OUTPUT_NAME]):
        raise ValueError(f'{path} has inputs/outputs {names}; expected [{INPUT_NAME!r}] -> '
                         f'[{OUTPUT_NAME!r}] as tools/export_onnx.py writes them')
    return session


class OnnxRuntimeNet(nn.Module):
    """Stands in for ``model.net``: takes the preprocessor's normalised input, undoes the
    normalisation (the graph holds it) and returns onnxruntime's logits as a tensor."""

    def __init__(self, session: ort.InferenceSession, mean: torch.Tensor,
                 std: torch.Tensor) -> None:
        super().__init__()
        self.session = session
        self.register_buffer('mean', mean.detach().clone(), persistent=False)
        self.register_buffer('std', std.detach().clone(), persistent=False)
        self.input_shape = session.get_inputs()[0].shape

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        shape = tuple(inputs.shape)
        fixed = [(i, d) for i, d in enumerate(self.input_shape) if isinstance(d, int)]
        if any(shape[i] != d for i, d in fixed):
            raise ValueError(f'the ONNX model takes inputs of shape {self.input_shape}, got '
                             f'{list(shape)}: export it with --dynamic, or with --shape equal '
                             f'to the padded image size, and batch size 1')
        image = (inputs.float() * self.std + self.mean).contiguous().cpu().numpy()
        logits = self.session.run([OUTPUT_NAME], {INPUT_NAME: image})[0]
        return torch.from_numpy(logits).to(inputs.device)


def output_classes(session: ort.InferenceSession, divisor: int) -> int:
    """The number of classes (output channels) of a graph: from its declared output shape,
    else, when that dimension is symbolic, from one run on a blank image of ``divisor``-
    multiple size (any fixed input dimensions kept)."""
    channels = session.get_outputs()[0].shape[1]
    if isinstance(channels, int):
        return channels
    probe = [d if isinstance(d, int) else s for d, s in zip(
        session.get_inputs()[0].shape, (1, 3, 2 * divisor, 2 * divisor))]
    return int(session.run([OUTPUT_NAME], {INPUT_NAME: np.zeros(probe, np.float32)})[0].shape[1])


def use_onnxruntime(model: nn.Module, onnx_path: str | os.PathLike,
                    num_threads: int | None = None) -> nn.Module:
    """Replace the predicting network (:func:`~cityseg.models.predicting_segmentor`: the
    segmentor's ``net``, or that of the student or teacher a self-training model predicts
    with) by the ONNX file's network run with onnxruntime (in place); returns ``model``.

    The graph's ``temperature`` metadata becomes the predicting segmentor's ``temperature``
    unless the config set ``model.temperature`` itself (as a checkpoint's does in
    ``load_model_weights``), and is checked as that one is
    (:func:`~cityseg.models.test_cfg.check_temperature`).

    Raises:
        ValueError: the graph outputs another number of classes than the config's
            ``num_classes``; its scores would be mapped to the wrong class names (or to none)
            without an error. Or its ``temperature`` metadata is not a positive finite
            number: ``nan``, ``0`` or a negative one would turn every probability into
            ``nan`` or invert the scores, and argmax would read ``nan`` as class 0.
    """
    segmentor = predicting_segmentor(model)
    pre = segmentor.data_preprocessor
    session = create_session(onnx_path, str(pre.mean.device), num_threads)
    found = output_classes(session, int(pre.size_divisor or 32))
    if found != segmentor.num_classes:
        raise ValueError(
            f'{os.fspath(onnx_path)} outputs {found} classes, but the config has '
            f'{segmentor_key(model)}.num_classes={segmentor.num_classes}: pass the config '
            'the ONNX model was exported from, or export this config\'s checkpoint '
            '(tools/export_onnx.py)')
    stored = session.get_modelmeta().custom_metadata_map.get(TEMPERATURE_KEY)
    if stored is not None and segmentor.temperature_cfg is None:
        segmentor.temperature = check_temperature(
            _number(stored), f'{os.fspath(onnx_path)}: metadata {TEMPERATURE_KEY}')
    segmentor.net = OnnxRuntimeNet(session, pre.mean, pre.std)
    return model


def _number(text: str) -> float | str:
    """``text`` as a float when it reads as one, else as it is (for the error message)."""
    try:
        return float(text)
    except ValueError:
        return text
