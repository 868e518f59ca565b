"""Publish a checkpoint as a folder that plain segmentation_models_pytorch loads.

    python tools/test.py CONFIG CKPT --work-dir WORK        # writes WORK/<time>/metrics.json
    python tools/publish_model.py CONFIG CKPT OUT_DIR --metrics WORK/<time>/metrics.json
    python -c "import segmentation_models_pytorch as smp; smp.from_pretrained('OUT_DIR')"
    python tools/test.py CONFIG --cfg-options model.pretrained=OUT_DIR   # the same mIoU

OUT_DIR holds config.json + model.safetensors (smp's save_pretrained), a model card (README.md:
metrics with the per-class table, dataset, preprocessing, training config), preprocessing.json,
cityseg_config.py and the slimmed checkpoint <name>-<sha256[:8]>.pth (no optimizer state).
``--push-to-hub REPO`` then uploads the folder (needs network and a Hugging Face token).
"""
from __future__ import annotations

import argparse

from mmengine.config import DictAction

from cityseg.apis.publish import publish_model, push_to_hub
from cityseg.utils.cli import run_cli


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Publish a cityseg checkpoint for smp')
    parser.add_argument('config', help='the config the checkpoint was trained with')
    parser.add_argument('checkpoint', help='checkpoint file')
    parser.add_argument('out_dir', help='folder to write: new, empty, or an earlier '
                        'published model (which is replaced); a folder holding other files '
                        'is refused')
    parser.add_argument('--metrics', required=True,
                        help='the metrics.json tools/test.py wrote for this checkpoint')
    parser.add_argument('--dataset', help="dataset name for the model card (default: the "
                        "test dataset's type)")
    parser.add_argument('--push-to-hub', metavar='REPO', help='upload to this hub repo')
    parser.add_argument('--private', action='store_true', help='create the hub repo private')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    out = publish_model(args.config, args.checkpoint, args.out_dir, args.metrics,
                        dataset=args.dataset, cfg_options=args.cfg_options)
    print(f'published to {out}')
    if args.push_to_hub:
        print(f'uploaded: {push_to_hub(str(out), args.push_to_hub, args.private)}')


if __name__ == '__main__':
    run_cli(main)
