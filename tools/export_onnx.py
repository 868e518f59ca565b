"""Export a checkpoint's network to ONNX, then check onnxruntime against PyTorch on real images.

    python tools/export_onnx.py CONFIG CKPT --out model.onnx --shape 1024 2048
    python tools/export_onnx.py CONFIG CKPT --out model.onnx --dynamic --check-images a.png b.png
    python tools/export_onnx.py CONFIG CKPT --out model_int8.onnx --dynamic --quantize int8 \
        --calib-images 16

The ONNX input ``image`` is float32 RGB NCHW with values 0..255 (normalisation is inside the
graph); the output ``logits`` is float32 N x 19 x H x W. H and W must be multiples of the
model's size divisor (printed); without ``--dynamic`` they are fixed to ``--shape``. The check
runs both backends on the config's test images (or ``--check-images``), resized to ``--shape``
for a fixed-size graph, prints the largest logit difference and the fraction of pixels whose
class agrees, and exits with status 1 below ``--min-agreement``, leaving ``--out`` as it was
(the model is written under a temporary name and moved there only once the check passes).

``--quantize int8`` writes a static int8 model (onnxruntime's QDQ format, per-channel weights)
whose activation ranges are calibrated on ``--calib-images`` images of the config's train split,
read through its test pipeline and data preprocessor (see cityseg/apis/onnx/quantize.py); the
check then compares the int8 model with PyTorch's float one.
"""
from __future__ import annotations

import argparse

from mmengine.config import DictAction

from cityseg.apis import init_model, read_image
from cityseg.apis.onnx import compare_with_pytorch, export_int8, export_onnx
from cityseg.models import predicting_segmentor
from cityseg.registry import DATASETS
from cityseg.utils.cli import run_cli
from cityseg.utils.errors import CitysegError
from cityseg.utils.fileio import atomic_output


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Export to ONNX and check it against PyTorch')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('--out', required=True, help='the .onnx file to write')
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048], metavar=('H', 'W'),
                        help='input height and width (the fixed size unless --dynamic)')
    parser.add_argument('--dynamic', action='store_true',
                        help='let batch size, height and width vary')
    parser.add_argument('--check-images', nargs='+',
                        help="images for the check (default: the config's test images)")
    parser.add_argument('--num-check', type=int, default=4,
                        help='how many test images to check on, without --check-images')
    parser.add_argument('--quantize', choices=['int8'],
                        help='write a static int8 model (QDQ, per-channel weights)')
    parser.add_argument('--calib-images', type=int, default=16,
                        help='train images that calibrate the int8 activation ranges')
    parser.add_argument('--min-agreement', type=float,
                        help='fail below this fraction of pixels with the same class '
                        '(default: 0.999, with --quantize int8 0.95)')
    parser.add_argument('--device', default='cpu', help='where PyTorch runs for the check')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args()


def dataset_images(model, num: int) -> list[str]:
    """The first ``num`` image paths of the config's test dataset."""
    dataset = DATASETS.build(model.cfg.test_dataloader.dataset)
    return [dataset.get_data_info(i)['img_path'] for i in range(min(num, len(dataset)))]


def main() -> None:
    args = parse_args()
    model = init_model(args.config, args.checkpoint, args.device, args.cfg_options)
    min_agreement = args.min_agreement
    if min_agreement is None:
        min_agreement = 0.95 if args.quantize else 0.999
    # Written under a temporary name and moved to --out only once the check passes: a model
    # that fails it is never left where a deployment would pick it up.
    with atomic_output(args.out) as tmp:
        if args.quantize:
            num = export_int8(model, tmp, args.calib_images, args.shape, args.dynamic)
            print(f'quantized to int8 with activation ranges from {num} train images')
        else:
            export_onnx(model, tmp, args.shape, args.dynamic)
        h, w = args.shape
        size = 'any batch, height and width' if args.dynamic else f'shape 1x3x{h}x{w}'
        print(f'exported {args.out}: input "image" float32 RGB NCHW 0..255, {size} (multiples '
              f'of {predicting_segmentor(model).data_preprocessor.size_divisor}); output '
              '"logits"')
        paths = args.check_images or dataset_images(model, args.num_check)
        shape = None if args.dynamic else args.shape
        stats = compare_with_pytorch(model, tmp, [read_image(p) for p in paths], shape)
        print(f'onnxruntime vs PyTorch on {len(paths)} images: max |logit difference| '
              f'{stats["max_abs_diff"]:.3g}, pixel agreement {100 * stats["agreement"]:.4f}%')
        if stats['agreement'] < min_agreement:
            raise CitysegError(f'agreement below {100 * min_agreement:.2f}%: '
                               f'{args.out} was not written (left as it was)')


if __name__ == '__main__':
    run_cli(main)
