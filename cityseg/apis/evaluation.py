"""The Runner of an evaluating tool (tools/test.py, robustness.py), holding the weights to
evaluate: the checkpoint loaded strictly, else ``model.pretrained``'s, or an ONNX file's network
run by onnxruntime."""
from __future__ import annotations

import argparse

from mmengine.config import Config
from mmengine.runner import Runner

from cityseg.engine.runtime import EvaluationRunner, build_runner
from cityseg.utils import load_model_weights
from cityseg.utils.segmentor_cfg import drop_encoder_weights

from .onnx import use_onnxruntime_in_runner


def build_evaluation_runner(cfg: Config, args: argparse.Namespace,
                            checkpoint_state: dict | None = None) -> Runner:
    """Build the Runner of ``cfg`` for the options of
    :func:`~cityseg.utils.parse_evaluation_args` and load what it evaluates.

    ``args.checkpoint`` is already resolved (:func:`~cityseg.utils.resolve_checkpoint`). The
    Runner's own loading is switched off: it only warns about parameters whose shapes differ,
    and would evaluate a half-initialised model; :func:`~cityseg.utils.load_model_weights`
    refuses that. With a checkpoint or an ONNX file, the segmentor's ``encoder_weights``
    (``model.student``'s for a self-training model) is set to None
    (:func:`~cityseg.utils.segmentor_cfg.drop_encoder_weights`, as
    :func:`~cityseg.apis.init_model` does): the ImageNet weights they replace are not
    downloaded, so an offline machine evaluates a checkpoint of the reference config.
    ``checkpoint_state``: ``args.checkpoint``'s contents, already read
    (:func:`~cityseg.utils.checkpoint_loading.read_checkpoint_once`), so that the file is not
    read again.
    """
    cfg.load_from, cfg.resume = None, False
    if args.checkpoint or args.onnx:  # no download offline
        drop_encoder_weights(cfg)
    runner = build_runner(cfg, args.config, launcher=args.launcher,
                          runner_class=EvaluationRunner)  # the config copy in its log dir
    if args.checkpoint and not args.onnx:  # else model.pretrained's or the ONNX file's weights
        load_model_weights(runner.model, args.checkpoint, args.config, checkpoint_state)
        runner.logger.info(f'loaded {args.checkpoint}')
    if args.backend == 'onnxruntime':
        use_onnxruntime_in_runner(runner, args.onnx, args.checkpoint)
    return runner
