"""tools/infer.py --uncertainty: score maps beside each prediction (and each video frame), equal
to the API's."""
import os.path as osp

import cv2
import mmcv
import numpy as np
import pytest
from helpers.cli import QUICKSTART, run_tool, tiny_cfg_options, val_files
from helpers.tiny_checkpoint import model_options
from PIL import Image

from cityseg.apis import inference_model, init_model
from cityseg.visualization.score_maps import read_score_map, write_score_map


def test_score_map_files_round_trip(tmp_path):
    score = np.linspace(-3, 5, 24, dtype=np.float32).reshape(4, 6)
    write_score_map(str(tmp_path / 'a'), 'energy', score, 19)
    np.testing.assert_allclose(read_score_map(str(tmp_path / 'a_energy.png')), score,
                               atol=8 / 65535)
    assert Image.open(tmp_path / 'a_energy_color.png').mode == 'RGB'
    write_score_map(str(tmp_path / 'b'), 'msp', np.zeros((2, 2)), 19)  # fixed range [0, 18/19]
    assert Image.open(tmp_path / 'b_msp.png').text['high'] == repr(1 - 1 / 19)


@pytest.mark.integration
def test_infer_writes_uncertainty_maps(checkpoint, synthetic_root, tmp_path):
    (first, *_) = val_files(synthetic_root)
    out = tmp_path / 'out'
    run_tool('infer.py', QUICKSTART, checkpoint, first, '--out', str(out), '--uncertainty',
             'msp', 'energy', '--cfg-options',
             *tiny_cfg_options(synthetic_root, str(tmp_path / 'w')))
    stem = osp.join(out, osp.basename(first)[:-4])
    model = init_model(QUICKSTART, checkpoint, cfg_options={
        **model_options(synthetic_root), 'model.test_cfg.scores': ['msp', 'energy']})
    expected = inference_model(model, first).scores
    for name in ('msp', 'energy'):
        assert osp.isfile(f'{stem}_{name}_color.png')
        got = read_score_map(f'{stem}_{name}.png')
        span = expected[name].max() - expected[name].min()
        np.testing.assert_allclose(got, expected[name], atol=max(span, 1) / 65535 * 2)
    log = run_tool('infer.py', QUICKSTART, checkpoint, first, '--out', str(out),
                   '--uncertainty', 'sml', expect_failure=True)
    assert '--uncertainty sml needs --sml-stats' in log


def _frames(path: str) -> list[np.ndarray]:
    capture = cv2.VideoCapture(path)
    frames = []
    while (found := capture.read())[0]:
        frames.append(found[1])
    return frames


@pytest.mark.integration
def test_infer_video_writes_every_frames_score_maps(checkpoint, synthetic_root, tmp_path):
    """Fault run of issue 31: a video with --uncertainty gave the overlay video alone, the
    score maps silently dropped. Each frame's maps are written, named by its index (3 frames
    in batches of 2: the index runs on across batches)."""
    images = [mmcv.imread(p) for p in val_files(synthetic_root)[:2]]
    h, w = images[0].shape[:2]
    video = str(tmp_path / 'drive.mp4')
    writer = cv2.VideoWriter(video, cv2.VideoWriter_fourcc(*'mp4v'), 5, (w, h))
    for i in range(3):
        writer.write(images[i % 2])
    writer.release()
    out = tmp_path / 'out'
    log = run_tool('infer.py', QUICKSTART, checkpoint, video, '--out', str(out),
                   '--batch-size', '2', '--uncertainty', 'msp', 'entropy', '--cfg-options',
                   *tiny_cfg_options(synthetic_root, str(tmp_path / 'w')))
    assert f'score maps of every frame in {out / "drive_scores"}' in log
    names = sorted(p.name for p in (out / 'drive_scores').iterdir())
    assert names == sorted(f'{i:06d}_{score}{kind}.png' for i in range(3)
                           for score in ('msp', 'entropy') for kind in ('', '_color'))
    model = init_model(QUICKSTART, checkpoint, cfg_options={
        **model_options(synthetic_root), 'model.test_cfg.scores': ['msp', 'entropy']})
    frames = _frames(video)  # decoded as infer.py decodes them
    for i, result in enumerate(inference_model(model, frames)):
        for name in ('msp', 'entropy'):
            got = read_score_map(str(out / 'drive_scores' / f'{i:06d}_{name}.png'))
            np.testing.assert_allclose(got, result.scores[name], atol=2 * np.log(19) / 65535)
