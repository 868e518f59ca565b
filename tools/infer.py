"""Segment an image, a folder of images or a video with a trained checkpoint (or its ONNX export).

    python tools/infer.py CONFIG CKPT street.png --out preds/
    python tools/infer.py CONFIG CKPT photos/ --out preds/ --recursive --batch-size 4 --tta
    python tools/infer.py CONFIG CKPT dashcam.mp4 --out preds/ --opacity 0.6
    python tools/infer.py CONFIG - photos/ --out preds/ --backend onnxruntime --onnx model.onnx
    python tools/infer.py CONFIG_WITH_MODEL_PRETRAINED - street.png --out preds/

A checkpoint of ``-`` means none: the config's ``model.pretrained`` network (a folder written by
tools/publish_model.py or smp's save_pretrained, or a hub id) as it is, or an ONNX export.

Images give ``<stem>_color.png`` (in the config's dataset palette), ``<stem>_overlay.png``,
``<stem>_trainIds.png`` (class indices) and, for a model of Cityscapes' 19 classes,
``<stem>_labelIds.png`` (Cityscapes label ids; other classes, CamVid's, have none), under the
same sub-folders as the input; a video gives ``<stem>_overlay.mp4`` with one annotated frame per
input frame. ``--uncertainty SCORE ...`` (msp, maxlogit, entropy, energy, sml) adds, per image,
``<stem>_<score>.png`` (16-bit; its value range in the PNG's text chunks, see
cityseg/visualization/score_maps.py) and ``<stem>_<score>_color.png``; for a video, the same two
files per frame in ``<stem>_scores/``, named by the frame's index (``000000_<score>.png``,
``000000_<score>_color.png``, ...), so that no score value is lost to video compression.
``sml`` needs ``--sml-stats`` (the sml_stats.json of tools/analysis_tools/anomaly.py). A
checkpoint's temperature (tools/analysis_tools/calibration.py --fit-temperature) applies to
every score. A self-training checkpoint (configs/semi/, configs/uda/) predicts with the network
its ``semi_cfg.predict_on`` names.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import sys
from collections.abc import Iterator

import cv2
import numpy as np
from mmengine.config import Config, DictAction
from tqdm import tqdm

from cityseg.apis import inference_model, init_model, read_image
from cityseg.apis.onnx import use_onnxruntime
from cityseg.models import predicting_segmentor
from cityseg.models.uncertainty import SCORES
from cityseg.utils import apply_tta, config_section, load_config, resolve_checkpoint
from cityseg.utils.cli import run_cli
from cityseg.utils.errors import CitysegError
from cityseg.utils.fileio import write_image
from cityseg.utils.output_dir import check_output_dir, output_dir
from cityseg.utils.segmentor_cfg import drop_encoder_weights
from cityseg.visualization import write_prediction_pictures
from cityseg.visualization.score_maps import write_score_map

IMAGE_EXTS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')
OUTPUT_KIND = 'predictions (tools/infer.py --out)'
VIDEO_EXTS = ('.mp4', '.avi', '.mov', '.mkv', '.webm', '.m4v', '.mpg', '.mpeg')


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description='Segment images, a folder or a video')
    parser.add_argument('config', help='config file path')
    parser.add_argument('checkpoint', help="checkpoint file, or '-' for none (with --backend "
                        "onnxruntime, or a config that sets model.pretrained)")
    parser.add_argument('input', help='an image, a folder of images, or a video')
    parser.add_argument('--out', required=True, help='output folder: new, empty, or an '
                        'earlier --out of infer.py (replaced); one holding other files is '
                        'refused')
    parser.add_argument('--recursive', action='store_true', help='search sub-folders too')
    parser.add_argument('--batch-size', type=int, default=1, help='images per forward pass')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda', 'cuda:1'...")
    parser.add_argument('--opacity', type=float, default=0.5,
                        help='weight of the palette colours in the overlays (0..1)')
    parser.add_argument('--tta', action='store_true',
                        help="test-time augmentation: flips and scales from the config's tta_cfg")
    parser.add_argument('--mode', choices=['whole', 'slide'],
                        help="inference mode (default: the config's test_cfg.mode)")
    parser.add_argument('--crop-size', type=int, nargs=2, metavar=('H', 'W'),
                        help="slide window (default: the config's crop_size)")
    parser.add_argument('--stride', type=int, nargs=2, metavar=('H', 'W'),
                        help="slide step (default: the config's test_cfg.stride, else the window)")
    parser.add_argument('--allow-short-video', action='store_true',
                        help='exit 0 when a video ends before the frame count its header '
                        'announces (otherwise an error, e.g. for a truncated file)')
    parser.add_argument('--backend', choices=['pytorch', 'onnxruntime'], default='pytorch')
    parser.add_argument('--onnx', help='the model exported by tools/export_onnx.py, for '
                        '--backend onnxruntime')
    parser.add_argument('--uncertainty', nargs='+', choices=SCORES, metavar='SCORE',
                        help=f'write anomaly score maps beside each image prediction: '
                        f'{", ".join(SCORES)}')
    parser.add_argument('--sml-stats', help="the sml_stats.json the 'sml' score needs "
                        '(written by tools/analysis_tools/anomaly.py)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.test_cfg.scales=[1.0,1.5]')
    args = parser.parse_args()
    if args.backend == 'onnxruntime' and not args.onnx:
        parser.error('--backend onnxruntime needs --onnx FILE')
    if not 0 <= args.opacity <= 1:
        parser.error(f'--opacity must be in 0..1, got {args.opacity}')
    if 'sml' in (args.uncertainty or ()) and not args.sml_stats:
        parser.error('--uncertainty sml needs --sml-stats FILE (tools/analysis_tools/anomaly.py '
                     'writes sml_stats.json)')
    return args


def inference_config(args: argparse.Namespace) -> Config:
    """The config with --cfg-options, --tta, --mode and the slide windows applied to
    ``model.test_cfg``."""
    cfg = load_config(args.config, args.cfg_options)
    if args.tta:
        apply_tta(cfg)
    test_cfg = config_section(cfg.model, 'test_cfg')
    if args.uncertainty:
        test_cfg['scores'] = list(args.uncertainty)
    if args.sml_stats:
        test_cfg['sml_stats'] = args.sml_stats
    if args.mode:
        test_cfg['mode'] = args.mode
    if (args.crop_size or args.stride) and test_cfg.get('mode') != 'slide':
        raise ValueError('--crop-size and --stride set the slide windows: add --mode slide '
                         f"(the mode is {test_cfg.get('mode', 'whole')!r})")
    if test_cfg.get('mode') == 'slide':
        crop = args.crop_size or test_cfg.get('crop_size') or cfg.get('crop_size')
        if crop is None:
            raise ValueError('slide mode needs --crop-size H W (the config has no crop_size)')
        test_cfg['crop_size'] = tuple(crop)
        if args.stride:
            test_cfg['stride'] = tuple(args.stride)
    return cfg


def find_images(folder: str, recursive: bool) -> list[str]:
    """Image files in ``folder`` (and its sub-folders), sorted by path."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        found += [osp.join(root, f) for f in files if f.lower().endswith(IMAGE_EXTS)]
        if not recursive:
            break
    if not found:
        raise FileNotFoundError(f'no {"/".join(IMAGE_EXTS)} images in {folder}'
                                + ('' if recursive else ' (sub-folders need --recursive)'))
    return sorted(found)


