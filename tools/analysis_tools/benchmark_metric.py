"""Time IoUMetric's per-image cost against cityscapesscripts' pixel-level evaluator.

Both sides get the same N synthetic 1024x2048 scenes (rectangles of all 19 classes, void
regions, predictions with errors), and their confusion matrices are checked to agree before
any figure is printed. What is timed, per image:

- ``cityseg``: ``IoUMetric.process`` on one sample dict holding in-memory ``(1, H, W)`` int64
  CPU tensors (validation, bincount, copy of the matrix into ``results``) -- what the
  validation loop pays per image.
- ``official, accumulation``: ``evaluatePair`` with PNG decoding taken out: its ``Image.open``
  is replaced by a lookup of images decoded beforehand, so what remains is its size checks and
  its confusion-matrix update (numpy fallback unless its Cython helper is built).
- ``official, whole``: ``evaluatePair`` on label-id PNGs on disk (decoding + accumulation), what
  the official script pays per image.

Usage: ``python tools/analysis_tools/benchmark_metric.py [--num-images 10] [--threads 1]``.
Use ``--threads 1`` when other processes keep the cores busy: torch's multi-threaded kernels
then wait on descheduled threads (measured ~10x slower on a shared 2-vCPU machine), while the
official evaluator is single-threaded anyway.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np
import torch
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling
from PIL import Image

from cityseg.datasets.labels import IGNORE_INDEX, NUM_CLASSES, TRAIN_ID_TO_ID
from cityseg.evaluation import IoUMetric


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=10)
    parser.add_argument('--height', type=int, default=1024)
    parser.add_argument('--width', type=int, default=2048)
    parser.add_argument('--repeat', type=int, default=3, help='timed calls per image')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def make_pair(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A (prediction, ground truth) pair of train-id maps that looks like a street scene."""
    gt = np.repeat(np.repeat(rng.integers(0, NUM_CLASSES, (h // 64 + 1, w // 64 + 1)), 64, 0),
                   64, 1)[:h, :w].astype(np.uint8)
    for _ in range(200):
        y, x = rng.integers(0, h), rng.integers(0, w)
        gt[y:y + rng.integers(8, 200), x:x + rng.integers(8, 300)] = rng.integers(NUM_CLASSES)
    gt[rng.integers(0, h // 2):, :rng.integers(1, w // 4)] = IGNORE_INDEX
    pred = gt.copy()
    pred[gt == IGNORE_INDEX] = 0
    for _ in range(150):
        y, x = rng.integers(0, h), rng.integers(0, w)
        pred[y:y + rng.integers(4, 100), x:x + rng.integers(4, 150)] = rng.integers(NUM_CLASSES)
    return pred, gt


def time_each(fn: Callable[[int], object], n: int, repeat: int) -> float:
    """Seconds per call of ``fn(i)``: the best of ``repeat`` calls per i, averaged over i < n.

    The best call, as timeit advises, because slower ones measure interference (other
    processes on the machine, first touch of freshly allocated memory), not the code.
    """
    best = [float('inf')] * n
    for _ in range(repeat):
        for i in range(n):
            start = time.perf_counter()
            fn(i)
            best[i] = min(best[i], time.perf_counter() - start)
    return sum(best) / n


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    pairs = [make_pair(rng, args.height, args.width) for _ in range(args.num_images)]
    samples = [[{'pred_sem_seg': {'data': torch.from_numpy(p)[None].long()},
                 'gt_sem_seg': {'data': torch.from_numpy(g)[None].long()}}] for p, g in pairs]

    metric = IoUMetric(num_classes=NUM_CLASSES, prefix='bench')
    ours = time_each(lambda i: metric.process(None, samples[i]), args.num_images, args.repeat)

    cs_args = SimpleNamespace(**vars(evalPixelLevelSemanticLabeling.args))
    cs_args.evalInstLevelScore = False  # iIoU path: np.in1d, gone from numpy 2.4
    cs_args.evalPixelAccuracy = False
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k, (pred, gt) in enumerate(pairs):
            pred_file, gt_file = Path(tmp, f'pred_{k}.png'), Path(tmp, f'gt_{k}_labelIds.png')
            Image.fromarray(TRAIN_ID_TO_ID[pred]).save(pred_file)  # void gt -> 0 'unlabeled'
            Image.fromarray(TRAIN_ID_TO_ID[gt]).save(gt_file)
            files.append((str(pred_file), str(gt_file)))
        conf = evalPixelLevelSemanticLabeling.generateMatrix(cs_args)

        def official_pair(i: int) -> None:
            evalPixelLevelSemanticLabeling.evaluatePair(*files[i], conf, {}, {}, cs_args)

        whole = time_each(official_pair, args.num_images, args.repeat)
        decoded = {}
        for name in (f for pair in files for f in pair):
            decoded[name] = Image.open(name)
            decoded[name].load()
        with mock.patch.object(evalPixelLevelSemanticLabeling, 'Image',
                               SimpleNamespace(open=decoded.__getitem__)):
            accumulation = time_each(official_pair, args.num_images, args.repeat)

    # Same counts on both sides: ours saw each image `repeat` times, the official matrix
    # (restricted to non-void label ids) twice as often, in two timing loops.
    train_label_ids = TRAIN_ID_TO_ID[:NUM_CLASSES]
    official_conf = conf[np.ix_(train_label_ids, train_label_ids)].astype(np.int64)
    if not np.array_equal(official_conf, 2 * np.sum(metric.results, axis=0)):
        raise RuntimeError('the two confusion matrices disagree')

    print(f'{args.num_images} images of {args.height}x{args.width}, torch threads '
          f'{torch.get_num_threads()}, official Cython helper: '
          f'{evalPixelLevelSemanticLabeling.CSUPPORT}')
    print(f'cityseg IoUMetric.process          {ours:.4f} s/image')
    print(f'official evaluatePair accumulation {accumulation:.4f} s/image  '
          f'({accumulation / ours:.1f}x slower)')
    print(f'official evaluatePair whole        {whole:.4f} s/image  '
          f'({whole / ours:.1f}x slower)')


if __name__ == '__main__':
    main()
