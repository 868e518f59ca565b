"""Save what the data pipeline feeds the model, with the label drawn over it.

    python tools/browse_dataset.py configs/deeplabv3plus_effb3_512.py --out browse/ --n 20

Each sample is run through the split's full pipeline (augmentation included, for train) and
drawn from the packed tensors, so crops, flips, colour jitter and padding show exactly as the
model gets them. ``<out>/<index>_<stem>.png`` holds three panels side by side: the image, the
label in the dataset's palette (its metainfo's), and the label blended over the image; ignored
pixels (255: void classes, crop padding) are black in both label panels.
"""
from __future__ import annotations

import argparse
import os.path as osp

import numpy as np
from mmengine.config import DictAction
from tqdm import tqdm

from cityseg.datasets.labels import IGNORE_INDEX
from cityseg.registry import DATASETS
from cityseg.utils import load_config
from cityseg.utils.cli import run_cli
from cityseg.utils.fileio import write_image
from cityseg.utils.output_dir import output_dir
from cityseg.visualization import Palette, colorize, overlay, palette_of


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Save pipeline outputs with labels overlaid')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--out', required=True, help='output folder: new, empty, or an '
                        'earlier --out of browse_dataset.py (replaced)')
    parser.add_argument('--split', choices=['train', 'val', 'test'], default='train',
                        help='whose dataloader (dataset and pipeline) to browse')
    parser.add_argument('--n', type=int, default=20, help='number of samples to save')
    parser.add_argument('--opacity', type=float, default=0.5, help='label weight in the blend')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys')
    return parser.parse_args()


def render(packed: dict, opacity: float, palette: Palette) -> np.ndarray:
    """Image | label | blend, RGB, from one ``PackSegInputs`` output."""
    image = packed['inputs'].numpy().transpose(1, 2, 0)[..., ::-1]  # CHW BGR -> HWC RGB
    sample = packed['data_samples']
    if 'gt_sem_seg' not in sample:
        return image
    label = sample.gt_sem_seg.data[0].numpy().astype(np.uint8)
    blend = overlay(image, label, opacity, palette)
    blend[label == IGNORE_INDEX] = 0
    return np.concatenate([image, colorize(label, palette), blend], axis=1)


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, required=(f'{args.split}_dataloader',))
    dataset = DATASETS.build(cfg[f'{args.split}_dataloader'].dataset)
    palette = palette_of(dataset.metainfo)
    count = min(args.n, len(dataset))
    # a folder holding the user's files is refused, an earlier output replaced
    with output_dir(args.out, 'dataset pictures (tools/browse_dataset.py --out)'):
        for i in tqdm(range(count), unit='sample', desc=f'browse {args.split}'):
            packed = dataset[i]
            stem = osp.splitext(osp.basename(packed['data_samples'].img_path))[0]
            path = osp.join(args.out, f'{i:04d}_{stem}.png')
            write_image(render(packed, args.opacity, palette)[..., ::-1], path)
    print(f'{count} samples written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
