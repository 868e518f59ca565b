"""Drawing, the visualizer, its vis backends and curve reading, against values computed by
hand."""
import errno
import glob
import io
import json
import os.path as osp
import time
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from helpers.engine import tiny_config, train
from helpers.seg_folder_tree import FIVE_PALETTE
from mmengine.runner import Runner
from mmengine.structures import PixelData
from mmengine.visualization import Visualizer
from PIL import Image
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from cityseg.datasets.labels import PALETTE
from cityseg.engine.hooks import SegVisualizationHook, TrainingCurvesHook
from cityseg.structures import SegDataSample
from cityseg.utils import fileio
from cityseg.visualization import (
    SegLocalVisualizer,
    colorize,
    comparison_grid,
    load_scalars,
    overlay,
    palette_of,
    plot_series,
    prediction_pictures,
    series,
    training_minutes,
    write_prediction_pictures,
)


def test_grid_layout_colours_and_ignore():
    image = np.full((4, 8, 3), 100, np.uint8)
    gt = np.zeros((4, 8), np.uint8)
    gt[:, 4:] = 255  # right half ignored
    pred = np.full((4, 8), 10, np.uint8)  # sky
    grid = comparison_grid([(image, gt, pred)] * 2, tile_width=8, opacity=0.5)
    assert grid.shape == (8, 32, 3)
    tiles = [grid[:4, 8 * i:8 * (i + 1)] for i in range(4)]
    assert (tiles[0] == 100).all()
    assert (tiles[1][:, :4] == PALETTE[0]).all() and (tiles[1][:, 4:] == 0).all()
    assert (tiles[2] == PALETTE[10]).all()
    expected = np.round(100 * 0.5 + np.array(PALETTE[10]) * 0.5)
    assert (tiles[3] == expected).all()
    np.testing.assert_array_equal(grid[4:], grid[:4])


def test_grid_resizes_tiles_keeping_aspect():
    image = np.zeros((64, 128, 3), np.uint8)
    label = np.zeros((64, 128), np.uint8)
    assert comparison_grid([(image, label, label)] * 3, tile_width=32).shape == (48, 128, 3)


def test_overlay_leaves_ignored_pixels_alone():
    image = np.full((1, 2, 3), 40, np.uint8)
    out = overlay(image, np.array([[255, 0]], np.uint8), opacity=1.0)
    assert out[0, 0].tolist() == [40, 40, 40] and out[0, 1].tolist() == list(PALETTE[0])


def write_run(work_dir, timestamp, records):
    vis = work_dir / timestamp / 'vis_data'
    vis.mkdir(parents=True)
    (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))


def test_resumed_runs_replace_the_steps_an_interrupted_run_lost(tmp_path):
    write_run(tmp_path, '20250101_000000', [
        dict(step=1, loss=3.0, lr=0.1), dict(step=2, loss=2.0, lr=0.1), dict(step=2, mIoU=0.1),
        dict(step=3, loss=9.0, lr=0.1)])  # crashed after iteration 3, checkpoint at 2
    write_run(tmp_path, '20250101_010000', [
        dict(step=3, loss=1.5, lr=0.05), dict(step=4, loss=1.0, lr=0.05),
        dict(step=4, mIoU=0.3)])
    train, val = load_scalars(str(tmp_path))
    assert [(r['step'], r['loss']) for r in train] == [(1, 3.0), (2, 2.0), (3, 1.5), (4, 1.0)]
    assert [(r['step'], r['mIoU']) for r in val] == [(2, 0.1), (4, 0.3)]
    assert series(train, ['loss', 'absent']) == {'loss': ((1, 2, 3, 4), (3.0, 2.0, 1.5, 1.0))}
    plot_series(series(train, ['loss']), str(tmp_path / 'loss.png'), 't', 'x', 'y', logy=True)
    assert Image.open(tmp_path / 'loss.png').size == (800, 450)


