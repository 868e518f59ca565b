"""Rasterise Cityscapes polygons into ``*_gtFine_labelTrainIds.png`` with cityscapesscripts.

Optional: CityscapesDataset maps the shipped ``*_gtFine_labelIds.png`` on the fly; converted
files save that lookup and are what ``label_type='auto'`` prefers once every image has one.

Every ``gtFine/<split>/<city>/*_gtFine_polygons.json`` under DATA_ROOT goes through
cityscapesscripts' ``json2labelImg`` (encoding ``trainIds``), in parallel, with a progress bar.
Re-running is cheap and safe: a label newer than its polygons is kept, and each file is written
through ``cityseg.utils.fileio.atomic_output`` (temporary name, fsync, rename), so an interrupted
run never leaves a partial PNG.

Example::

    python tools/convert_cityscapes.py $CITYSCAPES_DATASET --nproc 8
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import os.path as osp
from glob import glob

from cityscapesscripts.preparation.json2labelImg import json2labelImg
from mmengine.utils import track_parallel_progress, track_progress

from cityseg.utils.cli import run_cli
from cityseg.utils.errors import CitysegRuntimeError
from cityseg.utils.fileio import atomic_output

POLYGON_SUFFIX = '_gtFine_polygons.json'
LABEL_SUFFIX = '_gtFine_labelTrainIds.png'


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('data_root', help='the Cityscapes root, holding gtFine/')
    parser.add_argument('--nproc', type=int, default=os.cpu_count(), help='worker processes')
    return parser.parse_args(argv)


def convert_one(json_path: str) -> bool:
    """Write the labelTrainIds PNG of one polygons file; False when it was already up to date."""
    out_path = json_path[:-len(POLYGON_SUFFIX)] + LABEL_SUFFIX
    if osp.exists(out_path) and osp.getmtime(out_path) >= osp.getmtime(json_path):
        return False
    messages = io.StringIO()
    try:  # cityscapesscripts prints, then exits; the label is written under a temporary name
        with contextlib.redirect_stdout(messages), atomic_output(out_path) as tmp_path:
            json2labelImg(json_path, str(tmp_path), 'trainIds')
    except (Exception, SystemExit) as exc:  # its printError() calls sys.exit
        printed = messages.getvalue().strip()
        reason = printed.splitlines()[0] if printed else repr(exc)
        raise CitysegRuntimeError(f'Cannot convert {json_path}: {reason}') from None
    return True


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    pattern = osp.join(args.data_root, 'gtFine', '*', '*', '*' + POLYGON_SUFFIX)
    json_paths = sorted(glob(pattern))
    if not json_paths:
        raise FileNotFoundError(f'No polygon files match {pattern}: is {args.data_root} the '
                                f'Cityscapes root (with gtFine_trainvaltest.zip unpacked)?')
    if args.nproc > 1:
        written = track_parallel_progress(convert_one, json_paths, args.nproc, chunksize=8)
    else:
        written = track_progress(convert_one, json_paths)
    print(f'\nwrote {sum(written)} {LABEL_SUFFIX} files, {len(written) - sum(written)} were '
          f'up to date ({len(json_paths)} polygon files)')


if __name__ == '__main__':
    run_cli(main)
