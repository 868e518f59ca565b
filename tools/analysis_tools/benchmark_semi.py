"""Cost of a self-training step (semi-supervised or UDA config) against a supervised step of the
same student on the same labelled batch (the labelled share of the self-training batch, e.g. 4
of 4 labelled + 4 unlabelled): seconds per iteration and peak memory, side by side. The ratio
is what switching a supervised recipe to self-training costs per iteration.

Each step kind runs in a fresh subprocess, so that peak memory (CUDA: max allocated; CPU: peak
resident set size) is its own; the kinds alternate ``--repeat`` times and the best time of each
is kept, so that load from other processes hits both alike. Batches come from the config's own
train dataloader (the supervised one from its labelled branch), held in memory.

    python tools/analysis_tools/benchmark_semi.py \
        configs/semi/fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py --iters 5
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.optim import OptimWrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from cityseg.datasets.samplers import samples_per_source
from cityseg.registry import MODELS, OPTIMIZERS
from cityseg.utils import load_config
from cityseg.utils.cli import run_cli

KINDS = ('supervised', 'self-training')


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a configs/semi or configs/uda config')
    parser.add_argument('--iters', type=int, default=5, help='timed steps per run')
    parser.add_argument('--warmup', type=int, default=2, help='untimed steps first')
    parser.add_argument('--repeat', type=int, default=2, help='runs per step kind')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--kind', choices=KINDS, help=argparse.SUPPRESS)  # one child run
    parser.add_argument('--cfg-options', nargs='+', default=[],
                        help='override config keys, e.g. train_dataloader.batch_size=4')
    args = parser.parse_args(argv)
    options = argparse.ArgumentParser()
    options.add_argument('--o', nargs='+', action=DictAction, default={})
    args.options = options.parse_args(['--o', *args.cfg_options]).o if args.cfg_options else {}
    return args


def labelled_batch_size(cfg) -> int:
    """How many labelled samples each self-training batch holds (MultiSourceSampler's share)."""
    sampler = cfg.train_dataloader.sampler
    return samples_per_source(sampler.batch_size, sampler.source_ratio)[0]


def _batches(cfg, count: int) -> tuple[list[dict], list[dict]]:
    """``count`` self-training batches from the train loader, and as many supervised batches
    of its labelled share from the labelled samples' ``sup`` branch."""
    loader = Runner.build_dataloader(cfg.train_dataloader, seed=0)
    branch = cfg.model.get('semi_cfg', {}).get('sup_branch', 'sup')
    labelled = loader.dataset.datasets[0]
    semi, sup, it, k = [], [], iter(loader), 0
    per_batch = labelled_batch_size(cfg)
    for _ in range(count):
        semi.append(next(it))
        rows = []
        for _ in range(per_batch):
            sample = labelled[k % len(labelled)]
            k += 1
            rows.append(dict(inputs=sample['inputs'][branch],
                             data_samples=sample['data_samples'][branch]))
        sup.append(pseudo_collate(rows))
    return semi, sup


def run_kind(args: argparse.Namespace) -> dict:
    """Time ``args.kind``'s train steps in this process; its peak memory."""
    cfg = load_config(args.config, args.options)
    init_default_scope(cfg.get('default_scope', 'cityseg'))
    torch.manual_seed(0)
    semi_batches, sup_batches = _batches(cfg, args.warmup + args.iters)
    model_cfg = cfg.model if args.kind == 'self-training' else cfg.model.student
    model = MODELS.build(model_cfg).to(args.device).train()
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = OPTIMIZERS.build({**cfg.optim_wrapper.optimizer, 'params': params})
    wrapper = OptimWrapper(optimizer)
    batches = semi_batches if args.kind == 'self-training' else sup_batches
    if args.device.startswith('cuda'):
        torch.cuda.reset_peak_memory_stats()
    for i, batch in enumerate(batches):
        if i == args.warmup:
            _sync(args.device)
            start = time.perf_counter()
        model.train_step(batch, wrapper)
    _sync(args.device)
    seconds = (time.perf_counter() - start) / args.iters
    if args.device.startswith('cuda'):
        peak, what = torch.cuda.max_memory_allocated() / 2**20, 'CUDA max allocated'
    else:
        peak, what = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10, 'peak RSS'
    return dict(kind=args.kind, s_per_it=seconds, peak_mib=peak, memory=what)


def _sync(device: str) -> None:
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.kind:
        print(json.dumps(run_kind(args)))
        return
    best: dict[str, dict] = {}
    child = [sys.executable, __file__, args.config, '--iters', str(args.iters), '--warmup',
             str(args.warmup), '--device', args.device]
    if args.cfg_options:
        child += ['--cfg-options', *args.cfg_options]
    for _ in range(args.repeat):
        for kind in KINDS:
            out = subprocess.run([*child, '--kind', kind], capture_output=True, text=True,
                                 check=True).stdout.strip().splitlines()[-1]
            result = json.loads(out)
            if kind not in best or result['s_per_it'] < best[kind]['s_per_it']:
                best[kind] = result
    sup, semi = best['supervised'], best['self-training']
    cfg = load_config(args.config, args.options)
    labelled, total = labelled_batch_size(cfg), cfg.train_dataloader.batch_size
    print(f'{"step":<15}{"s/it":>10}{"peak MiB":>12}   ({sup["memory"]}, {args.device}; batch: '
          f'supervised {labelled} labelled, self-training {labelled} labelled + '
          f'{total - labelled} unlabelled)')
    for result in (sup, semi):
        print(f'{result["kind"]:<15}{result["s_per_it"]:>10.3f}{result["peak_mib"]:>12.0f}')
    print(f'{"ratio":<15}{semi["s_per_it"] / sup["s_per_it"]:>10.2f}'
          f'{semi["peak_mib"] / sup["peak_mib"]:>12.2f}')


if __name__ == '__main__':
    run_cli(main)