def test_training_minutes_sum_each_windows_iteration_time():
    # logged every 25 iterations, each record the mean seconds per iteration of its window;
    # a validation record (no `time`) in between counts nothing
    train = [dict(step=25, time=1.2, loss=2.0), dict(step=50, time=2.4, loss=1.0),
             dict(step=50, mIoU=0.2), dict(step=75, time=0.6)]
    steps, minutes = training_minutes(train)
    assert steps == [0, 25, 50, 75]
    np.testing.assert_allclose(minutes, [0, 0.5, 1.5, 1.75])  # 30 s, + 60 s, + 15 s
    with pytest.raises(KeyError, match='no per-iteration `time`'):
        training_minutes([dict(step=1, loss=1.0)])


def test_curves_hook_without_local_backend_says_what_to_add(tmp_path):
    runner = SimpleNamespace(work_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='LocalVisBackend'):
        TrainingCurvesHook().after_val_epoch(runner, {})


def read_rgb(path) -> np.ndarray:
    return np.asarray(Image.open(path).convert('RGB'))


def test_prediction_pictures_colour_and_blend_by_hand(tmp_path):
    image = np.full((2, 3, 3), 60, np.uint8)
    pred = np.array([[0, 10, 255], [13, 13, 0]], np.uint8)
    pictures = prediction_pictures(image, pred, opacity=0.25)
    expected_color = np.array([[PALETTE[0], PALETTE[10], (0, 0, 0)],
                               [PALETTE[13], PALETTE[13], PALETTE[0]]], np.uint8)
    np.testing.assert_array_equal(pictures['color'], expected_color)
    expected_overlay = np.round(0.75 * 60 + 0.25 * expected_color.astype(float))
    expected_overlay[0, 2] = 60  # ignore: the image itself
    np.testing.assert_array_equal(pictures['overlay'], expected_overlay)
    write_prediction_pictures(str(tmp_path / 'sub' / 'frame'), image, pred, opacity=0.25)
    np.testing.assert_array_equal(read_rgb(tmp_path / 'sub' / 'frame_color.png'), expected_color)
    np.testing.assert_array_equal(read_rgb(tmp_path / 'sub' / 'frame_overlay.png'),
                                  expected_overlay)


def seg_sample(gt: np.ndarray, pred: np.ndarray) -> SegDataSample:
    return SegDataSample(gt_sem_seg=PixelData(data=torch.from_numpy(gt)[None]),
                         pred_sem_seg=PixelData(data=torch.from_numpy(pred)[None]))


def test_add_datasample_draws_the_grid_and_hands_it_to_the_backends(tmp_path):
    visualizer = SegLocalVisualizer(name=f'visualizer:{tmp_path}', save_dir=str(tmp_path),
                                    vis_backends=[dict(type='LocalVisBackend')])
    image = np.full((4, 8, 3), 100, np.uint8)
    gt = np.zeros((4, 8), np.uint8)
    gt[:, 4:] = 255
    pred = np.full((4, 8), 10, np.uint8)
    rng = np.random.default_rng(0)
    image2 = rng.integers(0, 256, (4, 8, 3), dtype=np.uint8)
    gt2, pred2 = (rng.integers(0, 19, (4, 8), dtype=np.uint8) for _ in range(2))
    out_file = tmp_path / 'visuals' / '7.png'
    grid = visualizer.add_datasample('val_visuals', [image, image2],
                                     [seg_sample(gt, pred), seg_sample(gt2, pred2)], step=7,
                                     out_file=str(out_file), tile_width=8, opacity=0.5)
    np.testing.assert_array_equal(
        grid, comparison_grid([(image, gt, pred), (image2, gt2, pred2)], 8, 0.5))
    # The first row by hand: image | ground truth (right half ignored) | sky | blend.
    assert grid.shape == (8, 32, 3)
    assert (grid[:4, :8] == 100).all()
    assert (grid[:4, 8:12] == PALETTE[0]).all() and (grid[:4, 12:16] == 0).all()
    assert (grid[:4, 16:24] == PALETTE[10]).all()
    assert (grid[:4, 24:] == np.round(50 + np.array(PALETTE[10]) * 0.5)).all()
    # LocalVisBackend wrote it as <save_dir>/vis_data/vis_image/<name>_<step>.png; out_file too.
    (recorded,) = glob.glob(str(tmp_path / '**' / 'val_visuals_7.png'), recursive=True)
    np.testing.assert_array_equal(read_rgb(recorded), grid)
    np.testing.assert_array_equal(read_rgb(out_file), grid)
    # One image and one sample need no lists.
    single = visualizer.add_datasample('one', image, seg_sample(gt, pred), tile_width=8)
    np.testing.assert_array_equal(single, grid[:4])


