"""Evaluate a checkpoint: parse, build the Runner, load the weights strictly, test, save metrics.

Evaluation happens at full label resolution in the config's inference mode (whole or slide),
with any batch size. ``--out DIR`` writes test-server PNGs (Cityscapes label ids, one per image,
named after it) for any split; ``--split test`` (no public labels) only writes files.
``<work_dir>/<timestamp>/metrics.json`` holds the summary, the per-class scores and the
confusion matrix (rows = ground truth) that ``tools/analysis_tools/confusion_matrix.py`` plots.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.model import is_model_wrapper
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader

from cityseg.utils import apply_tta, load_config, resolve_work_dir
from cityseg.utils.launch import apply_launcher, end_distributed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a cityseg checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and metrics.json go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--split', choices=['train', 'val', 'test'],
                        help="the test dataloader's split (default: the config's); 'test' "
                        'has no labels, so it needs --out and/or --show-dir')
    parser.add_argument('--out', help='write test-server PNGs (Cityscapes label ids) here')
    parser.add_argument('--show-dir', help='write colourised predictions and overlays here')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: flips and scales from the config's tta_cfg")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. test_dataloader.batch_size=4')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher for distributed testing')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def configure(cfg: Config, args: argparse.Namespace) -> None:
    """Apply the command line to the config: split, TTA, writers and evaluator."""
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    # The weights are loaded by load_weights: the Runner's own loading only warns about
    # parameters whose shapes differ, and would evaluate a half-initialised model.
    cfg.load_from, cfg.resume = None, False
    if args.split:
        cfg.test_dataloader.dataset.split = args.split
    if args.tta:
        apply_tta(cfg)
    if args.out or args.show_dir:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                            dict(type='PredictionWriterHook', out_dir=args.out,
                                 show_dir=args.show_dir)]
    if cfg.test_dataloader.dataset.get('split') == 'test':
        if not (args.out or args.show_dir):
            raise SystemExit('the test split has no public labels, so there is nothing to '
                             'evaluate: pass --out DIR (test-server files) and/or --show-dir DIR')
        cfg.test_evaluator = dict(type='IoUMetric', format_only=True)
    elif isinstance(cfg.get('test_evaluator'), dict) and \
            cfg.test_evaluator.get('type') == 'IoUMetric':
        # iIoU as the official evaluator reports it, wherever instanceIds files exist.
        cfg.test_evaluator.setdefault('instance_iou', 'auto')


def load_weights(runner: Runner, checkpoint: str, config: str) -> None:
    """Load ``checkpoint`` into the runner's model; any mismatch is an error that says why.

    A checkpoint trained on another number of classes is named as such (from the dataset
    metainfo mmengine stores in it); any other missing, unexpected or reshaped parameter fails
    torch's strict loading, on every rank.
    """
    ckpt = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    model = runner.model.module if is_model_wrapper(runner.model) else runner.model
    classes = ckpt.get('meta', {}).get('dataset_meta', {}).get('classes')
    num_classes = getattr(model, 'num_classes', None)
    if classes is not None and num_classes is not None and len(classes) != num_classes:
        raise ValueError(f'{checkpoint} was trained on {len(classes)} classes but {config} '
                         f'builds a model with num_classes={num_classes}: use the config it '
                         f'was trained with, or set model.num_classes={len(classes)}')
    try:
        model.load_state_dict(ckpt.get('state_dict', ckpt), strict=True)
    except RuntimeError as err:
        raise RuntimeError(f'{checkpoint} does not fit the model built from {config}:\n{err}') \
            from err
    runner.logger.info(f'loaded {checkpoint}')


def write_metrics(runner: Runner, args: argparse.Namespace, metrics: dict) -> str:
    """``metrics.json`` in the run's log dir: the summary metrics at the top level (``mIoU``,
    ``aAcc``, ...), ``per_class`` scores and the ``confusion_matrix``.

    Undefined scores (nan: a class absent from ground truth and prediction) are written as
    ``null``, so that the file is strict JSON.
    """
    report = dict(config=args.config, checkpoint=args.checkpoint,
                  split=runner.cfg.test_dataloader.dataset.get('split'), tta=args.tta,
                  **metrics)
    for metric in runner.test_loop.evaluator.metrics:
        if getattr(metric, 'last_confusion', None) is not None:
            report['per_class'] = metric.last_per_class
            report['confusion_matrix'] = dict(classes=list(metric.last_per_class),
                                              rows='ground truth', columns='prediction',
                                              counts=metric.last_confusion.tolist())
    path = osp.join(runner.log_dir, 'metrics.json')
    with open(path, 'w') as f:
        json.dump(_nan_to_none(report), f, indent=2, allow_nan=False)
    return path


def _nan_to_none(obj: object) -> object:
    if isinstance(obj, dict):
        return {k: _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_nan_to_none(v) for v in obj]
    return None if isinstance(obj, float) and math.isnan(obj) else obj


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    configure(cfg, args)
    apply_launcher(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    load_weights(runner, args.checkpoint, args.config)
    metrics = runner.test()
    if runner.rank == 0 and metrics:
        runner.logger.info(f'metrics written to {write_metrics(runner, args, metrics)}')
    del runner  # its DDP wrapper holds the process group that end_distributed ends
    end_distributed()


if __name__ == '__main__':
    main()
