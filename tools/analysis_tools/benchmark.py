"""Measure what cityseg costs and delivers on this machine, side by side in one run.

(a) training iterations/s of the full mmengine Runner (default hooks, logging, optim wrapper)
    against a bare PyTorch loop with the same model, loss, optimizer, batches and in-memory data,
    as a ratio (target >= 0.95); the two alternate in rounds so that machine noise hits both;
(b) data pipeline samples/s with N dataloader workers, against the train step's demand;
(c) inference images/s at 1024x2048, whole and slide;
(d) peak memory (CUDA: max allocated; CPU: peak resident set size of the process);
(e) with --modes: the Runner's training images/s, peak memory, torch.compile time and dynamo
    compilations while timed (0 = no recompiles after warm-up) per mode: fp32, amp (mmengine's
    AmpOptimWrapper: fp16 + loss scaling on CUDA, bf16 on CPU), amp_cl (+ channels_last),
    compile / amp_cl_compile (the network compiled, as cfg.compile does in tools/train.py).

    python tools/analysis_tools/benchmark.py configs/deeplabv3plus_effb3_512.py \
        --cfg-options train_dataloader.batch_size=2
    python tools/analysis_tools/benchmark.py configs/deeplabv3plus_effb3_512.py --device cuda \
        --skip train data infer --modes fp32 amp amp_cl amp_cl_compile   # batch 8, 512x512
"""
from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
import tempfile
import time

import torch
from mmengine.config import Config, DictAction
from mmengine.dataset import pseudo_collate
from mmengine.device import get_device
from mmengine.hooks import Hook
from mmengine.runner import Runner
from torch.utils.data import DataLoader, Dataset

from cityseg.apis import init_model
from cityseg.models import predicting_segmentor
from cityseg.registry import DATASETS, OPTIMIZERS
from cityseg.utils import load_config
from cityseg.utils.cli import run_cli
from cityseg.utils.compile import compile_network
from cityseg.utils.errors import CitysegError
from cityseg.utils.segmentor_cfg import drop_encoder_weights, segmentor_cfg

# What each --modes entry changes in the config (optim wrapper type, model.channels_last) and
# whether the network is compiled.
MODES = {
    'fp32': dict(amp=False, channels_last=False, compile=False),
    'amp': dict(amp=True, channels_last=False, compile=False),
    'amp_cl': dict(amp=True, channels_last=True, compile=False),
    'compile': dict(amp=False, channels_last=False, compile=True),
    'amp_cl_compile': dict(amp=True, channels_last=True, compile=True),
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=10, help='timed train iterations per round')
    parser.add_argument('--rounds', type=int, default=2, help='alternating Runner/bare rounds')
    parser.add_argument('--warmup', type=int, default=2, help='untimed iterations per round')
    parser.add_argument('--samples', type=int, default=8, help='distinct in-memory samples')
    parser.add_argument('--workers', type=int, nargs='+', default=[0, 2],
                        help='dataloader worker counts for (b)')
    parser.add_argument('--data-batches', type=int, default=10)
    parser.add_argument('--infer-iters', type=int, default=2)
    parser.add_argument('--infer-size', type=int, nargs=2, default=[1024, 2048],
                        metavar=('H', 'W'))
    parser.add_argument('--slide-crop', type=int, nargs=2, default=[1024, 1024])
    parser.add_argument('--slide-stride', type=int, nargs=2, default=[768, 768])
    parser.add_argument('--skip', nargs='*', default=[], choices=['train', 'data', 'infer'])
    parser.add_argument('--modes', nargs='*', default=[], choices=list(MODES),
                        help='(e): training modes to compare through the Runner')
    parser.add_argument('--device', choices=['auto', 'cpu', 'cuda'], default='auto',
                        help='cpu hides CUDA devices; cuda fails when none is visible')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


class InMemory(Dataset):
    """Pipeline outputs decoded once; each access returns a fresh copy, as a pipeline would."""

    def __init__(self, samples: list[dict], length: int) -> None:
        self.samples = samples
        self.length = length

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, idx: int) -> dict:
        return copy.deepcopy(self.samples[idx % len(self.samples)])


class IterTimes(Hook):
    """Record wall time per train iteration (synchronised with the device)."""

    priority = 'VERY_LOW'

    def __init__(self) -> None:
        self.times: list[float] = []
        self._start = 0.0

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        _sync()
        self._start = time.perf_counter()

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        _sync()
        self.times.append(time.perf_counter() - self._start)


def _sync() -> None:
    """Wait for the device the Runner and the bare loop both use (mmengine's get_device)."""
    if get_device() == 'cuda':
        torch.cuda.synchronize()


