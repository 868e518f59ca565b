"""Static int8 quantization of an exported graph with onnxruntime, calibrated on training images.

Static (not dynamic) quantization: activation ranges are measured once on calibration images,
so convolutions run as int8 x int8 kernels with no per-call range computation, which is what
makes int8 faster on CPUs. Format QDQ (QuantizeLinear/DequantizeLinear pairs around float ops,
which onnxruntime fuses into integer kernels), per-channel int8 weights and uint8 activations,
as onnxruntime recommends for x86 CPUs (with and without VNNI).

The calibration images are the config's training images read through its *test* pipeline and
the model's own data preprocessor, then de-normalised: exactly what
:class:`~cityseg.apis.onnx.runtime.OnnxRuntimeNet` feeds the graph at evaluation time.
"""
from __future__ import annotations

import copy
import os
import os.path as osp
import tempfile
from collections.abc import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import ConfigDict
from mmengine.dataset import pseudo_collate
from torch import nn

from cityseg.models import predicting_segmentor
from cityseg.registry import DATASETS

from .export import export_onnx
from .extra import require
from .graph import INPUT_NAME


def calibration_dataset_cfg(cfg) -> ConfigDict:
    """The config's train dataset with its test pipeline (no augmentation: the ranges must be
    those of the images the deployed model sees). A dataset of several sources (a
    self-training config's ``MultiSourceDataset``: labelled and unlabelled images, or the
    source and the target domain) gets it in each source, so the ranges cover every domain
    trained on, the one deployed on included."""
    return _with_pipeline(cfg.train_dataloader.dataset, cfg.test_dataloader.dataset.pipeline)


def _with_pipeline(dataset: dict, pipeline: list) -> ConfigDict:
    """A copy of the ``dataset`` config whose datasets read through ``pipeline``: inside
    wrappers (``dataset=``) and concatenations (``datasets=[...]``)."""
    dataset = ConfigDict(copy.deepcopy(dataset))
    if 'datasets' in dataset:
        dataset.datasets = [_with_pipeline(d, pipeline) for d in dataset.datasets]
    elif 'dataset' in dataset:
        dataset.dataset = _with_pipeline(dataset.dataset, pipeline)
    else:
        dataset.pipeline = pipeline
    return dataset


class CalibrationImages:
    """onnxruntime's CalibrationDataReader (duck-typed: onnxruntime stays an optional import)
    over ``num`` evenly spaced images of ``dataset_cfg``, one graph input per image.

    Args:
        model: the model whose predicting segmentor's ``data_preprocessor`` prepares the
            images (:func:`~cityseg.models.predicting_segmentor`).
        dataset_cfg: a dataset config (see :func:`calibration_dataset_cfg`).
        num: how many images (all of them if the dataset is smaller).
        shape: ``(H, W)`` of a fixed-size graph (inputs resized to it), ``None`` for dynamic.
    """

    def __init__(self, model: nn.Module, dataset_cfg: dict, num: int,
                 shape: tuple[int, int] | None = None) -> None:
        if num < 1:
            raise ValueError(f'calibration needs at least one image, got --calib-images {num}')
        self.dataset = DATASETS.build(dataset_cfg)
        if len(self.dataset) == 0:
            raise ValueError(f'the calibration dataset {dataset_cfg.get("type")} at '
                             f'{dataset_cfg.get("data_root")} has no images')
        self.indices = np.linspace(0, len(self.dataset) - 1, min(num, len(self.dataset)))
        self.indices = sorted({int(round(i)) for i in self.indices})
        self.preprocessor = predicting_segmentor(model).data_preprocessor
        self.shape = shape
        self._items = self._inputs()

    def __len__(self) -> int:
        return len(self.indices)

    def _inputs(self) -> Iterator[dict[str, np.ndarray]]:
        pre = self.preprocessor
        for index in self.indices:
            with torch.no_grad():
                inputs = pre(pseudo_collate([self.dataset[index]]), False)['inputs']
                raw = inputs * pre.std + pre.mean
                if self.shape is not None and tuple(raw.shape[-2:]) != tuple(self.shape):
                    raw = F.interpolate(raw, size=self.shape, mode='bilinear',
                                        align_corners=False)
            yield {INPUT_NAME: raw.float().cpu().numpy()}

    def get_next(self) -> dict[str, np.ndarray] | None:
        return next(self._items, None)


def quantize_int8(fp32_path: str | os.PathLike, out_path: str | os.PathLike,
                  calibration: CalibrationImages) -> None:
    """Write the static int8 (QDQ, per-channel weights) version of ``fp32_path`` to
    ``out_path``, with activation ranges (min/max) measured on ``calibration``.

    The graph first goes through onnxruntime's quantization pre-processing (its graph
    optimizer and ONNX shape inference). It folds the exported EfficientNet's "same" padding
    (Pad nodes fed by shape arithmetic) into the convolutions and removes the Identity nodes
    that torch's exporter puts in front of shared constants, e.g. equal convolution biases;
    the quantizer leaves a convolution whose bias is not an initializer in float. Without it
    the trained reference DeepLabV3+/EfficientNet-B3 ran 1.44x faster than fp32, with it
    1.81x (1024x2048, 2 threads). Symbolic shape inference is skipped: it cannot resolve
    the shape arithmetic of a dynamic-size export, and ONNX's own inference suffices.

    The ranges are measured by :mod:`cityseg.apis.onnx.calibrator` (onnxruntime's MinMax
    calibrator in the memory of one inference) and handed to ``quantize_static`` as its
    calibration cache.
    """
    require('onnxruntime', 'int8 quantization')
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .calibrator import measure_activation_ranges
    with tempfile.TemporaryDirectory() as tmp:
        prepared, ranges = osp.join(tmp, 'prepared.onnx'), osp.join(tmp, 'ranges.json')
        quant_pre_process(os.fspath(fp32_path), prepared, skip_symbolic_shape=True)
        measure_activation_ranges(prepared, calibration, ranges, osp.join(tmp, 'augmented.onnx'))
        quantize_static(prepared, os.fspath(out_path), None, calibration_cache_path=ranges,
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def export_int8(model: nn.Module, path: str | os.PathLike, num_calib: int,
                shape: Sequence[int] = (1024, 2048), dynamic: bool = False) -> int:
    """Export ``model`` (as :func:`~cityseg.apis.onnx.export_onnx` does) and write its int8
    version to ``path``, calibrated on ``num_calib`` train images of ``model.cfg``; returns
    how many images calibrated it."""
    calibration = CalibrationImages(model, calibration_dataset_cfg(model.cfg), num_calib,
                                    None if dynamic else tuple(shape))
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = osp.join(tmp, 'fp32.onnx')
        export_onnx(model, fp32, shape, dynamic)
        quantize_int8(fp32, path, calibration)
    return len(calibration)
