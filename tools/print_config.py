"""Print a config fully resolved: ``_base_`` files merged, variables and overrides applied.

    python tools/print_config.py configs/quickstart_synthetic.py --cfg-options model.arch=FPN
    python tools/print_config.py configs/deeplabv3plus_effb3_512.py --save resolved.py
"""
from __future__ import annotations

import argparse

from mmengine.config import DictAction

from cityseg.utils import load_config
from cityseg.utils.cli import run_cli


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Print the fully resolved config')
    parser.add_argument('config', help='config file path')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, as tools/train.py takes them')
    parser.add_argument('--save', help='also write the resolved config to this file '
                        '(.py, .json or .yaml); it loads back without its _base_ files')
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    cfg = load_config(args.config, args.cfg_options, required=())
    print(cfg.pretty_text)
    if args.save:
        cfg.dump(args.save)
        print(f'saved to {args.save}')


if __name__ == '__main__':
    run_cli(main)
