"""tools/infer.py --uncertainty: score maps beside each prediction, equal to the API's."""
import os.path as osp

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
