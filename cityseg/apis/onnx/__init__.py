"""ONNX export and the onnxruntime backend.

Importing this package needs neither ``onnx`` nor ``onnxruntime`` (cityseg's optional 'onnx'
extra): each is imported by the function that uses it, which names the extra when it is
missing, so the runtime-only install keeps every tool and the PyTorch backend working.
Modules: graph (input/output names, RawImageNet), export (export_onnx), runtime
(create_session, OnnxRuntimeNet, use_onnxruntime), compare (compare_with_pytorch), backend
(tools/test.py's onnxruntime backend: use_onnxruntime_in_runner), quantize (static int8:
CalibrationImages, quantize_int8, export_int8).
"""
from .backend import export_for_evaluation, use_onnxruntime_in_runner
from .compare import compare_with_pytorch, onnx_input
from .export import OPSET, export_onnx
from .graph import INPUT_NAME, OUTPUT_NAME, RawImageNet
from .quantize import CalibrationImages, calibration_dataset_cfg, export_int8, quantize_int8
from .runtime import OnnxRuntimeNet, create_session, use_onnxruntime

__all__ = ['INPUT_NAME', 'OPSET', 'OUTPUT_NAME', 'CalibrationImages', 'OnnxRuntimeNet',
           'RawImageNet', 'calibration_dataset_cfg', 'compare_with_pytorch', 'create_session',
           'export_for_evaluation', 'export_int8', 'export_onnx', 'onnx_input', 'quantize_int8',
           'use_onnxruntime', 'use_onnxruntime_in_runner']
