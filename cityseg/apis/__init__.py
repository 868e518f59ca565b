from .inference import SegResult, inference_model, init_model, read_image
from .onnx import compare_with_pytorch, export_onnx, use_onnxruntime

__all__ = ['SegResult', 'compare_with_pytorch', 'export_onnx', 'inference_model', 'init_model',
           'read_image', 'use_onnxruntime']
