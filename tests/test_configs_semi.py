"""The semi-supervised and domain-adaptation configs load, build their model, and their
baselines differ from the method only where they say."""
import glob
import os.path as osp

import pytest
from mmengine.registry import DefaultScope

from cityseg.registry import MODELS
from cityseg.utils import load_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'semi', '*.py'))
                 + glob.glob(osp.join(ROOT, 'configs', 'uda', '*.py')))


def _load(name: str):
    return load_config(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads_and_builds_its_model(path):
    cfg = load_config(path)
    assert 'synthetic' in osp.basename(path)
    assert cfg.val_evaluator.type == 'IoUMetric' and cfg.test_dataloader.dataset.split == 'val'
    with DefaultScope.overwrite_default_scope('cityseg'):
        model = MODELS.build(cfg.model)
    if cfg.model.type == 'SemiSegmentor':
        assert [h.type for h in cfg.custom_hooks] == ['MeanTeacherHook']
        assert cfg.train_dataloader.sampler.batch_size == cfg.train_dataloader.batch_size
        assert model.teacher is not model.student


def test_baselines_share_the_labelled_subset_and_schedule():
    semi = _load('semi/fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py')
    sup = _load('semi/supervised-only_unet-r18_8xb4-600it_synthetic-1-8.py')
    full = _load('semi/fully-supervised_unet-r18_8xb4-600it_synthetic.py')
    labelled = semi.train_dataloader.dataset.datasets[0]
    assert (sup.train_dataloader.dataset.fraction, sup.train_dataloader.dataset.seed) == (
        labelled.fraction, labelled.seed)
    assert full.train_dataloader.dataset.fraction == 1.0
    assert sup.train_dataloader.batch_size == semi.train_dataloader.batch_size // 2
    for cfg in (sup, full):
        assert cfg.train_cfg.max_iters == semi.train_cfg.max_iters
        assert cfg.model.to_dict() == {**semi.model.student.to_dict()}
    uda = _load('uda/dacs_unet-r18_8xb8-600it_synthetic-day2night.py')
    source_only = _load('uda/source-only_unet-r18_8xb4-600it_synthetic-day2night.py')
    assert source_only.train_dataloader.dataset.data_root == \
        uda.train_dataloader.dataset.datasets[0].data_root
    assert source_only.val_dataloader.dataset.data_root == uda.val_dataloader.dataset.data_root
