"""tools/analysis_tools/robustness.py end to end on the tiny checkpoint: the clean mIoU is
tools/test.py's, the summary numbers follow from the table, and every output file exists."""
import glob
import importlib.util
import json
import os.path as osp

import mmcv
import numpy as np
import pytest
from helpers.cli import QUICKSTART, ROOT, read_test_metrics, run_tool, tiny_cfg_options

from cityseg.datasets import CityscapesDataset
from cityseg.datasets.corruptions import corrupt

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

spec = importlib.util.spec_from_file_location(
    'robustness', osp.join(ROOT, 'tools', 'analysis_tools', 'robustness.py'))
robustness = importlib.util.module_from_spec(spec)
spec.loader.exec_module(robustness)

CORRUPTIONS = ['gaussian_noise', 'fog']
SEVERITIES = ['1', '5']


@pytest.fixture(scope='module')
def report(checkpoint, synthetic_root, tmp_path_factory) -> tuple[dict, str, str]:
    """robustness.json, the run's log dir and the tool's output."""
    work_dir = str(tmp_path_factory.mktemp('robustness'))
    log = run_tool('analysis_tools/robustness.py', QUICKSTART, checkpoint,
                   '--corruptions', *CORRUPTIONS, '--severities', *SEVERITIES,
                   '--cfg-options', *tiny_cfg_options(synthetic_root, work_dir))
    (path,) = glob.glob(osp.join(work_dir, '*', 'robustness.json'))
    with open(path) as f:
        return json.load(f), osp.dirname(path), log


def test_clean_miou_equals_test_py(report, checkpoint, synthetic_root, tmp_path):
    run_tool('test.py', QUICKSTART, checkpoint,
             '--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path)))
    assert report[0]['clean_mIoU'] == pytest.approx(read_test_metrics(str(tmp_path))['mIoU'],
                                                    abs=1e-9)


def test_summary_numbers_follow_from_the_table(report):
    data = report[0]
    assert list(data['corruptions']) == CORRUPTIONS
    cells = []
    for row in data['corruptions'].values():
        assert list(row['mIoU']) == SEVERITIES
        values = list(row['mIoU'].values())
        assert all(0 <= v <= 1 for v in values)
        assert row['mean'] == pytest.approx(sum(values) / len(values))
        cells += values
    assert data['corruptions']['fog']['family'] == 'weather'
    assert data['family_mean_mIoU'] == pytest.approx(
        {'noise': data['corruptions']['gaussian_noise']['mean'],
         'weather': data['corruptions']['fog']['mean']})
    assert data['mean_corruption_mIoU'] == pytest.approx(sum(cells) / len(cells))
    assert data['relative_robustness'] == pytest.approx(
        data['mean_corruption_mIoU'] / data['clean_mIoU'])
    seconds = data['seconds']
    assert set(seconds['per_setting']) == {'clean', *(f'{c}/{s}' for c in CORRUPTIONS
                                                       for s in SEVERITIES)}
    assert seconds['total'] == pytest.approx(sum(seconds['per_setting'].values()))


def test_table_plot_and_preview_are_written(report):
    data, run_dir, log = report
    with open(osp.join(run_dir, 'robustness.txt')) as f:
        table = f.read()
    fog = data['corruptions']['fog']
    row = f'| fog            | weather | {100 * fog["mIoU"]["1"]:.2f}'
    assert row in table and f'{100 * fog["mean"]:.2f} |' in table, table
    assert f'mean corruption mIoU: {100 * data["mean_corruption_mIoU"]:.2f}' in table
    assert table.strip() in log
    plot = mmcv.imread(osp.join(run_dir, 'robustness.png'))
    assert plot.shape[1] > plot.shape[0]  # two family panels side by side
    preview = mmcv.imread(osp.join(run_dir, 'corruption_preview.png'))
    # 2 rows (corruptions) of 3 tiles (clean + 2 severities), 256 x 128 each (128x64 images)
    assert preview.shape == (2 * 128, 3 * 256, 3)


def test_preview_shows_the_pixels_the_model_saw(synthetic_root):
    """A preview tile is the benchmark's corruption of the first test image, resized."""
    dataset = CityscapesDataset(data_root=synthetic_root, split='val')
    path = dataset.get_data_info(0)['img_path']
    grid = robustness.preview_grid(path, ['pixelate'], [5], tile_width=128)
    image = mmcv.imread(path)
    expected = mmcv.imresize(corrupt(image[..., ::-1], 'pixelate', 5, osp.basename(path))
                             [..., ::-1], (128, 64))
    # Below the 16-pixel caption bar the tile is the corrupted image.
    np.testing.assert_array_equal(grid[16:, 128:], expected[16:])


def test_corruption_goes_after_the_loading_steps():
    """After LoadCityscapesImage and LoadCityscapesLabel (before any resize), on a copy."""
    cfg = dict(dataset=dict(pipeline=[
        dict(type='LoadCityscapesImage'), dict(type='LoadCityscapesLabel'),
        dict(type='ResizeByRatio', ratio=0.5), dict(type='PackSegInputs')]))
    out = robustness.corrupted_dataloader(cfg, 'fog', 3)
    assert [t['type'] for t in out['dataset']['pipeline']] == [
        'LoadCityscapesImage', 'LoadCityscapesLabel', 'ImageCorruption', 'ResizeByRatio',
        'PackSegInputs']
    assert out['dataset']['pipeline'][2] == dict(type='ImageCorruption', corruption='fog',
                                                 severity=3)
    assert len(cfg['dataset']['pipeline']) == 4
    with pytest.raises(ValueError, match="starts with 'PackSegInputs'"):
        robustness.corrupted_dataloader(dict(dataset=dict(pipeline=[
            dict(type='PackSegInputs')])), 'fog', 3)


def test_onnxruntime_backend_gives_the_pytorch_table(report, checkpoint, synthetic_root,
                                                     tmp_path):
    """--backend onnxruntime swaps only the network: every cell agrees with PyTorch's."""
    run_tool('analysis_tools/robustness.py', QUICKSTART, checkpoint, '--backend', 'onnxruntime',
             '--corruptions', *CORRUPTIONS, '--severities', *SEVERITIES,
             '--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path)))
    (path,) = glob.glob(osp.join(tmp_path, '*', 'robustness.json'))
    with open(path) as f:
        onnx = json.load(f)
    assert glob.glob(osp.join(tmp_path, 'onnx', '*.onnx'))
    assert onnx['clean_mIoU'] == pytest.approx(report[0]['clean_mIoU'], abs=1e-3)
    for name, row in report[0]['corruptions'].items():
        assert onnx['corruptions'][name]['mIoU'] == pytest.approx(row['mIoU'], abs=1e-3)
