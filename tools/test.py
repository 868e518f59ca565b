"""Evaluate a checkpoint: parse, merge the command line into the config, build, load, test.

Evaluation happens at full label resolution in the config's inference mode (whole or slide),
with any batch size. ``--out DIR`` writes test-server PNGs (Cityscapes label ids, one per image,
named after it) for any split; ``--split test`` (no public labels) only writes files.
IoUMetric writes ``<work_dir>/<timestamp>/metrics.json``: the summary, the per-class and
per-image scores and the confusion matrix (rows = ground truth) that
``tools/analysis_tools/confusion_matrix.py`` plots. ``--backend onnxruntime`` runs the network
with onnxruntime (the checkpoint exported into ``<work_dir>/onnx/``, or ``--onnx FILE``, e.g.
an int8 model from tools/export_onnx.py --quantize int8); everything around it is unchanged.
``--report DIR`` also writes an HTML page of it, ``DIR/index.html`` (:mod:`cityseg.report`),
with the worst images drawn as they pass; ``--calibration`` adds CalibrationMetric (ECE, NLL,
Brier at the model's temperature, docs/uncertainty.md) to the evaluation and a calibration
section (reliability diagram) to the page.
"""
from __future__ import annotations

import argparse
import os.path as osp

from mmengine.config import Config

from cityseg.apis.evaluation import build_evaluation_runner
from cityseg.report import read_report_inputs, report_test_run
from cityseg.report.test_run import REPORT_KIND, WORST_DIR
from cityseg.utils import (
    apply_tta,
    config_section,
    load_config,
    parse_evaluation_args,
    resolve_checkpoint,
    resolve_work_dir,
)
from cityseg.utils.checkpoint_loading import read_checkpoint_once
from cityseg.utils.cli import run_cli
from cityseg.utils.errors import CitysegError
from cityseg.utils.launch import end_distributed
from cityseg.utils.output_dir import claim_output_dir, record_output_dir
from cityseg.utils.segmentor_cfg import segmentor_cfg
from cityseg.utils.work_dir import is_main_launch_process

OUT_KIND = 'test-server predictions (tools/test.py --out)'
SHOW_KIND = 'prediction pictures (tools/test.py --show-dir)'


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a cityseg checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', nargs='?',
                        help="checkpoint file; optional, or '-', when the config sets "
                        'model.pretrained or --onnx gives the network')
    parser.add_argument('--work-dir', help='where logs and metrics.json go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--split', choices=['train', 'val', 'test'],
                        help="the test dataloader's split (default: the config's); 'test' "
                        'has no labels, so it needs --out and/or --show-dir')
    parser.add_argument('--out', help='write test-server PNGs (Cityscapes label ids) here')
    parser.add_argument('--show-dir', help='write colourised predictions and overlays here')
    parser.add_argument('--report', help='write an HTML evaluation report (index.html) here')
    parser.add_argument('--compare', help='with --report: the metrics.json or report folder of '
                        'an earlier evaluation, to show the differences from')
    parser.add_argument('--report-worst', type=int, default=8,
                        help='with --report: how many worst images to show (default 8)')
    parser.add_argument('--calibration', action='store_true',
                        help='also measure calibration (ECE, NLL, Brier; with --report: a '
                        'reliability diagram on the page)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: flips and scales from the config's tta_cfg")
    args = parse_evaluation_args(parser)
    if args.compare and not args.report:
        parser.error('--compare needs --report')
    return args


def configure(cfg: Config, args: argparse.Namespace, checkpoint_sha256: str | None) -> None:
    """Apply the command line to the config: split, TTA, writers and evaluator
    (``metrics.json`` records ``checkpoint_sha256``, by which tools/publish_model.py
    recognises the file evaluated; a checkpoint replaced at the same path is not it)."""
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    if args.split:
        cfg.test_dataloader.dataset.split = args.split
    if args.tta:
        apply_tta(cfg)
    hooks = [dict(type='MetricOutputDirHook')]  # metrics.json into the run's log dir
    if args.out or args.show_dir:
        hooks.append(dict(type='PredictionWriterHook', out_dir=args.out, show_dir=args.show_dir))
    if args.report:  # keeps the worst predictions as the metric scores them: no second pass
        hooks.append(dict(type='WorstImagesHook', num=args.report_worst,
                          out_dir=osp.join(args.report, WORST_DIR)))
    cfg.custom_hooks = [*cfg.get('custom_hooks', []), *hooks]
    split = cfg.test_dataloader.dataset.get('split')
    if split == 'test':
        if args.report:
            raise CitysegError('--report needs labels to score, which the test split lacks')
        if not (args.out or args.show_dir):
            raise CitysegError('the test split has no public labels, so there is nothing to '
                               'evaluate: pass --out DIR (test-server files) and/or --show-dir DIR')
        cfg.test_evaluator = dict(type='IoUMetric', format_only=True)
    elif isinstance(cfg.get('test_evaluator'), dict) and \
            cfg.test_evaluator.get('type') == 'IoUMetric':
        # iIoU as the official evaluator reports it, wherever instanceIds files exist.
        cfg.test_evaluator.setdefault('instance_iou', 'auto')
        cfg.test_evaluator.update(
            output_file='metrics.json',
            output_meta=dict(config=args.config, checkpoint=args.checkpoint,
                             checkpoint_sha256=checkpoint_sha256,
                             pretrained=segmentor_cfg(cfg.model)[1].get('pretrained'),
                             split=split,
                             tta=args.tta, backend=args.backend, onnx=args.onnx))
        if args.calibration:
            cfg.test_evaluator = [cfg.test_evaluator, dict(type='CalibrationMetric')]
            config_section(cfg.model, 'test_cfg')['return_logits'] = True


def claim_output_folders(args: argparse.Namespace) -> dict[str, str]:
    """Claim the ``--out``, ``--show-dir`` and ``--report`` folders given, before the
    evaluation (a refusal costs seconds): ``{folder: kind}``. A folder holding files cityseg
    did not write is refused (:mod:`cityseg.utils.output_dir`), an earlier output emptied."""
    # the report first: --out or --show-dir may be a folder inside it
    wanted = {args.report: REPORT_KIND, args.show_dir: SHOW_KIND, args.out: OUT_KIND}
    folders = {path: kind for path, kind in wanted.items() if path}
    for path, kind in folders.items():
        claim_output_dir(path, kind)
    return folders


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    args.checkpoint = resolve_checkpoint(args.checkpoint, cfg, args.config, args.onnx)
    # Read once, now: the weights evaluated are those hashed, and a training in the same work
    # dir may rotate the file away (best_*.pth) while this test runs.
    snapshot = (read_checkpoint_once(args.checkpoint)
                if args.checkpoint and osp.isfile(args.checkpoint) else None)
    configure(cfg, args, snapshot[1] if snapshot else None)
    report_inputs = read_report_inputs(snapshot, args.compare) if args.report else None
    folders = claim_output_folders(args) if is_main_launch_process() else {}
    runner = build_evaluation_runner(cfg, args, snapshot[0] if snapshot else None)
    try:
        runner.test()  # IoUMetric writes metrics.json and logs where
    finally:  # what the writers wrote is cityseg's: a rerun may replace it
        for path, kind in folders.items():
            if kind != REPORT_KIND:  # the report's folder is listed once its page is written
                record_output_dir(path, kind)
    if args.report:
        page = report_test_run(runner, args.report, report_inputs, args.report_worst)
        if page:
            runner.logger.info(f'report written to {page}')
    del runner  # its DDP wrapper holds the process group that end_distributed ends
    end_distributed()


if __name__ == '__main__':
    run_cli(main)
