"""Corruption benchmark: mIoU of a checkpoint on clean and corrupted images, as Cityscapes-C.

The config's test split is evaluated once clean and once per corruption and severity
(``cityseg/datasets/corruptions.py`` holds the severity table), with an ``ImageCorruption`` step
inserted after the pipeline's loading steps: only the image changes, before normalisation, so
labels and evaluation stay at full resolution and the mIoU is the one tools/test.py reports.
One Runner and one model serve every setting; only the test dataloader is rebuilt.

Writes to ``<work_dir>/<timestamp>/``: ``robustness.json`` (every number, the wall times),
``robustness.txt`` (the table), ``robustness.png`` (mIoU against severity, one panel per
family) and ``corruption_preview.png`` (the first test image under every corruption and
severity).

Usage: ``python tools/analysis_tools/robustness.py CONFIG CHECKPOINT [--corruptions NAME ...]
[--severities 1 2 3 4 5] [--work-dir DIR] [--backend onnxruntime [--onnx FILE]]
[--cfg-options ...] [--launcher ...]``
"""
from __future__ import annotations

import argparse
import copy
import json
import os.path as osp
import time

import cv2
import mmcv
import numpy as np
from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global figure state
from mmengine.config import Config
from mmengine.runner import Runner
from terminaltables import AsciiTable

from cityseg.apis.evaluation import build_evaluation_runner
from cityseg.datasets.corruptions import CORRUPTIONS, FAMILIES, SEVERITIES, ImageCorruption
from cityseg.utils import (
    load_config,
    parse_evaluation_args,
    resolve_checkpoint,
    resolve_work_dir,
)
from cityseg.utils.cli import run_cli
from cityseg.utils.errors import CitysegError
from cityseg.utils.fileio import write_image
from cityseg.utils.launch import end_distributed


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help="checkpoint file, or '-' when the config sets "
                        'model.pretrained or --onnx gives the network')
    parser.add_argument('--corruptions', nargs='+', choices=list(CORRUPTIONS),
                        default=list(CORRUPTIONS), metavar='NAME',
                        help=f'corruptions to run (default: all): {", ".join(CORRUPTIONS)}')
    parser.add_argument('--severities', nargs='+', type=int, choices=SEVERITIES,
                        default=list(SEVERITIES), help='severities to run (default: 1 2 3 4 5)')
    parser.add_argument('--work-dir', help='where logs and results go '
                        '(default: work_dirs/<config name>)')
    args = parse_evaluation_args(parser)
    return args


def corrupted_dataloader(dataloader_cfg: dict, corruption: str, severity: int) -> dict:
    """A copy of ``dataloader_cfg`` whose pipeline corrupts images right after loading.

    The step goes after the leading ``Load*`` steps (image and label), before any resize, so
    the full-resolution image is corrupted, as in Cityscapes-C, and the decoded-sample cache
    still serves both loads.
    """
    cfg = copy.deepcopy(dataloader_cfg)
    pipeline = list(cfg['dataset']['pipeline'])
    loads = 0
    while loads < len(pipeline) and str(pipeline[loads]['type']).startswith('Load'):
        loads += 1
    if loads == 0:
        raise ValueError(f'test_dataloader.dataset.pipeline starts with {pipeline[0]["type"]!r}'
                         f', not a Load* step: there is no loaded image to corrupt')
    pipeline.insert(loads, dict(type='ImageCorruption', corruption=corruption,
                                severity=severity))
    cfg['dataset']['pipeline'] = pipeline
    return cfg


def run_benchmark(runner: Runner, corruptions: list[str],
                  severities: list[int]) -> dict:
    """mIoU (a fraction) clean and per corruption and severity, with each setting's seconds.

    The first setting is ``runner.test()`` (hooks, evaluator and loop built as tools/test.py
    does); the others swap the test loop's dataloader, so the model is built and loaded once.
    """
    dataloader_cfg = runner.cfg.test_dataloader.to_dict()
    start = time.perf_counter()
    clean = runner.test()['mIoU']
    seconds = {'clean': time.perf_counter() - start}
    table: dict[str, dict[int, float]] = {}
    for name in corruptions:
        table[name] = {}
        for severity in severities:
            start = time.perf_counter()
            runner.test_loop.dataloader = runner.build_dataloader(
                corrupted_dataloader(dataloader_cfg, name, severity))
            table[name][severity] = runner.test()['mIoU']
            seconds[f'{name}/{severity}'] = time.perf_counter() - start
            runner.logger.info(f'{name} severity {severity}: mIoU {table[name][severity]:.4f}')
    return summarize(clean, table, seconds)


def summarize(clean: float, table: dict[str, dict[int, float]],
              seconds: dict[str, float]) -> dict:
    """Row means, the mean corruption mIoU (mean of every corrupted setting, which is the mean
    of the row means) and relative robustness (mean corruption mIoU / clean mIoU)."""
    rows = {name: dict(family=CORRUPTIONS[name].family,
                       mIoU={str(s): v for s, v in by_severity.items()},
                       mean=float(np.mean(list(by_severity.values()))))
            for name, by_severity in table.items()}
    families = {family: float(np.mean([r['mean'] for r in rows.values()
                                       if r['family'] == family]))
                for family in FAMILIES if any(r['family'] == family for r in rows.values())}
    mean_corruption = float(np.mean([v for by in table.values() for v in by.values()]))
    return dict(clean_mIoU=clean, mean_corruption_mIoU=mean_corruption,
                relative_robustness=mean_corruption / clean if clean > 0 else None,
                corruptions=rows, family_mean_mIoU=families,
                seconds=dict(per_setting=seconds, total=sum(seconds.values())))


