from cityseg.engine.runtime import RunRefusedError, build_runner, train

from .inference import SegResult, inference_model, init_model, read_image
from .onnx import compare_with_pytorch, export_onnx, use_onnxruntime

__all__ = ['RunRefusedError', 'SegResult', 'build_runner', 'compare_with_pytorch', 'export_onnx',
           'inference_model', 'init_model', 'read_image', 'train', 'use_onnxruntime']
