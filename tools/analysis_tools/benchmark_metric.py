"""Time IoUMetric's per-image cost against cityscapesscripts' pixel-level evaluator.

Both sides get the same N synthetic 1024x2048 scenes (rectangles of all 19 classes, void
regions, predictions with errors, instances of the 8 instance classes), and their confusion
matrices (and, with ``--iiou``, their iIoU scores) are checked to agree before any figure is
printed. What is timed, per image:

- ``cityseg, uint8 maps``: ``IoUMetric.process`` on one sample dict holding in-memory
  ``(1, H, W)`` uint8 CPU tensors (validation, counting, copy of the matrix into ``results``):
  what validation and ``tools/test.py`` pay, as the pipeline packs labels and the segmentor
  returns its argmax as uint8. These maps are counted run by run (see
  :mod:`cityseg.evaluation.confusion`), so the time depends on how often neighbouring pixels
  differ: the script prints that fraction, and ``--noise`` makes predictions noisier.
- ``cityseg, int64 maps``: the same on int64 tensors of the same values, counted by
  ``torch.bincount`` (the path of maps wider than uint8, and of GPU tensors).
- ``official, accumulation``: ``evaluatePair`` with PNG decoding taken out: its ``Image.open``
  is replaced by a lookup of images decoded beforehand, so what remains is its size checks and
  its confusion-matrix update (numpy fallback unless its Cython helper is built).
- ``official, whole``: ``evaluatePair`` on label-id PNGs on disk (decoding + accumulation), what
  the official script pays per image.

With ``--iiou`` both sides also compute the instance-level counts: ours from instance ids
decoded beforehand (``instance_counts``), the official ``evaluatePair`` with
``evalInstLevelScore`` (decoding taken out, ``np.in1d`` -- removed in numpy 2.4 -- mapped to
``np.isin`` for the run).

Usage: ``python tools/analysis_tools/benchmark_metric.py [--num-images 10] [--threads 1]
[--repeat 10] [--noise 0.05] [--iiou]``. Use ``--threads 1`` for figures to compare: the
official evaluator is single-threaded, and torch's multi-threaded kernels wait on descheduled
threads when other processes keep the cores busy.
"""
from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

import numpy as np
import torch
from cityscapesscripts.evaluation import evalPixelLevelSemanticLabeling
from PIL import Image
from timing import time_each

from cityseg.datasets.labels import CLASSES, IGNORE_INDEX, NUM_CLASSES, TRAIN_ID_TO_ID
from cityseg.evaluation import IoUMetric, instance_iou
from cityseg.evaluation.confusion import MAX_RUN_FRACTION
from cityseg.evaluation.instance_iou import LABEL_ID_TO_INSTANCE_CLASS

INSTANCE_LABEL_IDS = np.flatnonzero(LABEL_ID_TO_INSTANCE_CLASS >= 0)  # not caravan/trailer


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--num-images', type=int, default=10)
    parser.add_argument('--height', type=int, default=1024)
    parser.add_argument('--width', type=int, default=2048)
    parser.add_argument('--repeat', type=int, default=3, help='timed calls per image')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    parser.add_argument('--iiou', action='store_true',
                        help='compare with instance-level (iIoU) counting on both sides')
    parser.add_argument('--noise', type=float, default=0.0,
                        help='fraction of prediction pixels replaced by a random class '
                             '(isolated errors: the worst case of the run counting)')
    parser.add_argument('--seed', type=int, default=0)
    return parser.parse_args()