def test_a_full_disk_names_the_picture_and_leaves_no_empty_file(tmp_path, monkeypatch):
    """Issue 23: ENOSPC while drawing during validation was a bare OSError, and left a 0-byte
    visuals/3.png. Pictures are written atomically (utils.fileio.write_image)."""
    visualizer = SegLocalVisualizer(name=f'visualizer:{tmp_path}')
    real_open = open

    def full_disk_open(path, mode='r', *args, **kwargs):
        file = real_open(path, mode, *args, **kwargs)  # created, then the disk is full
        if 'x' in mode or 'w' in mode:
            file.close()
            raise OSError(errno.ENOSPC, 'No space left on device')
        return file

    monkeypatch.setattr(fileio, 'open', full_disk_open, raising=False)
    out_file = tmp_path / 'visuals' / '3.png'
    label = np.zeros((4, 8), np.uint8)
    with pytest.raises(OSError, match=rf'No space left on device writing {out_file} \('):
        visualizer.add_datasample('val_visuals', np.zeros((4, 8, 3), np.uint8),
                                  seg_sample(label, label), out_file=str(out_file))
    assert list((tmp_path / 'visuals').iterdir()) == []


def test_add_datasample_names_what_is_missing(tmp_path):
    visualizer = SegLocalVisualizer(name=f'visualizer:{tmp_path}')
    image = np.zeros((2, 2, 3), np.uint8)
    label = np.zeros((2, 2), np.uint8)
    no_pred = SegDataSample(gt_sem_seg=PixelData(data=torch.from_numpy(label)[None]))
    with pytest.raises(ValueError, match="'grid'.*no pred_sem_seg"):
        visualizer.add_datasample('grid', image, no_pred)
    with pytest.raises(ValueError, match='2 images and 1 data samples'):
        visualizer.add_datasample('grid', [image, image], [seg_sample(label, label)])


def test_visualization_hook_refuses_a_visualizer_that_cannot_draw_grids(tmp_path):
    runner = SimpleNamespace(visualizer=Visualizer(name=f'plain:{tmp_path}'))
    with pytest.raises(TypeError, match="Visualizer: set the config's visualizer.type to "
                                        "'SegLocalVisualizer'"):
        SegVisualizationHook().before_run(runner)


@pytest.mark.integration
def test_training_grids_reach_tensorboard_and_the_visuals_folder(synthetic_root, tmp_path):
    """A real (2-iteration) run with LocalVisBackend and TensorboardVisBackend: the grid
    validation drew is an image event in TensorBoard, the same picture as
    work_dir/visuals/<iter>.png and as LocalVisBackend's copy."""
    work_dir = str(tmp_path)
    cfg = tiny_config(synthetic_root, work_dir, 'train_cfg.max_iters=2',
                      'param_scheduler.0.end=2')
    cfg.visualizer.vis_backends = [dict(type='LocalVisBackend'),
                                   dict(type='TensorboardVisBackend')]
    cfg.custom_hooks = [dict(type='SegVisualizationHook', num_images=2, tile_width=64)]
    runner = train(cfg)
    assert isinstance(runner.visualizer, SegLocalVisualizer)
    runner.visualizer.close()  # flush the TensorBoard writer

    # 2 validation images of 128x64, tiles 64x32: 4 tiles wide, 2 rows.
    png = read_rgb(osp.join(work_dir, 'visuals', '2.png'))
    assert png.shape == (64, 256, 3)
    (event_file,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'events.out.tfevents.*'))
    events = EventAccumulator(event_file, size_guidance={'images': 0})
    events.Reload()
    assert 'val_visuals' in events.Tags()['images']
    (image,) = events.Images('val_visuals')
    assert (image.step, image.width, image.height) == (2, 256, 64)
    decoded = np.asarray(Image.open(io.BytesIO(image.encoded_image_string)).convert('RGB'))
    np.testing.assert_array_equal(decoded, png)
    (local,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'vis_image', 'val_visuals_2.png'))
    np.testing.assert_array_equal(read_rgb(local), png)
    # The scalars still reach both backends.
    assert 'loss' in events.Tags()['scalars']


