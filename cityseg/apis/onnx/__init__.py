"""ONNX export and the onnxruntime backend.

Importing this package needs neither ``onnx`` nor ``onnxruntime`` (cityseg's optional 'onnx'
extra): each is imported by the function that uses it, which names the extra when it is
missing, so the runtime-only install keeps every tool and the PyTorch backend working.
Modules: graph (input/output names, RawImageNet), export (export_onnx), runtime
(create_session, OnnxRuntimeNet, use_onnxruntime), compare (compare_with_pytorch).
"""
from .compare import compare_with_pytorch, onnx_input
from .export import OPSET, export_onnx
from .graph import INPUT_NAME, OUTPUT_NAME, RawImageNet
from .runtime import OnnxRuntimeNet, create_session, use_onnxruntime

__all__ = ['INPUT_NAME', 'OPSET', 'OUTPUT_NAME', 'OnnxRuntimeNet', 'RawImageNet',
           'compare_with_pytorch', 'create_session', 'export_onnx', 'onnx_input',
           'use_onnxruntime']
