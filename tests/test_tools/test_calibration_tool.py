"""tools/analysis_tools/calibration.py on the tiny checkpoint: calibration.json, the diagram, and
the fitted temperature stored where inference finds it."""
import glob
import json
import os.path as osp

import pytest
from helpers.cli import QUICKSTART, run_tool, tiny_cfg_options
from helpers.tiny_checkpoint import model_options

from cityseg.apis import init_model

pytestmark = pytest.mark.integration


def test_fit_temperature_writes_scores_diagram_and_calibrated_checkpoint(
        checkpoint, synthetic_root, tmp_path):
    work_dir = tmp_path / 'calib'
    log = run_tool('analysis_tools/calibration.py', QUICKSTART, checkpoint, '--fit-temperature',
                   '--work-dir', str(work_dir), '--cfg-options',
                   *tiny_cfg_options(synthetic_root, str(work_dir)))
    (path,) = glob.glob(str(work_dir / '*' / 'calibration.json'))
    with open(path) as f:
        report = json.load(f)
    assert set(report['ECE']) == {'before', 'after'}
    assert report['after']['NLL'] <= report['before']['NLL'] + 1e-6  # the fit minimises it
    assert len(report['before']['reliability']['count']) == 15
    assert osp.isfile(osp.join(osp.dirname(path), 'reliability.png'))
    calibrated = report['calibrated_checkpoint']
    assert 'ECE' in log and osp.isfile(calibrated)
    model = init_model(QUICKSTART, calibrated, cfg_options=model_options(synthetic_root))
    assert model.temperature == pytest.approx(report['temperature'])
    # a config's model.temperature wins over the checkpoint's
    model = init_model(QUICKSTART, calibrated, cfg_options={
        **model_options(synthetic_root), 'model.temperature': 1.5})
    assert model.temperature == 1.5