def test_a_second_runner_in_one_process_writes_into_its_own_work_dir(synthetic_root, tmp_path):
    """Train, then evaluate, in one notebook: mmengine's Visualizer is a per-name singleton, so
    the config must not fix its name, or the second Runner reuses the first's visualizer and
    writes its scalars and pictures into the first run's folder."""
    runners = []
    for name in ('train', 'test'):
        cfg = tiny_config(synthetic_root, str(tmp_path / name))
        cfg.visualizer.pop('name')  # as the configs give it; tiny_config names it per work dir
        if runners:  # the Runner names it after the config and the second it was built in
            built = runners[0].timestamp
            while time.strftime('%Y%m%d_%H%M%S') == built:
                time.sleep(0.05)
        runners.append(Runner.from_cfg(cfg))
    first, second = (runner.visualizer for runner in runners)
    assert second is not first
    (backend,) = second._vis_backends.values()
    assert backend._save_dir.startswith(str(tmp_path / 'test'))


# Five classes with colours of their own (none of them Cityscapes').


def test_grid_and_pictures_take_the_palette_given():
    image = np.full((2, 4, 3), 100, np.uint8)
    gt = np.array([[0, 1, 2, 255], [3, 4, 4, 0]], np.uint8)
    pred = np.array([[4, 3, 2, 1], [0, 0, 255, 4]], np.uint8)
    by_hand = {c: np.array(FIVE_PALETTE[c]) for c in range(5)} | {255: np.zeros(3)}
    gt_colours = np.array([[by_hand[v] for v in row] for row in gt], np.uint8)
    pred_colours = np.array([[by_hand[v] for v in row] for row in pred], np.uint8)
    blend = np.round(0.5 * 100 + 0.5 * pred_colours.astype(float))
    blend[pred == 255] = 100
    grid = comparison_grid([(image, gt, pred)], tile_width=4, opacity=0.5, palette=FIVE_PALETTE)
    np.testing.assert_array_equal(grid, np.concatenate([image, gt_colours, pred_colours, blend],
                                                       axis=1))
    pictures = prediction_pictures(image, pred, 0.5, palette=FIVE_PALETTE)
    np.testing.assert_array_equal(pictures['color'], pred_colours)
    np.testing.assert_array_equal(pictures['overlay'], blend)


def test_add_datasample_draws_in_the_dataset_meta_palette(tmp_path):
    visualizer = SegLocalVisualizer(name=f'visualizer:{tmp_path}')
    image = np.full((2, 4, 3), 100, np.uint8)
    gt = np.array([[0, 1, 2, 255], [3, 4, 4, 0]], np.uint8)
    pred = np.array([[4, 3, 2, 1], [0, 0, 255, 4]], np.uint8)
    cityscapes = visualizer.add_datasample('grid', image, seg_sample(gt, pred), tile_width=4)
    np.testing.assert_array_equal(cityscapes[:, 8:12], np.array(PALETTE, np.uint8)[pred.clip(
        max=4)] * (pred != 255)[..., None])  # no dataset_meta: Cityscapes' colours
    visualizer.dataset_meta = dict(classes=tuple('abcde'), palette=FIVE_PALETTE)
    grid = visualizer.add_datasample('grid', image, seg_sample(gt, pred), tile_width=4)
    np.testing.assert_array_equal(
        grid, comparison_grid([(image, gt, pred)], 4, 0.5, palette=FIVE_PALETTE))
    assert grid[0, 8:12].tolist() == [list(FIVE_PALETTE[4]), list(FIVE_PALETTE[3]),
                                      list(FIVE_PALETTE[2]), list(FIVE_PALETTE[1])]


def test_palette_of_defaults_to_cityscapes_and_refuses_bad_colours():
    assert palette_of(None) == palette_of({}) == PALETTE
    assert palette_of(dict(palette=[[1, 2, 3]])) == ((1, 2, 3), )
    with pytest.raises(ValueError, match=r'\(R, G, B\) colours of 0..255.*256'):
        colorize(np.zeros((1, 1), np.uint8), [(0, 0, 256)])