def format_table(report: dict) -> str:
    """Rows: corruptions; columns: severities and the row mean; mIoU in percent."""
    severities = list(next(iter(report['corruptions'].values()))['mIoU'])
    rows = [['corruption', 'family', *severities, 'mean']]
    for name, row in report['corruptions'].items():
        rows.append([name, row['family'], *(f'{100 * row["mIoU"][s]:.2f}' for s in severities),
                     f'{100 * row["mean"]:.2f}'])
    table = AsciiTable(rows, title='mIoU (%) under corruption').table
    return (f'{table}\nclean mIoU: {100 * report["clean_mIoU"]:.2f}\n'
            f'mean corruption mIoU: {100 * report["mean_corruption_mIoU"]:.2f}\n'
            f'relative robustness: {report["relative_robustness"]:.3f}')


def plot(report: dict) -> Figure:
    """mIoU against severity (0 = clean), one panel per family, one line per corruption."""
    families = list(report['family_mean_mIoU'])
    fig = Figure(figsize=(4 * len(families), 3.6))
    axes = np.atleast_1d(fig.subplots(1, len(families), sharey=True))
    for ax, family in zip(axes, families):
        for name, row in report['corruptions'].items():
            if row['family'] == family:
                xs = [0, *map(int, row['mIoU'])]
                ys = [100 * report['clean_mIoU'], *(100 * v for v in row['mIoU'].values())]
                ax.plot(xs, ys, marker='o', label=name)
        ax.set_title(family)
        ax.set_xlabel('severity (0 = clean)')
        ax.set_xticks(range(0, 6))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylabel('mIoU (%)')
    fig.tight_layout()
    return fig


def preview_grid(img_path: str, corruptions: list[str], severities: list[int],
                 tile_width: int = 256) -> np.ndarray:
    """BGR grid: one row per corruption, the clean image then each severity, labelled.

    Tiles come from the same ``ImageCorruption`` the benchmark runs, so they are the pixels the
    model saw (downscaled to ``tile_width``).
    """
    image = mmcv.imread(img_path)
    size = (tile_width, max(1, round(tile_width * image.shape[0] / image.shape[1])))
    rows = []
    for name in corruptions:
        tiles = [_labelled(mmcv.imresize(image, size), f'{name} clean')]
        for severity in severities:
            out = ImageCorruption(name, severity)(dict(img=image.copy(), img_path=img_path))
            tiles.append(_labelled(mmcv.imresize(out['img'], size), f'{name} {severity}'))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def _labelled(tile: np.ndarray, text: str) -> np.ndarray:
    tile = tile.copy()
    tile[:16] = 0  # a black caption bar
    cv2.putText(tile, text, (3, 12), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1,
                cv2.LINE_AA)
    return tile


def write_outputs(runner: Runner, args: argparse.Namespace, report: dict) -> dict[str, str]:
    """robustness.json/.txt/.png and corruption_preview.png in the run's log dir."""
    paths = {kind: osp.join(runner.log_dir, name) for kind, name in [
        ('json', 'robustness.json'), ('table', 'robustness.txt'),
        ('plot', 'robustness.png'), ('preview', 'corruption_preview.png')]}
    report = dict(config=args.config, checkpoint=args.checkpoint,
                  split=runner.cfg.test_dataloader.dataset.get('split'), **report)
    with open(paths['json'], 'w') as f:
        json.dump(report, f, indent=2)
    table = format_table(report)
    with open(paths['table'], 'w') as f:
        f.write(table + '\n')
    runner.logger.info('\n' + table)
    plot(report).savefig(paths['plot'], dpi=120)
    first = runner.test_loop.dataloader.dataset.get_data_info(0)['img_path']
    write_image(preview_grid(first, args.corruptions, args.severities), paths['preview'])
    return paths


def configure(cfg: Config, args: argparse.Namespace) -> None:
    """Work dir; the test split, which has no labels, is refused."""
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    if cfg.test_dataloader.dataset.get('split') == 'test':
        raise CitysegError('the test split has no public labels: choose a labelled split with '
                           '--cfg-options test_dataloader.dataset.split=val')


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    args.checkpoint = resolve_checkpoint(args.checkpoint, cfg, args.config, args.onnx)
    configure(cfg, args)
    runner = build_evaluation_runner(cfg, args)
    report = run_benchmark(runner, args.corruptions, args.severities)
    if runner.rank == 0:
        for kind, path in write_outputs(runner, args, report).items():
            runner.logger.info(f'{kind} written to {path}')
    del runner  # its DDP wrapper holds the process group that end_distributed ends
    end_distributed()


if __name__ == '__main__':
    run_cli(main)
