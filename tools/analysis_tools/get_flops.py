"""Model complexity: FLOPs (multiply-adds, as fvcore counts) and parameters of a network.

    python tools/analysis_tools/get_flops.py configs/deeplabv3plus_effb3_512.py --shape 1024 2048

Counts the network alone (the one the model predicts with: ``model.net``, or a self-training
model's student or teacher, the same network) on one image of ``--shape``, with mmengine's
``get_model_complexity_info`` (a jit-traced counter derived from fvcore).
"""
from __future__ import annotations

import argparse
import copy

import torch
from mmengine.analysis import get_model_complexity_info
from mmengine.config import Config, DictAction

from cityseg.apis import init_model
from cityseg.models import predicting_segmentor
from cityseg.utils import load_config
from cityseg.utils.cli import run_cli
from cityseg.utils.segmentor_cfg import drop_encoder_weights, segmentor_cfg


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='FLOPs and parameters of a segmentor')
    parser.add_argument('config')
    parser.add_argument('--shape', type=int, nargs=2, default=[1024, 2048], metavar=('H', 'W'),
                        help='input height and width (default: a full Cityscapes image)')
    parser.add_argument('--table', action='store_true', help='print the per-module table')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args()


def complexity(cfg: Config, shape: tuple[int, int], show_table: bool = False) -> dict:
    """FLOPs and parameter count of ``cfg.model``'s network on a ``(1, 3, H, W)`` input."""
    # Complexity does not depend on the weights: no download.
    cfg = copy.deepcopy(cfg)
    drop_encoder_weights(cfg)
    net = predicting_segmentor(init_model(cfg)).net
    with torch.no_grad():
        return get_model_complexity_info(net, inputs=(torch.zeros(1, 3, *shape),),
                                         show_table=show_table, show_arch=False)


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options)
    info = complexity(cfg, tuple(args.shape), show_table=args.table)
    h, w = args.shape
    if args.table:
        print(info['out_table'])
    section = segmentor_cfg(cfg.model)[1]
    print(f'{section.arch} / {section.encoder_name}, input 1x3x{h}x{w}')
    print(f"FLOPs: {info['flops_str']}  parameters: {info['params_str']}")


if __name__ == '__main__':
    run_cli(main)