def make_pair(rng: np.random.Generator, h: int, w: int,
              noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """A (prediction, ground truth) pair of train-id maps that looks like a street scene,
    with a ``noise`` fraction of the prediction's pixels set to a random class."""
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
    if noise:
        noisy = rng.random((h, w)) < noise
        pred[noisy] = rng.integers(0, NUM_CLASSES, int(noisy.sum()))
    return pred, gt


def run_start_fraction(pred: np.ndarray, gt: np.ndarray) -> float:
    """Fraction of pixels whose (gt, pred) pair differs from the previous pixel's."""
    pred, gt = pred.ravel(), gt.ravel()
    return float(np.mean((pred[1:] != pred[:-1]) | (gt[1:] != gt[:-1])))


def make_instances(label_ids: np.ndarray) -> np.ndarray:
    """instanceIds of a label-id map: every 64x64 cell of an instance class is one instance."""
    h, w = label_ids.shape
    cell = (np.arange(h)[:, None] // 64) * (w // 64 + 1) + np.arange(w)[None] // 64 + 1
    inst = label_ids.astype(np.uint16)
    on = np.isin(label_ids, INSTANCE_LABEL_IDS)
    inst[on] = label_ids[on].astype(np.uint16) * 1000 + cell[on]
    return inst


def time_ours(pairs: list, dtype: torch.dtype, args: argparse.Namespace) -> tuple[float, list]:
    """Per-image seconds of ``IoUMetric.process`` on maps of ``dtype``, and its results."""
    samples = [[{'pred_sem_seg': {'data': torch.from_numpy(p)[None].to(dtype)},
                 'gt_sem_seg': {'data': torch.from_numpy(g)[None].to(dtype)}}] for p, g in pairs]
    metric = IoUMetric(num_classes=NUM_CLASSES)
    seconds = time_each(lambda i: metric.process(None, samples[i]), len(pairs), args.repeat)
    return seconds, metric.results


def time_ours_iiou(pairs: list, instances: list, args: argparse.Namespace) -> tuple[float, list]:
    """Per-image seconds of ``IoUMetric.process`` with iIoU on uint8 maps, the instance ids
    decoded beforehand (as the official side's accumulation timing has its PNGs decoded)."""
    maps = [(torch.from_numpy(p)[None], torch.from_numpy(g)[None], torch.from_numpy(i))
            for (p, g), i in zip(pairs, instances)]
    metric = IoUMetric(num_classes=NUM_CLASSES, instance_iou=True)

    def one(i: int) -> None:
        pred, gt, inst = maps[i]
        sample = {'pred_sem_seg': {'data': pred}, 'gt_sem_seg': {'data': gt},
                  'seg_map_path': f'{i}_gtFine_labelIds.png'}
        metric.process(None, [sample])

    with mock.patch('cityseg.evaluation.iou_metric.exists', return_value=True), \
            mock.patch('cityseg.evaluation.iou_metric.load_instance_ids',
                       lambda path: instances[int(Path(path).name.split('_')[0])]):
        seconds = time_each(one, len(pairs), args.repeat)
    return seconds, metric.results


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    pairs = [make_pair(rng, args.height, args.width, args.noise) for _ in range(args.num_images)]
    instances = [make_instances(TRAIN_ID_TO_ID[g]) for _, g in pairs]

    if args.iiou:
        ours_iiou, results_iiou = time_ours_iiou(pairs, instances, args)
        checked = [results_iiou]
    else:
        ours64, results64 = time_ours(pairs, torch.int64, args)
        ours8, results8 = time_ours(pairs, torch.uint8, args)
        checked = [results64, results8]

    cs_args = copy.copy(evalPixelLevelSemanticLabeling.args)
    cs_args.evalInstLevelScore = args.iiou
    cs_args.evalPixelAccuracy = False
    with tempfile.TemporaryDirectory() as tmp, \
            mock.patch.object(np, 'in1d', np.isin, create=True):
        files = []
        for k, ((pred, gt), inst) in enumerate(zip(pairs, instances)):
            pred_file = Path(tmp, f'pred_{k}.png')
            gt_file = Path(tmp, f'gt_{k}_labelIds.png')
            Image.fromarray(TRAIN_ID_TO_ID[pred]).save(pred_file)  # void gt -> 0 'unlabeled'
            Image.fromarray(TRAIN_ID_TO_ID[gt]).save(gt_file)
            Image.fromarray(inst).save(Path(tmp, f'gt_{k}_instanceIds.png'))
            files.append((str(pred_file), str(gt_file)))
        conf = evalPixelLevelSemanticLabeling.generateMatrix(cs_args)
        inst_stats = evalPixelLevelSemanticLabeling.generateInstanceStats(cs_args)

        def official_pair(i: int) -> None:
            evalPixelLevelSemanticLabeling.evaluatePair(*files[i], conf, inst_stats, {},
                                                        cs_args)

        whole = time_each(official_pair, args.num_images, args.repeat)
        decoded = {}
        for name in Path(tmp).iterdir():
            decoded[str(name)] = Image.open(name)
            decoded[str(name)].load()
        with mock.patch.object(evalPixelLevelSemanticLabeling, 'Image',
                               SimpleNamespace(open=decoded.__getitem__)):
            accumulation = time_each(official_pair, args.num_images, args.repeat)

    # Same counts on both sides: ours saw each image `repeat` times per timed variant, the
    # official matrix (restricted to non-void label ids) twice as often, in two timing loops.
    train_label_ids = TRAIN_ID_TO_ID[:NUM_CLASSES]
    official_conf = conf[np.ix_(train_label_ids, train_label_ids)].astype(np.int64)
    for res in checked:
        if not np.array_equal(official_conf, 2 * np.sum([c for c, _ in res], axis=0)):
            raise RuntimeError('the two confusion matrices disagree')
    if args.iiou:
        ours_scores = instance_iou(np.sum([c for c, _ in results_iiou], axis=0),
                                   np.sum([c for _, c in results_iiou], axis=0))
        official_scores = [
            evalPixelLevelSemanticLabeling.getInstanceIouScoreForLabel(
                int(TRAIN_ID_TO_ID[t]), conf, inst_stats, cs_args)
            for t in range(NUM_CLASSES)]
        if not np.allclose(ours_scores, official_scores, rtol=0, atol=1e-9, equal_nan=True):
            raise RuntimeError(f'the iIoU scores disagree: {dict(zip(CLASSES, ours_scores))} '
                               f'vs {dict(zip(CLASSES, official_scores))}')

    print(f'{args.num_images} images of {args.height}x{args.width}, torch threads '
          f'{torch.get_num_threads()}, official Cython helper: '
          f'{evalPixelLevelSemanticLabeling.CSUPPORT}, iIoU: {args.iiou}')
    runs = 100 * np.mean([run_start_fraction(*pair) for pair in pairs])
    print(f'prediction noise {args.noise:.1%}: {runs:.1f} % of pixels start a run (uint8 maps '
          f'are counted by runs below {100 * MAX_RUN_FRACTION:.1f} %, by bincount above)')
    rows = [('official evaluatePair, whole (PNG decoding + accumulation)', whole),
            ('official evaluatePair, accumulation only', accumulation)]
    if args.iiou:
        rows.append(('cityseg IoUMetric.process, uint8 maps + iIoU counts', ours_iiou))
    else:
        rows += [('cityseg IoUMetric.process, int64 maps', ours64),
                 ('cityseg IoUMetric.process, uint8 maps', ours8)]
    for name, seconds in rows:
        print(f'{name:<58} {1000 * seconds:8.2f} ms/image  '
              f'(official accumulation / this: {accumulation / seconds:5.1f}x, '
              f'official whole / this: {whole / seconds:5.1f}x)')


if __name__ == '__main__':
    main()