def write_predictions(model, paths: list[str], root: str, out_dir: str, batch_size: int,
                      opacity: float) -> None:
    """Colour mask, overlay and id PNGs (and score maps) for every image, mirroring
    sub-folders of ``root``."""
    num_classes = predicting_segmentor(model).num_classes
    with tqdm(total=len(paths), unit='img', desc='infer') as bar:
        for start in range(0, len(paths), batch_size):
            chunk = paths[start:start + batch_size]
            images = [read_image(p) for p in chunk]
            for path, image, result in zip(chunk, images,
                                           inference_model(model, images, batch_size)):
                rel = osp.relpath(osp.splitext(path)[0], root)
                prefix = osp.join(out_dir, rel)
                write_prediction_pictures(prefix, image[..., ::-1], result.train_ids, opacity,
                                          result.palette)
                if result.has_label_ids:
                    write_image(result.label_ids, f'{prefix}_labelIds.png')
                write_image(result.train_ids, f'{prefix}_trainIds.png')
                for name, score in result.scores.items():
                    write_score_map(prefix, name, score, num_classes)
            bar.update(len(chunk))


def read_frames(capture: cv2.VideoCapture, batch_size: int) -> Iterator[list[np.ndarray]]:
    """The video's BGR frames, ``batch_size`` at a time."""
    batch = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        batch.append(frame)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def video_prefix(path: str, out_dir: str) -> str:
    """``<out_dir>/<stem>``: what the outputs of the video ``path`` are named after."""
    return osp.join(out_dir, osp.splitext(osp.basename(path))[0])


