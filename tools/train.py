"""Train a segmentor from a config: parse, merge overrides, build the Runner, train."""
from __future__ import annotations

import argparse
import os

from mmengine.config import DictAction
from mmengine.runner import Runner, find_latest_checkpoint

from cityseg.utils import load_config, resolve_work_dir
from cityseg.utils.checkpoint_loading import check_resume_classes
from cityseg.utils.compile import compile_network, pop_compile_options
from cityseg.utils.dataset_roots import check_dataset_roots
from cityseg.utils.launch import apply_launcher, end_distributed
from cityseg.utils.work_dir import WorkDirBusyError, claim_work_dir, is_main_launch_process


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Train a cityseg segmentor')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--work-dir', help='where logs and checkpoints go '
                        '(default: work_dirs/<config name>)')
    parser.add_argument('--resume', nargs='?', type=str, const='auto',
                        help='resume from CKPT, or from the latest checkpoint in the work dir '
                        'when no path is given')
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
    cfg = load_config(args.config, args.cfg_options)
    try:  # before the Runner builds the model, which may download encoder weights first
        check_dataset_roots(cfg)
    except FileNotFoundError as err:
        raise SystemExit(f'error: {err}') from None
    cfg.work_dir = resolve_work_dir(cfg, args.config, args.work_dir)
    if args.auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume:
        cfg.resume, cfg.load_from = True, args.resume
    resume_from = (cfg.load_from or find_latest_checkpoint(cfg.work_dir)) if cfg.get('resume') \
        else None
    if resume_from and os.path.isfile(resume_from):
        try:  # before the Runner: a mismatch would die late on a tensor shape
            check_resume_classes(resume_from, cfg.model.get('num_classes'), args.config)
        except ValueError as err:
            raise SystemExit(f'error: {err}') from None
    try:  # rank 0 holds the work dir for the run; the OS frees it if the process dies
        lock = claim_work_dir(cfg.work_dir) if is_main_launch_process() else None
    except WorkDirBusyError as err:
        raise SystemExit(f'error: {err}') from None
    try:
        apply_launcher(cfg, args.launcher)
        # cfg.compile (e.g. --cfg-options compile=True) compiles the network, not train_step.
        compile_options = pop_compile_options(cfg)
        runner = Runner.from_cfg(cfg)
        if compile_options is not None:
            compile_network(runner.model, compile_options)
        runner.train()
        del runner  # its DDP wrapper holds the process group that end_distributed ends
        end_distributed()
    finally:
        if lock is not None:
            lock.release()


if __name__ == '__main__':
    main()
