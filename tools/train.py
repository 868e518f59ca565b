"""Train a segmentor from a config: parse, merge the command line into the config, then
:func:`cityseg.engine.runtime.train` (checks, work-dir lock, Runner, training)."""
from __future__ import annotations

import argparse
import os

from mmengine.config import DictAction

from cityseg.engine.runtime import train
from cityseg.utils import load_config, resolve_work_dir
from cityseg.utils.cli import run_cli


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a cityseg segmentor')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir '
                        'when no path is given')
    parser.add_argument('--allow-existing-work-dir', action='store_true',
                        help='start a new training even though the work dir holds another '
                        "run's checkpoints (they may be overwritten)")
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision: fp16 + loss scaling on CUDA, bf16 on CPU')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale the learning rate by total batch size / '
                        'auto_scale_lr.base_batch_size (linear scaling rule)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.arch=Unet '
                        'optim_wrapper.optimizer.lr=1e-3 train_dataloader.batch_size=2')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher for distributed training')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main() -> None:
    args = parse_args()
    cfg_options = dict(args.cfg_options or {})
    if args.amp:  # an override like any other: the config checks judge optim_wrapper by its type
        cfg_options['optim_wrapper.type'] = 'AmpOptimWrapper'
    cfg = load_config(args.config, cfg_options)
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.allow_existing_work_dir:
        cfg.allow_existing_work_dir = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    train(cfg, args.config, launcher=args.launcher)


if __name__ == '__main__':
    run_cli(main)
