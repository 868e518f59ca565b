"""Evaluation speed and mIoU of PyTorch, onnxruntime (fp32) and onnxruntime (static int8) on CPU.

    python tools/analysis_tools/benchmark_onnx.py configs/deeplabv3plus_effb3_512.py \
        --shape 1024 2048 [--checkpoint CKPT]

For each config, the network is exported (dynamic axes, as tools/test.py --backend onnxruntime
does) and quantized to int8 (calibrated on ``--calib-images`` train images, as
tools/export_onnx.py --quantize int8 does). The three backends then evaluate the same synthetic
val images of ``--shape`` (cityseg's street-scene generator, written under ``--data-root``)
through the whole segmentor, as tools/test.py runs it: ``model.test_step`` (preprocessing,
the config's inference mode, resizing, argmax) timed per image, then the config's IoUMetric.
The backends alternate image by image, so that load from other processes hits them alike; the
first image is an untimed warm-up (it still counts for mIoU). 'agreement' is the fraction of
pixels whose class equals PyTorch's.

Without ``--checkpoint`` the weights are random (speed does not depend on them), and random
networks predict few classes: pass a trained checkpoint for an mIoU comparison that means
something about accuracy.
"""
from __future__ import annotations

import argparse
import copy
import os.path as osp
import tempfile

import numpy as np
import torch
from mmengine.dataset import pseudo_collate
from mmengine.evaluator import Evaluator
from terminaltables import AsciiTable
from timing import time_side_by_side

from cityseg.apis import init_model
from cityseg.apis.onnx import (
    CalibrationImages,
    export_for_evaluation,
    quantize_int8,
    use_onnxruntime,
)
from cityseg.datasets.synthetic import ensure_synthetic_cityscapes
from cityseg.registry import DATASETS, METRICS
from cityseg.utils import load_config
from cityseg.utils.cli import run_cli
from cityseg.utils.segmentor_cfg import drop_encoder_weights

DEFAULT_CONFIGS = ['configs/deeplabv3plus_effb3_512.py']
BACKENDS = ('PyTorch', 'onnxruntime fp32', 'onnxruntime int8')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='PyTorch vs onnxruntime fp32 vs int8: '
                                     'images/s and mIoU through the segmentor')
    parser.add_argument('configs', nargs='*', default=DEFAULT_CONFIGS, metavar='CONFIG')
    parser.add_argument('--checkpoint', help='trained weights (one config only); default random')
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048], metavar=('H', 'W'))
    parser.add_argument('--images', type=int, default=3,
                        help='synthetic val images per backend (the first is the warm-up)')
    parser.add_argument('--calib-images', type=int, default=4,
                        help='synthetic train images (of --shape) that calibrate int8')
    parser.add_argument('--data-root', default='data/synthetic_cityscapes_benchmark',
                        help='where the synthetic images go')
    parser.add_argument('--threads', type=int, default=torch.get_num_threads(),
                        help='intra-op threads for every backend')
    args = parser.parse_args()
    if args.checkpoint and len(args.configs) != 1:
        parser.error('--checkpoint goes with exactly one config')
    if args.images < 2:
        parser.error('--images must be >= 2 (one warm-up, then timed images)')
    return args


def dataset_cfg(model, data_root: str, split: str) -> dict:
    """The synthetic ``split`` read through the config's test pipeline."""
    return dict(type='CityscapesDataset', data_root=data_root, split=split,
                pipeline=model.cfg.test_dataloader.dataset.pipeline)


def build_backends(config: str, args: argparse.Namespace, train_root: str,
                   tmp_dir: str) -> dict[str, torch.nn.Module]:
    """The config's segmentor three times: PyTorch, and with its network in onnxruntime as
    exported (fp32) and quantized (int8)."""
    cfg = load_config(config)
    drop_encoder_weights(cfg)  # random weights or the checkpoint's: nothing to download
    model = init_model(cfg, args.checkpoint)
    name = osp.splitext(osp.basename(config))[0]
    fp32 = export_for_evaluation(model, tmp_dir, name)
    int8 = osp.join(tmp_dir, f'{name}_int8.onnx')
    train = dataset_cfg(model, train_root, 'train')
    quantize_int8(fp32, int8, CalibrationImages(model, train, args.calib_images))
    models = {'PyTorch': model}
    for backend, path in zip(BACKENDS[1:], (fp32, int8)):
        models[backend] = use_onnxruntime(copy.deepcopy(model), path, args.threads)
    return models


def benchmark(config: str, args: argparse.Namespace, roots: dict[str, str],
              tmp_dir: str) -> list:
    """Table rows of one config: each backend's images/s, mIoU and agreement with PyTorch."""
    models = build_backends(config, args, roots['train'], tmp_dir)
    val = DATASETS.build(dataset_cfg(models['PyTorch'], roots['val'], 'val'))
    batches = [pseudo_collate([val[i]]) for i in range(args.images)]
    cfg = models['PyTorch'].cfg
    evaluators = {}
    for backend in BACKENDS:
        evaluators[backend] = Evaluator(METRICS.build(
            dict(cfg.test_evaluator, instance_iou=False, output_file=None)))
        evaluators[backend].dataset_meta = val.metainfo
    preds: dict[str, list[np.ndarray]] = {b: [None] * args.images for b in BACKENDS}

    def runner(backend: str):
        @torch.inference_mode()
        def run(i: int) -> None:
            outputs = models[backend].test_step(batches[i])
            evaluators[backend].process(outputs)
            preds[backend][i] = outputs[0].pred_sem_seg.data.cpu().numpy()
        return run

    runs = {b: runner(b) for b in BACKENDS}
    for run in runs.values():
        run(0)  # warm-up
    seconds = time_side_by_side({b: (lambda i, r=run: r(i + 1)) for b, run in runs.items()},
                                args.images - 1, 1)
    rows = []
    for backend in BACKENDS:
        miou = evaluators[backend].evaluate(args.images)['mIoU']
        agree = np.mean([(p == t).mean() for p, t in zip(preds[backend], preds['PyTorch'])])
        rows.append([osp.basename(config), backend, f'{1 / seconds[backend]:.3f}',
                     f'{seconds["PyTorch"] / seconds[backend]:.2f}x',
                     f'{seconds["onnxruntime fp32"] / seconds[backend]:.2f}x',
                     f'{miou:.4f}', f'{100 * agree:.3f}%'])
    return rows


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    h, w = args.shape
    roots = {}
    for split in ('val', 'train'):
        roots[split] = osp.join(args.data_root, f'{split}_{h}x{w}')
        ensure_synthetic_cityscapes(roots[split], num_train=args.calib_images * (split == 'train'),
                                    num_val=args.images * (split == 'val'), num_test=0,
                                    size=(w, h), seed=0)
    rows = [['config', 'backend', 'img/s', 'vs PyTorch', 'vs ort fp32', 'mIoU',
             'agreement']]
    with tempfile.TemporaryDirectory() as tmp_dir:
        for config in args.configs:
            rows += benchmark(config, args, roots, tmp_dir)
    weights = args.checkpoint or 'random weights'
    print(f'CPU, {args.threads} threads, batch 1, {h}x{w} synthetic val images, '
          f'{args.images - 1} timed (+1 warm-up) per backend, int8 calibrated on '
          f'{args.calib_images} train images of {h}x{w}, {weights}')
    print(AsciiTable(rows).table)


if __name__ == '__main__':
    run_cli(main)
