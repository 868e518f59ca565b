"""The onnxruntime evaluation backend of tools/test.py: the Runner's network swapped for an
ONNX file's, exported on the fly from the loaded checkpoint unless a file is given.

The export has dynamic batch, height and width, so whole images of any size, slide windows
and TTA scales all run through the one graph; everything around the network stays in the
segmentor (see :mod:`cityseg.apis.onnx.runtime`).
"""
from __future__ import annotations

import os
import os.path as osp

from torch import nn

from cityseg.models import predicting_segmentor
from cityseg.utils.fileio import atomic_output

from .export import export_onnx
from .runtime import use_onnxruntime


def trace_shape(model: nn.Module) -> tuple[int, int]:
    """A small input size for tracing a dynamic graph: 8 x 16 times the size divisor of the
    predicting segmentor (the traced size only has to be valid; the graph then takes any
    multiple of the divisor)."""
    divisor = predicting_segmentor(model).data_preprocessor.size_divisor or 32
    return 8 * divisor, 16 * divisor


def export_for_evaluation(model: nn.Module, out_dir: str, name: str) -> str:
    """Export ``model``'s network with dynamic axes to ``<out_dir>/<name>.onnx`` (atomically,
    so ranks of a distributed run may all write it) and return the path."""
    path = osp.join(out_dir, f'{name}.onnx')
    with atomic_output(path) as tmp:
        export_onnx(model, tmp, trace_shape(model), dynamic=True)
    return path


def use_onnxruntime_in_runner(runner, onnx_path: str | os.PathLike | None,
                              checkpoint: str | None) -> str:
    """Run ``runner``'s network with onnxruntime; returns the ONNX file used.

    Args:
        onnx_path: an exported graph (tools/export_onnx.py ``--dynamic`` for slide windows and
            TTA scales), or ``None`` to export the runner's loaded weights into
            ``<work_dir>/onnx/<checkpoint name>.onnx`` first.
        checkpoint: the loaded checkpoint, naming the exported file.
    """
    model = runner.model
    if onnx_path is None:
        name = osp.splitext(osp.basename(checkpoint))[0] if checkpoint else 'model'
        onnx_path = export_for_evaluation(model, osp.join(runner.work_dir, 'onnx'), name)
    use_onnxruntime(model, onnx_path)
    runner.logger.info(f'network run by onnxruntime from {onnx_path}')
    return os.fspath(onnx_path)