def write_video(model, path: str, out_dir: str, batch_size: int,
                opacity: float) -> tuple[str, int, int | None]:
    """``<stem>_overlay.mp4``: every frame of ``path`` with its prediction overlaid; with
    score maps (``--uncertainty``), each frame's in ``<stem>_scores/<index>_<score>.png``
    (and ``_color.png``).

    Returns the output path, the frames read and the frames the container announces (None when
    it does not say): a truncated file ends early without an error from OpenCV.
    """
    capture = cv2.VideoCapture(path)
    if not capture.isOpened():
        raise ValueError(f'cannot open video {path} (unsupported codec or not a video)')
    fps = capture.get(cv2.CAP_PROP_FPS) or 25.0
    size = (int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)))
    total = int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) or None  # some containers don't say
    stem = video_prefix(path, out_dir)
    out_path = f'{stem}_overlay.mp4'
    num_classes = predicting_segmentor(model).num_classes
    writer = cv2.VideoWriter(out_path, cv2.VideoWriter_fourcc(*'mp4v'), fps, size)
    if not writer.isOpened():
        raise OSError(f'cannot write video {out_path} with the mp4v codec')
    read = 0
    try:
        with tqdm(total=total, unit='frame', desc='infer') as bar:
            for frames in read_frames(capture, batch_size):
                results = inference_model(model, frames, batch_size)
                for index, (frame, result) in enumerate(zip(frames, results), start=read):
                    writer.write(np.ascontiguousarray(result.overlay(frame, opacity)[..., ::-1]))
                    if result.scores:
                        os.makedirs(f'{stem}_scores', exist_ok=True)
                    for name, score in result.scores.items():
                        write_score_map(osp.join(f'{stem}_scores', f'{index:06d}'), name, score,
                                        num_classes)
                bar.update(len(frames))
                read += len(frames)
    finally:
        capture.release()
        writer.release()
    return out_path, read, total


def main() -> None:
    args = parse_args()
    check_output_dir(args.out, OUTPUT_KIND)  # before the model is loaded: a refusal costs seconds
    cfg = inference_config(args)
    if args.backend == 'onnxruntime':
        drop_encoder_weights(cfg)  # the ONNX file holds every weight
        model = init_model(cfg, None, args.device)
        use_onnxruntime(model, args.onnx)
    else:
        model = init_model(cfg, resolve_checkpoint(args.checkpoint, cfg, args.config),
                           args.device)
    if not osp.exists(args.input):
        raise FileNotFoundError(f'input not found: {args.input}')
    # a folder holding the user's files is refused, an earlier output replaced
    with output_dir(args.out, OUTPUT_KIND):
        write_outputs(model, args)


def write_outputs(model, args: argparse.Namespace) -> None:
    """The predictions of ``args.input`` (a folder, a video or an image) into ``args.out``."""
    if osp.isdir(args.input):
        paths = find_images(args.input, args.recursive)
        write_predictions(model, paths, args.input, args.out, args.batch_size, args.opacity)
        print(f'{len(paths)} predictions written to {args.out}')
    elif args.input.lower().endswith(VIDEO_EXTS):
        out_path, read, total = write_video(model, args.input, args.out, args.batch_size,
                                            args.opacity)
        scores = (f'; score maps of every frame in {video_prefix(args.input, args.out)}_scores'
                  if args.uncertainty else '')
        print(f'annotated video written to {out_path} ({read} frames){scores}')
        if total is not None and read < total:
            short = (f'video {args.input} ended after {read} of the {total} frames its header '
                     f'announces (truncated or corrupt?); {out_path} holds only those {read}')
            if not args.allow_short_video:
                raise CitysegError(f'{short}. Pass --allow-short-video to accept it.')
            print(f'warning: {short}', file=sys.stderr)
    else:
        write_predictions(model, [args.input], osp.dirname(args.input), args.out, 1,
                          args.opacity)
        print(f'prediction written to {args.out}')


if __name__ == '__main__':
    run_cli(main)
