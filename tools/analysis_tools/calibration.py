"""Calibration of a checkpoint on the config's val split: ECE, per-class ECE, NLL, Brier score.

    python tools/analysis_tools/calibration.py CONFIG CHECKPOINT [--fit-temperature] \
        [--work-dir DIR]

Pixel-level, void pixels excluded, 15 equal-width confidence bins (cityseg.evaluation.calibration).
``--fit-temperature`` fits one temperature on the val split by minimising the NLL (Guo et al.,
ICML 2017; on ``--fit-pixels`` random pixels per image), evaluates again with it and writes
``<work_dir>/<checkpoint name>_calibrated.pth``: the checkpoint with ``meta['temperature']``,
which tools/infer.py, tools/test.py and tools/export_onnx.py apply (``load_model_weights``);
``--cfg-options model.temperature=T`` sets one by hand instead. Note that the "after" ECE is
measured on the split the temperature was fitted on.

Writes to ``<work_dir>/<timestamp>/``: ``calibration.json`` (``ECE`` before and after, every
score, per-class ECE, the reliability bins, the temperature) and ``reliability.png``.
"""
from __future__ import annotations

import argparse
import copy
import json
import os.path as osp

import torch
from mmengine.dist import broadcast_object_list
from mmengine.runner import Runner

from cityseg.apis.evaluation import build_evaluation_runner
from cityseg.evaluation import fit_temperature
from cityseg.evaluation.metrics_file import nan_to_none
from cityseg.models import predicting_segmentor
from cityseg.utils import (
    config_section,
    load_config,
    parse_evaluation_args,
    resolve_checkpoint,
    resolve_work_dir,
)
from cityseg.utils.checkpoint_loading import safe_torch_load
from cityseg.utils.cli import run_cli
from cityseg.utils.errors import CitysegError
from cityseg.utils.fileio import atomic_output
from cityseg.utils.launch import end_distributed
from cityseg.visualization.calibration import plot_reliability


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help="checkpoint file ('-' with model.pretrained)")
    parser.add_argument('--fit-temperature', action='store_true',
                        help='fit one temperature on the val split and store it in a copy of '
                        'the checkpoint')
    parser.add_argument('--fit-pixels', type=int, default=50000,
                        help='random non-void pixels per image the temperature is fitted on')
    parser.add_argument('--num-bins', type=int, default=15, help='confidence bins of the ECE')
    parser.add_argument('--work-dir', help='where logs and results go '
                        '(default: work_dirs/<config name>)')
    return parse_evaluation_args(parser)


def configure(cfg, args: argparse.Namespace) -> None:
    """Evaluate the val dataloader with CalibrationMetric; the model returns its logits."""
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    if 'val_dataloader' not in cfg:
        raise CitysegError(f'{args.config} has no val_dataloader: calibration is measured on it')
    cfg.test_dataloader = copy.deepcopy(cfg.val_dataloader)
    cfg.test_evaluator = dict(type='CalibrationMetric', num_bins=args.num_bins,
                              fit_pixels_per_image=args.fit_pixels if args.fit_temperature
                              else 0)
    config_section(cfg.model, 'test_cfg')['return_logits'] = True


def evaluate(runner: Runner) -> tuple[dict, object]:
    """One pass over the split: the scores with their per-class ECE and bins, and the metric."""
    metric = runner.test_loop.evaluator.metrics[0]
    runner.test()
    return dict(metric.details), metric


def save_calibrated_checkpoint(checkpoint: str, temperature: float, work_dir: str) -> str:
    """A copy of ``checkpoint`` with ``meta['temperature']``; the original is left as it was."""
    ckpt = safe_torch_load(checkpoint, map_location='cpu')
    ckpt.setdefault('meta', {})['temperature'] = temperature
    path = osp.join(work_dir, osp.splitext(osp.basename(checkpoint))[0] + '_calibrated.pth')
    with atomic_output(path) as tmp:
        torch.save(ckpt, tmp)
    return path


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    args.checkpoint = resolve_checkpoint(args.checkpoint, cfg, args.config, args.onnx)
    configure(cfg, args)
    runner = build_evaluation_runner(cfg, args)
    model = predicting_segmentor(runner.model)  # whose temperature runner.test() applies
    report = dict(config=args.config, checkpoint=args.checkpoint,
                  split=cfg.test_dataloader.dataset.get('split'), num_bins=args.num_bins)
    if args.fit_temperature:
        model.temperature = 1.0
        before, metric = evaluate(runner)
        fitted = [fit_temperature(*metric.fit_pixels) if runner.rank == 0 else None]
        broadcast_object_list(fitted)  # the metric's pixels are gathered on rank 0 only
        model.temperature = fitted[0]
        metric.fit_pixels_per_image = 0
        after, _ = evaluate(runner)
        report.update(temperature=fitted[0], ECE=dict(before=before['ECE'], after=after['ECE']),
                      before=before, after=after)
        panels = {'T = 1': before, f'T = {fitted[0]:.3f}': after}
    else:
        scores, _ = evaluate(runner)
        report.update(temperature=model.temperature, ECE=dict(before=scores['ECE']),
                      before=scores)
        panels = {f'T = {model.temperature:.3f}': scores}
    if runner.rank == 0:
        if args.fit_temperature and args.checkpoint:
            report['calibrated_checkpoint'] = save_calibrated_checkpoint(
                args.checkpoint, report['temperature'], runner.work_dir)
        path = osp.join(runner.log_dir, 'calibration.json')
        with open(path, 'w') as f:
            json.dump(nan_to_none(report), f, indent=2, allow_nan=False)
        plot_reliability(panels).savefig(osp.join(runner.log_dir, 'reliability.png'), dpi=120)
        ece = report['ECE']
        runner.logger.info(f'ECE {100 * ece["before"]:.2f} %' + (
            f' -> {100 * ece["after"]:.2f} % at T = {report["temperature"]:.4f}'
            if 'after' in ece else '') + f'; written to {path}')
    del runner
    end_distributed()


if __name__ == '__main__':
    run_cli(main)