def build_samples(cfg: Config, n: int) -> list[dict]:
    dataset = DATASETS.build(cfg.train_dataloader.dataset)
    return [dataset[i % len(dataset)] for i in range(n)]


def bare_loop(cfg: Config, loader: DataLoader, iters: int, warmup: int) -> float:
    """Seconds per iteration of a hand-written loop: preprocess, forward, loss, step."""
    torch.manual_seed(0)
    model = init_model(cfg, device=get_device()).train()
    optimizer = OPTIMIZERS.build(dict(cfg.optim_wrapper.optimizer, params=model.parameters()))
    times = []
    it = iter(loader)
    for i in range(warmup + iters):
        data = next(it)
        _sync()
        start = time.perf_counter()
        data = model.data_preprocessor(data, True)
        losses = model(**data, mode='loss')
        loss = sum(v for k, v in losses.items() if 'loss' in k)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        _sync()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def runner_loop(cfg: Config, dataset: Dataset, iters: int, warmup: int,
                timer: IterTimes | None = None, compile_net: bool = False) -> float:
    """Seconds per iteration of mmengine's Runner with the config's default hooks."""
    timer = timer or IterTimes()
    hooks = copy.deepcopy(cfg.default_hooks)
    hooks.checkpoint = dict(type='CheckpointHook', interval=10**9, save_last=False)
    with tempfile.TemporaryDirectory() as work_dir:
        runner = Runner(
            model=copy.deepcopy(cfg.model), work_dir=work_dir,
            train_dataloader=dict(dataset=dataset, batch_size=cfg.train_dataloader.batch_size,
                                  num_workers=0, sampler=dict(type='DefaultSampler',
                                                              shuffle=False),
                                  collate_fn=dict(type='pseudo_collate')),
            optim_wrapper=dict(cfg.optim_wrapper, accumulative_counts=1),
            train_cfg=dict(by_epoch=False, max_iters=warmup + iters),
            default_hooks=hooks, custom_hooks=[timer], default_scope='cityseg',
            randomness=dict(seed=0), log_level='WARNING', env_cfg=cfg.get('env_cfg', {}))
        if compile_net:
            compile_network(runner.model, {})
        runner.train()
    return statistics.median(timer.times[warmup:])


def bench_train(cfg: Config, args: argparse.Namespace, dataset: InMemory) -> float:
    batch = cfg.train_dataloader.batch_size
    bare, runner = [], []
    for _ in range(args.rounds):
        loader = DataLoader(dataset, batch_size=batch, num_workers=0, collate_fn=pseudo_collate)
        bare.append(bare_loop(cfg, loader, args.iters, args.warmup))
        runner.append(runner_loop(cfg, dataset, args.iters, args.warmup))
    b, r = statistics.median(bare), statistics.median(runner)
    print(f'(a) train, batch {batch}: bare loop {1 / b:.3f} it/s ({b:.3f} s/it), '
          f'Runner {1 / r:.3f} it/s ({r:.3f} s/it); Runner/bare throughput ratio {b / r:.3f}')
    return r


def bench_data(cfg: Config, args: argparse.Namespace, step_time: float | None) -> None:
    batch = cfg.train_dataloader.batch_size
    for workers in args.workers:
        loader_cfg = copy.deepcopy(cfg.train_dataloader)
        loader_cfg.update(num_workers=workers, persistent_workers=False)
        loader = Runner.build_dataloader(loader_cfg, seed=0)
        it = iter(loader)
        next(it)
        start = time.perf_counter()
        n = 0
        for _ in range(args.data_batches):
            try:
                n += len(next(it)['inputs'])
            except StopIteration:
                break
        rate = n / (time.perf_counter() - start)
        need = f', train step needs {batch / step_time:.2f}' if step_time else ''
        print(f'(b) data pipeline, {workers} workers: {rate:.2f} samples/s{need}')


@torch.inference_mode()
def bench_infer(cfg: Config, args: argparse.Namespace) -> None:
    model = predicting_segmentor(init_model(cfg, device=get_device()))
    h, w = args.infer_size
    img = torch.randint(0, 256, (3, h, w), dtype=torch.uint8)
    for mode in ('whole', 'slide'):
        model.test_cfg.update(mode=mode, crop_size=tuple(args.slide_crop),
                              stride=tuple(args.slide_stride))
        data = model.data_preprocessor(dict(inputs=[img]), False)
        model.predict(data['inputs'])
        _sync()
        start = time.perf_counter()
        for _ in range(args.infer_iters):
            data = model.data_preprocessor(dict(inputs=[img]), False)
            model.predict(data['inputs'])
        _sync()
        rate = args.infer_iters / (time.perf_counter() - start)
        print(f'(c) inference {mode} {h}x{w}: {rate:.3f} images/s')


