"""tools/analysis_tools/anomaly.py on the tiny checkpoint and the synthetic anomalies."""
import glob
import json
import os.path as osp

import pytest
from helpers.cli import QUICKSTART, ROOT, run_tool, tiny_cfg_options

pytestmark = pytest.mark.integration

ANOMALY_CONFIG = osp.join(ROOT, 'configs', 'anomaly_quickstart_synthetic.py')


def test_a_dataset_without_anomaly_masks_is_refused():
    log = run_tool('analysis_tools/anomaly.py', QUICKSTART, 'missing.pth', expect_failure=True)
    assert "test_dataloader.dataset.type='SyntheticCityscapesDataset' is not a dataset with " \
           'anomaly masks' in log


def test_every_score_is_evaluated_on_the_synthetic_anomalies(checkpoint, synthetic_root,
                                                             tmp_path):
    work_dir = tmp_path / 'anomaly'
    opts = [o for o in tiny_cfg_options(synthetic_root, str(work_dir))
            if not o.startswith('test_dataloader.')]
    run_tool('analysis_tools/anomaly.py', ANOMALY_CONFIG, checkpoint, '--work-dir',
             str(work_dir), '--sml-split', 'val', '--cfg-options', *opts,
             f'test_dataloader.dataset.data_root={tmp_path / "anomalies"}',
             'test_dataloader.dataset.generate.size=[128,64]',
             'test_dataloader.dataset.generate.num_val=2', 'test_dataloader.num_workers=0')
    (path,) = glob.glob(str(work_dir / '*' / 'anomaly.json'))
    with open(path) as f:
        report = json.load(f)
    assert set(report['scores']) == {'msp', 'maxlogit', 'entropy', 'energy', 'sml'}
    for scores in report['scores'].values():
        assert 0 <= scores['AUPRC'] <= 1 and 0 <= scores['FPR95'] <= 1
        assert 'sIoU' in scores and 'mean_F1' in scores
    assert len(report['sml_stats']['mean']) == 19
    assert osp.isfile(osp.join(osp.dirname(path), 'pr_curves.png'))
    assert osp.isfile(osp.join(osp.dirname(path), 'sml_stats.json'))
