"""Anomaly segmentation: how well each uncertainty score of a checkpoint finds unknown objects.

    python tools/analysis_tools/anomaly.py CONFIG CHECKPOINT [--scores msp maxlogit ...] \
        [--sml-split train|val | --sml-stats FILE] [--work-dir DIR]

The config's test dataloader must be an anomaly dataset (cityseg.datasets.anomaly: synthetic,
Fishyscapes Lost & Found, SegmentMeIfYouCan RoadAnomaly21 / RoadObstacle21), whose masks mark
0 in-distribution, 1 anomaly, 255 void. Every score is evaluated in one pass: pixel AUPRC,
AUROC and FPR95 and, for the SegmentMeIfYouCan tracks (and the synthetic set), component sIoU,
PPV and mean F1 at the score's best-F1 threshold. ``sml`` needs the max logit's class
statistics: read from ``--sml-stats``, else computed on ``--sml-split`` of the config (its
train or val dataloader, with the test pipeline) and written as ``sml_stats.json``.

Writes to ``<work_dir>/<timestamp>/``: ``anomaly.json`` (every number per score, the PR
curves) and ``pr_curves.png``.
"""
from __future__ import annotations

import argparse
import copy
import json
import os.path as osp

import torch
from matplotlib.figure import Figure
from mmengine.dist import all_reduce
from mmengine.runner import Runner
from terminaltables import AsciiTable

from cityseg.apis.evaluation import build_evaluation_runner
from cityseg.evaluation.metrics_file import nan_to_none
from cityseg.models import predicting_segmentor
from cityseg.models.uncertainty import SCORES, SMLStats, max_logit_sums
from cityseg.registry import DATASETS
from cityseg.utils import (
    config_section,
    load_config,
    parse_evaluation_args,
    resolve_checkpoint,
    resolve_work_dir,
)
from cityseg.utils.cli import run_cli
from cityseg.utils.errors import CitysegError
from cityseg.utils.launch import end_distributed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help="checkpoint file ('-' with model.pretrained)")
    parser.add_argument('--scores', nargs='+', choices=SCORES, default=list(SCORES),
                        help='anomaly scores to evaluate (default: all)')
    parser.add_argument('--sml-split', choices=['train', 'val'], default='train',
                        help="the config's dataloader whose max logits give the sml class "
                        'statistics (default: train)')
    parser.add_argument('--sml-stats', help='a sml_stats.json written by an earlier run')
    parser.add_argument('--work-dir', help='where logs and results go '
                        '(default: work_dirs/<config name>)')
    return parse_evaluation_args(parser)


def anomaly_dataset_class(cfg, config: str) -> type:
    """The test dataset's class, which must have anomaly masks."""
    name = cfg.test_dataloader.dataset.type
    cls = DATASETS.get(name)
    if cls is None or not getattr(cls, 'anomaly_masks', False):
        raise CitysegError(
            f'{config}: test_dataloader.dataset.type={name!r} is not a dataset with anomaly '
            'masks; use SyntheticAnomalyDataset, FishyscapesLAFDataset, RoadAnomaly21Dataset '
            'or RoadObstacle21Dataset (e.g. configs/anomaly_quickstart_synthetic.py)')
    return cls


def configure(cfg, args: argparse.Namespace) -> None:
    """AnomalyMetric with the dataset's component track; the model returns the score maps."""
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    dataset_cls = anomaly_dataset_class(cfg, args.config)
    cfg.test_evaluator = dict(type='AnomalyMetric', components=dataset_cls.components)
    config_section(cfg.model, 'test_cfg')['scores'] = list(args.scores)


def sml_statistics(runner: Runner, model, split: str) -> SMLStats:
    """Per-class mean and std of the max logit over ``split``'s pixels, by predicted class.

    The model is put in eval mode first: the Runner builds it in train mode, where batch norm
    would use (and update) batch statistics and dropout would be active.
    """
    cfg = copy.deepcopy(runner.cfg[f'{split}_dataloader'])
    cfg['dataset']['pipeline'] = copy.deepcopy(runner.cfg.test_dataloader.dataset.pipeline)
    cfg['sampler'] = dict(type='DefaultSampler', shuffle=False)
    loader = runner.build_dataloader(cfg)
    model.eval()
    saved = dict(model.test_cfg)
    model.test_cfg.update(scores=(), return_logits=True)
    sums = None
    try:
        for data in loader:
            for sample in model.test_step(data):
                found = max_logit_sums(sample.seg_logits.data, model.num_classes)
                sums = found if sums is None else sums + found
    finally:
        model.test_cfg.update(saved)
    all_reduce(sums)  # a no-op outside distributed runs
    return SMLStats.from_sums(*sums.cpu())


def plot_pr_curves(details: dict) -> Figure:
    """Precision against recall, one line per score."""
    fig = Figure(figsize=(5, 4))
    ax = fig.subplots()
    for name, d in details.items():
        ax.plot(d['curve']['recall'], d['curve']['precision'],
                label=f'{name} (AUPRC {100 * d["AUPRC"]:.1f})')
    ax.set_xlabel('recall')
    ax.set_ylabel('precision')
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def format_table(details: dict) -> str:
    keys = [k for k in ('AUPRC', 'AUROC', 'FPR95', 'sIoU', 'PPV', 'mean_F1')
            if k in next(iter(details.values()))]
    rows = [['score', *keys]] + [[name, *(f'{100 * d[k]:.2f}' for k in keys)]
                                 for name, d in details.items()]
    return AsciiTable(rows, title='anomaly segmentation (%)').table


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    configure(cfg, args)  # a dataset without anomaly masks is refused before anything loads
    args.checkpoint = resolve_checkpoint(args.checkpoint, cfg, args.config, args.onnx)
    runner = build_evaluation_runner(cfg, args)
    model = predicting_segmentor(runner.model)  # what test_step runs on, and its settings
    report = dict(config=args.config, checkpoint=args.checkpoint,
                  dataset=cfg.test_dataloader.dataset.type, temperature=model.temperature)
    if 'sml' in args.scores:
        if args.sml_stats:
            model.sml_stats = SMLStats.from_file(args.sml_stats, model.num_classes)
            report['sml_stats'] = args.sml_stats
        else:
            with torch.no_grad():
                model.sml_stats = sml_statistics(runner, model, args.sml_split)
            report['sml_stats'] = dict(split=args.sml_split, **model.sml_stats.to_dict())
    runner.test()
    if runner.rank == 0:
        details = runner.test_loop.evaluator.metrics[0].details
        report['scores'] = details
        path = osp.join(runner.log_dir, 'anomaly.json')
        with open(path, 'w') as f:
            json.dump(nan_to_none(report), f, indent=2, allow_nan=False)
        if isinstance(report.get('sml_stats'), dict):
            with open(osp.join(runner.log_dir, 'sml_stats.json'), 'w') as f:
                json.dump(model.sml_stats.to_dict(), f, indent=2)
        plot_pr_curves(details).savefig(osp.join(runner.log_dir, 'pr_curves.png'), dpi=120)
        runner.logger.info('\n' + format_table(details) + f'\nwritten to {path}')
    del runner
    end_distributed()


if __name__ == '__main__':
    run_cli(main)
