"""Images/s of onnxruntime against PyTorch eager for the networks of some configs, on CPU.

    python tools/analysis_tools/benchmark_onnx.py \
        configs/quickstart_synthetic.py configs/deeplabv3plus_effb3_512.py --shape 1024 2048

Both backends run the same computation: raw RGB in, normalisation, network, logits out (the
graph tools/export_onnx.py writes, exported here at ``--shape`` with random weights), batch 1,
with the same number of threads. They alternate in rounds, so that load from other processes
hits both alike; each figure is timed images over timed seconds, after untimed warm-up runs.
"""
from __future__ import annotations

import argparse
import os.path as osp
import tempfile
import time

import torch
from terminaltables import AsciiTable

from cityseg.apis import init_model
from cityseg.apis.onnx import INPUT_NAME, OUTPUT_NAME, RawImageNet, create_session, export_onnx

DEFAULT_CONFIGS = ['configs/quickstart_synthetic.py', 'configs/deeplabv3plus_effb3_512.py']


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='onnxruntime vs PyTorch eager, images/s')
    parser.add_argument('configs', nargs='*', default=DEFAULT_CONFIGS, metavar='CONFIG')
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048], metavar=('H', 'W'))
    parser.add_argument('--iters', type=int, default=3, help='timed images per round')
    parser.add_argument('--rounds', type=int, default=2, help='alternating rounds')
    parser.add_argument('--warmup', type=int, default=1, help='untimed images per backend')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads(),
                        help='intra-op threads for both backends')
    return parser.parse_args()


def timed(run, iters: int) -> tuple[int, float]:
    """Images run and seconds taken."""
    start = time.perf_counter()
    for _ in range(iters):
        run()
    return iters, time.perf_counter() - start


def benchmark(config: str, args: argparse.Namespace, tmp_dir: str) -> list:
    """One table row: the config's network timed with both backends."""
    model = init_model(config, cfg_options={'model.encoder_weights': None})
    onnx_path = osp.join(tmp_dir, osp.splitext(osp.basename(config))[0] + '.onnx')
    export_onnx(model, onnx_path, args.shape)
    session = create_session(onnx_path, num_threads=args.threads)
    eager = RawImageNet(model).eval()
    x = torch.randint(0, 256, (1, 3, *args.shape)).float()
    feed = {INPUT_NAME: x.numpy()}

    def run_eager() -> None:
        with torch.inference_mode():
            eager(x)

    def run_ort() -> None:
        session.run([OUTPUT_NAME], feed)

    totals = {run_eager: [0, 0.0], run_ort: [0, 0.0]}
    for run in totals:
        timed(run, args.warmup)
    for _ in range(args.rounds):
        for run, total in totals.items():
            n, seconds = timed(run, args.iters)
            total[0] += n
            total[1] += seconds
    eager_ips, ort_ips = (n / s for n, s in totals.values())
    params = sum(p.numel() for p in model.net.parameters()) / 1e6
    cfg = model.cfg.model
    return [osp.basename(config), f'{cfg.arch} / {cfg.encoder_name}', f'{params:.1f}M',
            f'{eager_ips:.3f}', f'{ort_ips:.3f}', f'{ort_ips / eager_ips:.2f}x']


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    rows = [['config', 'network', 'params', 'PyTorch img/s', 'onnxruntime img/s', 'speed-up']]
    with tempfile.TemporaryDirectory() as tmp_dir:
        rows += [benchmark(config, args, tmp_dir) for config in args.configs]
    h, w = args.shape
    print(f'CPU, {args.threads} threads, batch 1, {h}x{w}, '
          f'{args.rounds} rounds x {args.iters} images per backend')
    print(AsciiTable(rows).table)


if __name__ == '__main__':
    main()
