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


def test_sml_statistics_come_from_the_model_in_eval_mode():
    # Regression: the Runner builds the model in train mode, where batch norm normalises with
    # (and updates) each batch's statistics; the sml pass must run the model as inference does.
    import copy
    import importlib.util
    from types import SimpleNamespace

    import torch
    from helpers.seg_batch import make_data
    from mmengine.config import Config

    from cityseg.models import SMPSegmentor
    from cityseg.models.uncertainty import SMLStats, max_logit_sums

    spec = importlib.util.spec_from_file_location(
        'anomaly_tool', osp.join(ROOT, 'tools', 'analysis_tools', 'anomaly.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)

    torch.manual_seed(0)
    model = SMPSegmentor(arch='Unet', encoder_name='resnet18', num_classes=5,
                         model_kwargs=dict(decoder_channels=(16, 16, 16, 16, 16)))
    for module in model.modules():  # running statistics far from a batch's own
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.fill_(0.3)
            module.running_var.fill_(2.0)
    batches = [make_data([(32, 48), (32, 48)], 5, seed=s) for s in (1, 2)]
    reference = copy.deepcopy(model).eval()
    reference.test_cfg.update(return_logits=True)
    expected = sum(max_logit_sums(sample.seg_logits.data, 5)
                   for data in batches for sample in reference.test_step(copy.deepcopy(data)))
    expected = SMLStats.from_sums(*expected)

    pipeline = [dict(type='PackSegInputs')]
    runner = SimpleNamespace(
        cfg=Config(dict(val_dataloader=dict(dataset=dict(pipeline=[])),
                        test_dataloader=dict(dataset=dict(pipeline=pipeline)))),
        build_dataloader=lambda cfg: [copy.deepcopy(b) for b in batches])
    model.train()
    found = tool.sml_statistics(runner, model, 'val')
    torch.testing.assert_close(found.mean, expected.mean)
    torch.testing.assert_close(found.std, expected.std)
    bn = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert torch.all(bn.running_mean == 0.3), 'the pass updated batch-norm statistics'
