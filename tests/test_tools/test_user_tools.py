"""The user tools on the synthetic dataset and a checkpoint trained in this session: infer.py
(images, folders, video, onnxruntime), export_onnx.py, analyze_logs.py, browse_dataset.py,
print_config.py."""
import glob
import json
import os.path as osp
import re
import shutil

import cv2
import mmcv
import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label, trainId2label
from helpers.cli import (
    QUICKSTART,
    read_scalars,
    run_tool,
    tiny_cfg_options,
    tool_process,
    val_files,
    written_files,
)
from helpers.tiny_checkpoint import model_options
from mmengine.config import Config

from cityseg.apis import inference_model, init_model

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

SUFFIXES = ('_color.png', '_overlay.png', '_labelIds.png', '_trainIds.png')


@pytest.fixture(scope='module')
def opts(synthetic_root, tmp_path_factory) -> list[str]:
    """--cfg-options for the tiny model and dataset."""
    return ['--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path_factory.mktemp('w')))]


@pytest.fixture(scope='module')
def val_paths(synthetic_root) -> list[str]:
    return val_files(synthetic_root)


def palette_colors(train_ids: np.ndarray) -> np.ndarray:
    """RGB colours from cityscapesscripts' table, pixel by pixel (the slow, obvious way)."""
    out = np.zeros((*train_ids.shape, 3), np.uint8)
    for t in np.unique(train_ids):
        out[train_ids == t] = trainId2label[int(t)].color if t != 255 else (0, 0, 0)
    return out


def read_rgb(path: str) -> np.ndarray:
    return mmcv.imread(path, channel_order='rgb')


def read_frames(path: str) -> list[np.ndarray]:
    capture = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            return frames
        frames.append(frame)


def test_infer_folder_writes_maps_colours_and_overlays(checkpoint, opts, val_paths, model,
                                                      tmp_path):
    src = tmp_path / 'in'
    (src / 'sub').mkdir(parents=True)
    shutil.copy(val_paths[0], src / 'a.png')
    shutil.copy(val_paths[1], src / 'sub' / 'b.png')
    (src / 'notes.txt').write_text('not an image')
    out = tmp_path / 'out'
    log = run_tool('infer.py', QUICKSTART, checkpoint, str(src), '--out', str(out),
                   '--recursive', '--batch-size', '2', '--opacity', '0.7', *opts)
    assert re.search(r'2/2 \[\d\d:\d\d<\d\d:\d\d', log), 'no progress bar with an ETA'
    written = sorted(str(p.relative_to(out)) for p in out.rglob('*.png'))
    assert written == sorted(f'{stem}{s}' for stem in ('a', 'sub/b') for s in SUFFIXES)
    for stem, path in (('a', val_paths[0]), ('sub/b', val_paths[1])):
        train_ids = mmcv.imread(str(out / f'{stem}_trainIds.png'), flag='unchanged')
        np.testing.assert_array_equal(train_ids, inference_model(model, path).train_ids)
        label_ids = mmcv.imread(str(out / f'{stem}_labelIds.png'), flag='unchanged')
        for t in np.unique(train_ids):
            assert (label_ids[train_ids == t] == trainId2label[int(t)].id).all()
        color = read_rgb(str(out / f'{stem}_color.png'))
        np.testing.assert_array_equal(color, palette_colors(train_ids))
        blend = 0.3 * read_rgb(path).astype(float) + 0.7 * color
        overlay = read_rgb(str(out / f'{stem}_overlay.png')).astype(float)
        assert np.abs(overlay - blend).max() <= 1


def test_infer_single_image_with_tta_and_slide(checkpoint, opts, val_paths, synthetic_root,
                                               tmp_path):
    out = tmp_path / 'out'
    run_tool('infer.py', QUICKSTART, checkpoint, val_paths[0], '--out', str(out), '--tta',
             '--mode', 'slide', '--crop-size', '32', '64', *opts, 'tta_cfg.scales=[0.5,1.0]')
    stem = osp.splitext(osp.basename(val_paths[0]))[0]
    assert [p.name for p in written_files(out)] == sorted(stem + s for s in SUFFIXES)
    expected = init_model(QUICKSTART, checkpoint, cfg_options={
        **model_options(synthetic_root), 'model.test_cfg': dict(
            mode='slide', crop_size=(32, 64), flip=True, scales=(0.5, 1.0))})
    np.testing.assert_array_equal(
        mmcv.imread(str(out / f'{stem}_trainIds.png'), flag='unchanged'),
        inference_model(expected, val_paths[0]).train_ids)


def test_infer_refuses_slide_windows_outside_slide_mode(checkpoint, opts, val_paths, tmp_path):
    log = run_tool('infer.py', QUICKSTART, checkpoint, val_paths[0], '--out', str(tmp_path),
                   '--crop-size', '32', '64', *opts, expect_failure=True)
    assert "--crop-size and --stride set the slide windows: add --mode slide (the mode is " \
           "'whole')" in log


def test_infer_video_gives_one_annotated_frame_per_frame(checkpoint, opts, val_paths, model,
                                                        tmp_path):
    images = [mmcv.imread(p) for p in val_paths[:2]]
    h, w = images[0].shape[:2]
    video = str(tmp_path / 'drive.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (w, h))
    for i in range(5):
        writer.write(images[i % 2])
    writer.release()
    out = tmp_path / 'out'
    run_tool('infer.py', QUICKSTART, checkpoint, video, '--out', str(out), '--batch-size', '2',
             *opts)
    assert [p.name for p in written_files(out)] == ['drive_overlay.mp4']
    frames = read_frames(video)
    annotated = read_frames(str(out / 'drive_overlay.mp4'))
    assert len(frames) == 5 and len(annotated) == 5
    expected = [r.overlay(f)[..., ::-1].astype(float)
                for f, r in zip(frames[:2], inference_model(model, frames[:2]))]
    for i, got in enumerate(annotated):
        assert got.shape == (h, w, 3)
        # mp4v is lossy: the frame's own overlay must be far closer than the plain frame or
        # the other image's overlay
        err = [np.abs(got - e).mean() for e in expected]
        assert err[i % 2] < 0.6 * min(err[1 - i % 2], np.abs(got - frames[i]).mean())


def test_infer_truncated_video_fails_unless_allowed(checkpoint, opts, val_paths, tmp_path):
    """A video cut short (a copy interrupted half-way) decodes without an OpenCV error: the
    frames read are compared with the count the header announces."""
    image = mmcv.imread(val_paths[0])
    h, w = image.shape[:2]
    whole = str(tmp_path / 'whole.avi')
    writer = cv2.VideoWriter(whole, cv2.VideoWriter_fourcc(*'MJPG'), 5, (w, h))
    for _ in range(10):
        writer.write(image)
    writer.release()
    video = tmp_path / 'cut.avi'
    data = (tmp_path / 'whole.avi').read_bytes()
    video.write_bytes(data[:len(data) * 6 // 10])
    readable = len(read_frames(str(video)))
    assert 0 < readable < 10  # the reference: what OpenCV itself decodes from the cut file
    log = run_tool('infer.py', QUICKSTART, checkpoint, str(video), '--out',
                   str(tmp_path / 'out'), *opts, expect_failure=True)
    assert f'video {video} ended after {readable} of the 10 frames its header announces' in log
    assert '--allow-short-video' in log
    # the failed run's folder holds only what it wrote (its manifest says so): reused
    log = run_tool('infer.py', QUICKSTART, checkpoint, str(video), '--out',
                   str(tmp_path / 'out'), '--allow-short-video', *opts)
    assert f'ended after {readable} of the 10 frames' in log
    assert len(read_frames(str(tmp_path / 'out' / 'cut_overlay.mp4'))) == readable


def test_infer_and_test_refuse_an_output_folder_holding_the_users_files(
        checkpoint, opts, val_paths, tmp_path):
    """Issue 23's rule for every folder a tool writes: never emptied nor written over."""
    mine = tmp_path / 'mine'
    mine.mkdir()
    (mine / 'notes.txt').write_text('mine')
    log = run_tool('infer.py', QUICKSTART, checkpoint, val_paths[0], '--out', str(mine),
                   *opts, expect_failure=True)
    assert f'error: {mine} holds files cityseg did not write (notes.txt;' in log
    log = run_tool('test.py', QUICKSTART, checkpoint, '--show-dir', str(mine), *opts,
                   expect_failure=True)
    assert f'error: {mine} holds files cityseg did not write (notes.txt;' in log
    assert 'Iter(test)' not in log and [p.name for p in mine.iterdir()] == ['notes.txt']


def test_export_onnx_then_infer_with_onnxruntime(checkpoint, opts, val_paths, tmp_path):
    onnx_file = str(tmp_path / 'model.onnx')
    log = run_tool('export_onnx.py', QUICKSTART, checkpoint, '--out', onnx_file, '--dynamic',
                   *opts)
    agreement = float(re.search(r'pixel agreement ([\d.]+)%', log).group(1))
    max_diff = float(re.search(r'max \|logit difference\| ([\de.+-]+)', log).group(1))
    assert 'on 2 images' in log and agreement >= 99.9 and max_diff < 1e-3
    src = tmp_path / 'in'
    src.mkdir()
    for p in val_paths:
        shutil.copy(p, src)
    results = {}
    for backend in ('pytorch', 'onnxruntime'):
        out = tmp_path / backend
        run_tool('infer.py', QUICKSTART, checkpoint, str(src), '--out', str(out), '--backend',
                 backend, '--onnx', onnx_file, *opts)
        results[backend] = [mmcv.imread(str(p), flag='unchanged')
                            for p in sorted(out.glob('*_trainIds.png'))]
    assert len(results['onnxruntime']) == len(val_paths)
    for a, b in zip(results['pytorch'], results['onnxruntime']):
        assert (a == b).mean() >= 0.999


def test_export_onnx_fails_below_the_agreement_bar(checkpoint, opts, tmp_path):
    """...and leaves nothing at --out: the failed model is not put where a deployment looks
    for it, and an earlier file there stays (issue 23)."""
    out = tmp_path / 'm.onnx'
    for earlier in (None, b'the model deployed before'):
        if earlier:
            out.write_bytes(earlier)
        proc = tool_process('export_onnx.py', QUICKSTART, checkpoint, '--out', str(out),
                            '--shape', '64', '128', '--num-check', '1', '--min-agreement',
                            '1.01', *opts)
        assert proc.returncode == 1
        assert f'error: agreement below 101.00%: {out} was not written' in proc.stderr
        assert 'shape 1x3x64x128' in proc.stdout
        assert [p.name for p in tmp_path.iterdir()] == ([out.name] if earlier else [])
    assert out.read_bytes() == b'the model deployed before'


def write_scalars(work_dir, records: list[dict]) -> None:
    path = work_dir / '20250101_000000' / 'vis_data' / 'scalars.json'
    path.parent.mkdir(parents=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))


def test_analyze_logs_plots_runs_and_summarises(tiny_work_dir, tmp_path):
    hand = tmp_path / 'hand'
    write_scalars(hand, [
        dict(step=10, loss=0.9, lr=1e-3, time=1.0), dict(step=10, mIoU=0.40),
        dict(step=20, loss=0.5, lr=5e-4, time=1.0), dict(step=20, mIoU=0.55),
        dict(step=30, loss=0.3, lr=1e-4, time=1.0), dict(step=30, mIoU=0.50)])
    fig = str(tmp_path / 'curves.png')
    log = run_tool('analysis_tools/analyze_logs.py', str(hand), tiny_work_dir, '--keys', 'loss',
                   'mIoU', 'lr', '--x-axis', 'minutes', '--out', fig)
    assert re.search(r'\| hand +\| 30 +\| 0\.5500 +\| 20 +\| 0\.3000 +\|', log)
    scalars = read_scalars(tiny_work_dir)
    best = max((r for r in scalars if 'mIoU' in r), key=lambda r: r['mIoU'])
    final_loss = [r['loss'] for r in scalars if 'loss' in r][-1]
    assert re.search(rf'\| tiny_checkpoint +\| 4 +\| {best["mIoU"]:.4f} +\| {best["step"]} +\| '
                     rf'{final_loss:.4f} +\|', log)
    assert mmcv.imread(fig).shape == (900, 800, 3)  # three 8 x 3 inch panels at 100 dpi


def test_analyze_logs_names_unknown_keys_and_empty_dirs(tmp_path):
    hand = tmp_path / 'hand'
    write_scalars(hand, [dict(step=1, loss=0.9, lr=1e-3)])
    for args, message in ([str(hand), '--keys', 'mDice'], "no run logged 'mDice'; logged "
                          "keys: ['loss', 'lr']"), ([str(tmp_path / 'empty')], 'no */vis_data'):
        proc = tool_process('analysis_tools/analyze_logs.py', *args, '--out',
                            str(tmp_path / 'f.png'))
        assert proc.returncode != 0 and message in proc.stderr


def test_browse_val_shows_the_files_as_loaded(opts, synthetic_root, val_paths, tmp_path):
    out = tmp_path / 'browse'
    run_tool('browse_dataset.py', QUICKSTART, '--out', str(out), '--split', 'val', '--n', '1',
             '--opacity', '0.5', *opts)
    (saved,) = written_files(out)
    stem = osp.splitext(osp.basename(val_paths[0]))[0]
    assert saved.name == f'0000_{stem}.png'
    panels = read_rgb(str(saved))
    image, label, blend = np.split(panels, 3, axis=1)
    np.testing.assert_array_equal(image, read_rgb(val_paths[0]))
    label_path = glob.glob(osp.join(synthetic_root, 'gtFine', 'val', '*',
                                    stem.replace('leftImg8bit', 'gtFine_labelIds.png')))[0]
    label_ids = mmcv.imread(label_path, flag='unchanged')
    train_ids = np.vectorize(lambda i: id2label[int(i)].trainId % 256)(label_ids)
    assert (train_ids == 255).any(), 'no void pixels: ignore colour untested'
    np.testing.assert_array_equal(label, palette_colors(train_ids))
    assert (blend[train_ids == 255] == 0).all()
    expected = (image.astype(float) + label) / 2
    assert np.abs(blend - expected)[train_ids != 255].max() <= 1


def test_browse_train_shows_augmented_crops(opts, tmp_path):
    out = tmp_path / 'browse'
    run_tool('browse_dataset.py', QUICKSTART, '--out', str(out), '--n', '3', *opts)
    saved = written_files(out)
    assert [p.name[:5] for p in saved] == ['0000_', '0001_', '0002_']
    allowed = {tuple(lb.color) for lb in trainId2label.values() if 0 <= lb.trainId < 255}
    for path in saved:
        panels = read_rgb(str(path))
        assert panels.shape == (64, 3 * 64, 3)  # the 64x64 random crop, three panels
        colors = {tuple(c) for c in panels[:, 64:128].reshape(-1, 3)}
        assert colors <= allowed | {(0, 0, 0)}


def test_print_config_resolves_bases_and_overrides(tmp_path):
    saved = tmp_path / 'resolved.py'
    log = run_tool('print_config.py', QUICKSTART, '--cfg-options', 'model.encoder_name=resnet34',
                   'train_cfg.max_iters=7', '--save', str(saved))
    assert "encoder_name='resnet34'" in log and 'tta_cfg' in log and '_base_' not in log
    cfg = Config.fromfile(str(saved))
    original = Config.fromfile(QUICKSTART)
    assert cfg.model.encoder_name == 'resnet34' and cfg.train_cfg.max_iters == 7
    assert cfg.model.arch == 'Unet' and cfg.test_dataloader == original.test_dataloader