class DynamoFrames(IterTimes):
    """Also count dynamo's compiled frames during the timed iterations (after ``warmup``): any
    is a recompile that warm-up did not absorb."""

    def __init__(self, warmup: int) -> None:
        super().__init__()
        self.warmup = warmup
        self.start_frames = 0

    def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
        if batch_idx == self.warmup:
            self.start_frames = _compiled_frames()
        super().before_train_iter(runner, batch_idx, data_batch)

    def timed_frames(self) -> int:
        return _compiled_frames() - self.start_frames


def _compiled_frames() -> int:
    from torch._dynamo.utils import counters
    return counters['frames']['ok']


def mode_config(cfg: Config, mode: str) -> Config:
    """``cfg`` with ``mode``'s optim wrapper and memory format (see MODES)."""
    cfg = copy.deepcopy(cfg)
    if MODES[mode]['amp']:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
    elif cfg.optim_wrapper.type == 'AmpOptimWrapper':  # fp32 for a config that sets AMP
        cfg.optim_wrapper.type = 'OptimWrapper'
        cfg.optim_wrapper.pop('dtype', None)
    cfg.model.channels_last = MODES[mode]['channels_last']
    return cfg


def _reset_peak() -> None:
    if get_device() == 'cuda':
        torch.cuda.reset_peak_memory_stats()


def _peak_memory() -> str:
    if get_device() == 'cuda':
        return f'{torch.cuda.max_memory_allocated() / 2**30:.2f} GiB'
    # The process's resident peak cannot be reset: it is the peak of all modes so far.
    return f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB (RSS so far)'


def bench_modes(cfg: Config, args: argparse.Namespace, dataset: InMemory) -> None:
    """(e): the Runner's training speed per mode, on the same in-memory batches."""
    batch = cfg.train_dataloader.batch_size
    print(f'(e) training modes, batch {batch}, {args.warmup} warm-up + {args.iters} timed '
          f'iterations on {get_device()}')
    print('| mode | s/it | images/s | peak memory | compile time | compilations while timed |')
    print('|---|---:|---:|---|---:|---:|')
    for mode in args.modes:
        compiled = MODES[mode]['compile']
        if compiled:
            torch._dynamo.reset()
        timer = DynamoFrames(args.warmup)
        _reset_peak()
        step = runner_loop(mode_config(cfg, mode), dataset, args.iters, args.warmup, timer,
                           compile_net=compiled)
        # Compilation happens in the warm-up iterations: their excess over timed ones.
        compile_s = sum(timer.times[:args.warmup]) - args.warmup * step
        print(f'| {mode} | {step:.3f} | {batch / step:.2f} | {_peak_memory()} | '
              f'{f"{compile_s:.1f} s" if compiled else "-"} | '
              f'{timer.timed_frames() if compiled else "-"} |')


def select_device(device: str) -> None:
    """Make mmengine's get_device() answer ``device`` (before CUDA is first touched)."""
    if device == 'cpu':
        os.environ['CUDA_VISIBLE_DEVICES'] = ''
    elif device == 'cuda' and not torch.cuda.is_available():
        raise CitysegError('--device cuda: no CUDA device is visible to torch')


def main() -> None:
    args = parse_args()
    select_device(args.device)
    # Speed does not depend on the weights: no download unless an override asks for one.
    cfg = load_config(args.config, args.cfg_options)
    drop_encoder_weights(cfg)
    _, network = segmentor_cfg(cfg.model)
    print(f'config {args.config}: {network.get("arch")} / {network.get("encoder_name")}, '
          f'device {get_device()}, torch threads {torch.get_num_threads()}')
    dataset = None
    if 'train' not in args.skip or args.modes:  # the same in-memory batches for (a) and (e)
        dataset = InMemory(build_samples(cfg, args.samples),
                           (args.warmup + args.iters) * cfg.train_dataloader.batch_size)
    step = None if 'train' in args.skip else bench_train(cfg, args, dataset)
    if 'data' not in args.skip:
        bench_data(cfg, args, step)
    if 'infer' not in args.skip:
        bench_infer(cfg, args)
    # (d) before (e): each mode resets CUDA's peak and prints its own.
    if torch.cuda.is_available():
        peak = torch.cuda.max_memory_allocated() / 2**30
        print(f'(d) peak CUDA memory allocated: {peak:.2f} GiB')
    print(f'(d) peak resident memory (CPU): '
          f'{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB')
    if args.modes:
        bench_modes(cfg, args, dataset)


if __name__ == '__main__':
    run_cli(main)
