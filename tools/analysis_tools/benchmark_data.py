"""Time the Cityscapes train pipeline against PNG decoding and against the decoded-sample cache.

On full-size 2048x1024 frames (synthetic ones written to a temporary directory, or a real
Cityscapes root with ``--data-root``), per sample:

- ``decode only``: reading and decoding the image and label PNGs (mmcv / OpenCV), nothing else:
  the floor of any pipeline that reads PNGs.
- ``pipeline``: ``dataset[i]`` with the config's train pipeline (load + validate + map labels,
  Albumentations crop/flip/colour, packing), uncached.
- ``cached``: the same dataset with ``cache_dir``: the decoded sample comes from the memory-mapped
  cache and only the random augmentation and packing run.

The three are timed side by side, interleaved sample by sample, so that load from other
processes hits them alike; each figure is the best of ``--repeat`` calls per sample (as timeit
advises: slower calls measure interference, not the code), averaged over samples. Targets:
pipeline <= 1.3x decode only, cached >= 3x faster than the pipeline.

Usage: ``python tools/analysis_tools/benchmark_data.py [--num-images 4] [--repeat 5]``.
"""
from __future__ import annotations

import argparse
import os.path as osp
import tempfile
import time

import cv2
import mmcv
import torch
from mmengine.fileio import get as get_bytes
from terminaltables import AsciiTable
from timing import time_side_by_side

from cityseg.datasets.synthetic import generate_synthetic_cityscapes
from cityseg.registry import DATASETS
from cityseg.utils import load_config
from cityseg.utils.cli import run_cli

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
PIPELINE_TARGET = 1.3
CACHE_TARGET = 3.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--config', default=osp.join(ROOT, 'configs/_base_/datasets/cityscapes.py'),
                        help='config whose train_dataloader.dataset is timed')
    parser.add_argument('--data-root', help='a Cityscapes root (default: synthetic 2048x1024)')
    parser.add_argument('--num-images', type=int, default=4, help='samples to time')
    parser.add_argument('--repeat', type=int, default=5, help='timed calls per sample')
    parser.add_argument('--threads', type=int, default=1,
                        help='OpenCV and torch threads (1, as in a dataloader worker)')
    return parser.parse_args()


def decode_only(info: dict) -> None:
    """What any PNG-reading pipeline pays: read and decode the image and its label."""
    mmcv.imfrombytes(get_bytes(info['img_path']), flag='color', backend='cv2')
    mmcv.imfrombytes(get_bytes(info['seg_map_path']), flag='unchanged', backend='cv2')


def main() -> None:
    args = parse_args()
    cv2.setNumThreads(args.threads)
    torch.set_num_threads(args.threads)
    dataset_cfg = load_config(args.config, required=('train_dataloader',)).train_dataloader.dataset
    with tempfile.TemporaryDirectory() as tmp:
        data_root = args.data_root
        if data_root is None:
            data_root = osp.join(tmp, 'cityscapes')
            print(f'writing {args.num_images} synthetic 2048x1024 samples to {data_root}')
            generate_synthetic_cityscapes(data_root, num_train=args.num_images, num_val=0,
                                          num_test=0, size=(2048, 1024), nproc=2)
        dataset_cfg.update(data_root=data_root, indices=args.num_images)
        uncached = DATASETS.build(dict(dataset_cfg, cache_dir=None))
        start = time.perf_counter()
        cached = DATASETS.build(dict(dataset_cfg, cache_dir=osp.join(tmp, 'cache')))
        build_s = time.perf_counter() - start
        n = len(uncached)
        infos = [uncached.get_data_info(i) for i in range(n)]
        times = time_side_by_side({'decode only': lambda i: decode_only(infos[i]),
                                   'pipeline': uncached.__getitem__,
                                   'cached': cached.__getitem__}, n, args.repeat)
        h, w = mmcv.imread(infos[0]['img_path']).shape[:2]
    decode, pipeline, cache = times['decode only'], times['pipeline'], times['cached']
    rows = [['', 'ms / sample', 'ratio', 'target'],
            ['decode only', f'{decode * 1e3:.1f}', '1.00x', ''],
            ['pipeline', f'{pipeline * 1e3:.1f}', f'{pipeline / decode:.2f}x decode',
             f'<= {PIPELINE_TARGET}x ' + ('met' if pipeline / decode <= PIPELINE_TARGET
                                          else 'MISSED')],
            ['cached', f'{cache * 1e3:.1f}', f'{pipeline / cache:.1f}x faster than pipeline',
             f'>= {CACHE_TARGET}x ' + ('met' if pipeline / cache >= CACHE_TARGET
                                       else 'MISSED')]]
    print(f'\n{n} samples of {w}x{h}, {args.threads} thread(s), best of {args.repeat}; '
          f'cache built in {build_s:.1f} s, {cached.cache.nbytes / n / 2**20:.1f} MiB/sample')
    print(AsciiTable(rows).table)


if __name__ == '__main__':
    run_cli(main)
