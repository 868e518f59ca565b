"""Evaluate a checkpoint: parse, merge overrides, build the Runner, test, save the metrics."""
from __future__ import annotations

import argparse
import json
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from cityseg.utils import register_all_modules
from cityseg.utils.launch import apply_launcher


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Test (and evaluate) a cityseg checkpoint')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--work-dir', help='where logs and metrics.json go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--out', help='write test-server PNGs (Cityscapes label ids) here')
    parser.add_argument('--show-dir', help='write colourised predictions and overlays here')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: flips and scales from the config's tta_cfg")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. test_dataloader.dataset.split=test')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher for distributed testing')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        'work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from = args.checkpoint
    cfg.resume = False
    if args.tta:
        cfg.model.setdefault('test_cfg', {}).update(cfg.get('tta_cfg', dict(flip=True)))
    if args.out or args.show_dir:
        cfg.custom_hooks = [*cfg.get('custom_hooks', []),
                            dict(type='PredictionWriterHook', out_dir=args.out,
                                 show_dir=args.show_dir)]
    if cfg.test_dataloader.dataset.get('split') == 'test' or not cfg.get('test_evaluator'):
        cfg.test_evaluator = dict(type='IoUMetric', format_only=True)
    apply_launcher(cfg, args.launcher)
    runner = Runner.from_cfg(cfg)
    metrics = runner.test()
    if runner.rank == 0 and metrics:
        path = osp.join(runner.log_dir, 'metrics.json')
        with open(path, 'w') as f:
            json.dump(dict(config=args.config, checkpoint=args.checkpoint, **metrics), f,
                      indent=2)
        runner.logger.info(f'metrics written to {path}')


if __name__ == '__main__':
    main()
