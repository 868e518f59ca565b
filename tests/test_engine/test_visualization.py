"""Drawing and curve reading, against values computed by hand."""
import json
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image

from cityseg.datasets.labels import PALETTE
from cityseg.engine.hooks import TrainingCurvesHook
from cityseg.visualization import comparison_grid, load_scalars, overlay, plot_series, series


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


def test_curves_hook_without_local_backend_says_what_to_add(tmp_path):
    runner = SimpleNamespace(work_dir=str(tmp_path))
    with pytest.raises(FileNotFoundError, match='LocalVisBackend'):
        TrainingCurvesHook().after_val_epoch(runner, {})
