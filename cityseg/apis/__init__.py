from .inference import SegResult, inference_model, init_model, read_image
from .onnx_export import compare_with_pytorch, export_onnx
from .onnx_runtime import use_onnxruntime

__all__ = ['SegResult', 'compare_with_pytorch', 'export_onnx', 'inference_model', 'init_model',
           'read_image', 'use_onnxruntime']
