"""The metric's share of full-resolution evaluation time: IoUMetric against the prediction.

For each of N synthetic street scenes (1024x2048 by default: rectangles of all 19 classes,
void regions; the image is the scene in the Cityscapes palette), two steps of the test loop
are timed on the same image, interleaved:

- ``model.test_step``: what the test loop runs per batch (here one image): preprocessing on
  the device, the config's whole or slide inference (and TTA, if ``model.test_cfg`` asks),
  resizing to the label resolution, argmax;
- ``evaluator.process``: mmengine's Evaluator with the config's IoUMetric on that output
  (conversion to dicts, validation, one ``torch.bincount`` per image on the prediction's
  device, the matrix copied into the results).

Before printing, the metric's summed confusion matrix is checked against numpy's own count of
the same pixels. The weights are random (``encoder_weights=None``, no checkpoint): speed does
not depend on them.

Usage: ``python tools/analysis_tools/benchmark_metric.py CONFIG [--num-images 3]
[--size 1024 2048] [--repeat 1] [--threads N] [--cfg-options k=v ...]``
"""
from __future__ import annotations

import argparse

import numpy as np
import torch
from mmengine.config import DictAction
from mmengine.dataset import pseudo_collate
from mmengine.device import get_device
from mmengine.evaluator import Evaluator
from timing import time_side_by_side

from cityseg.apis import init_model
from cityseg.apis.inference import build_inference_pipeline
from cityseg.datasets.labels import CLASSES, IGNORE_INDEX, NUM_CLASSES
from cityseg.registry import METRICS
from cityseg.utils import load_config
from cityseg.utils.cli import run_cli
from cityseg.utils.segmentor_cfg import drop_encoder_weights
from cityseg.visualization import colorize


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--num-images', type=int, default=3)
    parser.add_argument('--size', type=int, nargs=2, default=[1024, 2048], metavar=('H', 'W'))
    parser.add_argument('--repeat', type=int, default=1, help='timed calls per image (best)')
    parser.add_argument('--threads', type=int, default=None,
                        help="torch CPU threads (default: torch's own choice)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def make_pair(rng: np.random.Generator, h: int, w: int) -> tuple[np.ndarray, np.ndarray]:
    """A street-scene-like train-id label map with void regions, and its palette image (BGR)."""
    gt = np.repeat(np.repeat(rng.integers(0, NUM_CLASSES, (h // 64 + 1, w // 64 + 1)), 64, 0),
                   64, 1)[:h, :w].astype(np.uint8)
    for _ in range(200):
        y, x = rng.integers(0, h), rng.integers(0, w)
        gt[y:y + rng.integers(8, 200), x:x + rng.integers(8, 300)] = rng.integers(NUM_CLASSES)
    gt[rng.integers(0, h // 2):, :rng.integers(1, w // 4)] = IGNORE_INDEX
    return gt, np.ascontiguousarray(colorize(gt)[..., ::-1])


def numpy_confusion(preds: list[np.ndarray], gts: list[np.ndarray]) -> np.ndarray:
    """The summed confusion matrix counted by numpy, independently of the metric."""
    conf = np.zeros((NUM_CLASSES, NUM_CLASSES), dtype=np.int64)
    for pred, gt in zip(preds, gts):
        keep = gt != IGNORE_INDEX
        pairs = gt[keep].astype(np.int64) * NUM_CLASSES + pred[keep]
        conf += np.bincount(pairs, minlength=NUM_CLASSES ** 2).reshape(NUM_CLASSES, NUM_CLASSES)
    return conf


def _sync() -> None:
    if get_device() == 'cuda':
        torch.cuda.synchronize()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    cfg = load_config(args.config, args.cfg_options)
    drop_encoder_weights(cfg)
    model = init_model(cfg, device=get_device())
    pipeline = build_inference_pipeline(cfg)
    metric_cfg = cfg.test_evaluator
    evaluator = Evaluator(METRICS.build(dict(metric_cfg, instance_iou=False, output_file=None)))
    evaluator.dataset_meta = {'classes': CLASSES}
    rng = np.random.default_rng(args.seed)
    h, w = args.size
    batches = []
    for i in range(args.num_images):
        gt, img = make_pair(rng, h, w)
        batches.append(pseudo_collate([pipeline(dict(
            img=img, gt_seg_map=gt, img_path=f'{i}.png', img_shape=(h, w), ori_shape=(h, w)))]))
    outputs: dict[int, list] = {}

    @torch.inference_mode()
    def predict(i: int) -> None:
        outputs[i] = model.test_step(batches[i])
        _sync()

    def process(i: int) -> None:
        evaluator.process(outputs[i])
        _sync()

    predict(0)  # warm-up: first-call allocations and lazy initialisation
    process(0)
    evaluator.metrics[0].results.clear()
    seconds = time_side_by_side({'predict': predict, 'metric': process}, args.num_images,
                                args.repeat)

    # Every timed process call added one matrix per image.
    counted = np.sum([conf for _, conf, _ in evaluator.metrics[0].results], axis=0)
    preds = [outputs[i][0].pred_sem_seg.data[0].cpu().numpy() for i in range(args.num_images)]
    gts = [b['data_samples'][0].gt_sem_seg.data[0].numpy() for b in batches]
    if not np.array_equal(counted, args.repeat * numpy_confusion(preds, gts)):
        raise RuntimeError("the metric's confusion matrix disagrees with numpy's count")

    test_cfg = dict(cfg.model.get('test_cfg') or {})
    print(f'config {args.config}: {cfg.model.arch} / {cfg.model.encoder_name}, inference '
          f"{test_cfg.get('mode', 'whole')}, device {get_device()}, torch threads "
          f'{torch.get_num_threads()}; {args.num_images} images of {h}x{w}, best of '
          f'{args.repeat} per image')
    print(f"{'model.test_step (prediction at label resolution)':<52} "
          f"{1000 * seconds['predict']:10.3f} ms/image")
    print(f"{'evaluator.process (IoUMetric)':<52} {1000 * seconds['metric']:10.3f} ms/image")
    share = seconds['metric'] / (seconds['predict'] + seconds['metric'])
    print(f'metric share of evaluation time: {100 * share:.3f} % (target <= 1 %)')


if __name__ == '__main__':
    run_cli(main)
