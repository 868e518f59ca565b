"""Distributed launch settings shared by tools/train.py and tools/test.py."""
from __future__ import annotations

import gc
import inspect

import torch
import torch.distributed as dist
from mmengine.config import Config
from torch.nn.parallel import DistributedDataParallel

from .config import config_section


def apply_launcher(cfg: Config, launcher: str) -> None:
    """Set ``cfg.launcher`` and make distributed jobs work on CPU-only machines too.

    NCCL needs CUDA; on CPU-only machines (CI, laptops) torchrun jobs use gloo, and two
    CUDA assumptions of mmengine 0.10.7 are worked around: its ``init_dist`` calls
    ``torch.cuda.set_device`` for every torchrun job (so the gloo group is started here, and
    the Runner skips ``init_dist`` when a group exists), and its default DDP wrapper passes
    ``device_ids=[LOCAL_RANK]``, which DDP rejects for a CPU module.
    """
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    config_section(config_section(cfg, 'env_cfg'), 'dist_cfg')['backend'] = 'gloo'
    if cfg.get('model_wrapper_cfg') is None:
        cfg.model_wrapper_cfg = dict(
            type='MMDistributedDataParallel', device_ids=None, **_no_forward_buffer_sync(),
            find_unused_parameters=cfg.get('find_unused_parameters', False))
    if launcher == 'pytorch' and not dist.is_initialized():
        dist.init_process_group('gloo')  # rank, world size, address: torchrun's environment


def _no_forward_buffer_sync() -> dict:
    """DDP's argument for not broadcasting buffers at every forward (mmengine's default DDP
    setting): ``forward_sync_buffers=False`` where torch has it, which still syncs them once
    at the start; torch >= 2.14 deprecates ``broadcast_buffers`` with a FutureWarning on every
    distributed run."""
    params = inspect.signature(DistributedDataParallel.__init__).parameters
    key = 'forward_sync_buffers' if 'forward_sync_buffers' in params else 'broadcast_buffers'
    return {key: False}


def end_distributed() -> None:
    """After a job's work, once its Runner is released: wait for every rank, then end the
    process group.

    Left to interpreter teardown (a finished Runner's DDP wrapper still holds the group), the
    group's threads can abort a rank at exit ("terminate called without an active
    exception") after all the work is done, and torchrun then reports the whole job as failed.
    The Runner's reference cycles are collected first, so that the group really goes now.
    """
    if dist.is_initialized():
        gc.collect()
        dist.barrier()
        dist.destroy_process_group()
