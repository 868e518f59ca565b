"""onnxruntime's MinMax calibration in the memory of one inference.

Imported by :func:`cityseg.apis.onnx.quantize_int8` only after onnxruntime was found: this module
imports it at the top.

The MinMax calibrator adds a ReduceMin and a ReduceMax after every tensor of the graph and runs
the result. In onnxruntime's default execution order those reductions ran late, so every
activation stayed alive until its reduction: one 1024x2048 image of the reference
DeepLabV3+/EfficientNet-B3 took 9.6 GiB, 19.8 GiB from the second image on (the arena then
doubled), and quantizing at full resolution was killed for memory on a 24 GiB machine.
Priority-based order runs each reduction as soon as its tensor exists: 1.3 GiB, as much as
plain inference.
"""
from __future__ import annotations

import onnxruntime as ort
from onnxruntime.quantization.calibrate import (
    CalibrationDataReader,
    MinMaxCalibrater,
    save_tensors_data,
)


class LowMemoryMinMaxCalibrater(MinMaxCalibrater):
    """onnxruntime's MinMaxCalibrater whose session runs in priority-based execution order."""

    def create_inference_session(self) -> None:
        options = ort.SessionOptions()
        # As the parent: the graph as written, ranges of the tensors quantization will see.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        options.execution_order = ort.ExecutionOrder.PRIORITY_BASED
        self.infer_session = ort.InferenceSession(self.augmented_model_path, options,
                                                  providers=self.execution_providers)


def measure_activation_ranges(model_path: str, reader: CalibrationDataReader, cache_path: str,
                              augmented_path: str) -> None:
    """Min/max of every tensor of ``model_path`` over the images of ``reader`` (anything with
    ``get_next()``, as :class:`~cityseg.apis.onnx.CalibrationImages`), written where
    ``quantize_static(calibration_cache_path=...)`` reads them."""
    calibrator = LowMemoryMinMaxCalibrater(model_path, augmented_model_path=augmented_path)
    calibrator.augment_graph()
    calibrator.execution_providers = ['CPUExecutionProvider']
    calibrator.create_inference_session()
    calibrator.collect_data(reader)
    save_tensors_data(calibrator.compute_data(), cache_path)
