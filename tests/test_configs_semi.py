"""The semi-supervised and domain-adaptation configs load, build their model, and their
baselines differ from the method only where they say."""
import glob
import os.path as osp

import pytest
from mmengine.registry import DefaultScope

from cityseg.registry import MODELS
from cityseg.utils import load_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALL = sorted(glob.glob(osp.join(ROOT, 'configs', 'semi', '*.py'))
             + glob.glob(osp.join(ROOT, 'configs', 'uda', '*.py')))
CONFIGS = [p for p in ALL if 'synthetic' in osp.basename(p)]
PUBLISHED = [p for p in ALL if 'synthetic' not in osp.basename(p)]


def _load(name: str):
    return load_config(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads_and_builds_its_model(path):
    cfg = load_config(path)
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


@pytest.mark.parametrize('path', PUBLISHED, ids=osp.basename)
def test_published_recipe_configs_state_their_source_and_differences(path):
    from cityseg.models.semi.segmentor import parse_semi_cfg
    with open(path) as f:
        header = f.read().split('_base_')[0]
    assert 'CVPR' in header or 'ECCV' in header
    assert 'Differences' in header or 'differences' in header
    cfg = load_config(path)
    assert cfg.model.type == 'SemiSegmentor'
    assert cfg.model.student.encoder_weights == 'imagenet'
    parse_semi_cfg(cfg.model.semi_cfg)
    assert [h.type for h in cfg.custom_hooks] == ['MeanTeacherHook']
    datasets = cfg.train_dataloader.dataset.datasets
    assert all('Synthetic' not in str(d) for d in datasets)
    assert cfg.train_dataloader.sampler.batch_size == cfg.train_dataloader.batch_size


def test_unimatch_splits_and_published_numbers():
    for split, fraction, published in (('1-16', 1 / 16, '75.0'), ('1-8', 1 / 8, '76.8'),
                                       ('1-4', 1 / 4, '77.5'), ('1-2', 1 / 2, '78.6')):
        name = f'semi/unimatch_deeplabv3plus-r50_8xb2-80k_cityscapes-{split}.py'
        cfg = _load(name)
        labelled, unlabelled = cfg.train_dataloader.dataset.datasets
        assert labelled.fraction == unlabelled.fraction == fraction
        assert unlabelled.complement and not unlabelled.dataset.with_labels
        with open(osp.join(ROOT, 'configs', name)) as f:
            assert published in f.read()


def test_synthia_recipe_reports_the_protocols_miou():
    from cityseg.datasets.labels import CLASSES
    from cityseg.registry import METRICS
    name = 'uda/daformer_segformer-mit-b5_1xb4-40k_synthia2cityscapes-512x512.py'
    cfg = _load(name)
    gta = _load('uda/daformer_segformer-mit-b5_1xb4-40k_gta2cityscapes-512x512.py')
    source, target = cfg.train_dataloader.dataset.datasets
    assert (source.type, source.protocol) == ('SynthiaDataset', 16)
    assert target == gta.train_dataloader.dataset.datasets[1]
    assert cfg.model == gta.model and cfg.optim_wrapper == gta.optim_wrapper
    assert cfg.val_dataloader.dataset.split == 'val'
    for evaluator in (cfg.val_evaluator, cfg.test_evaluator):
        with DefaultScope.overwrite_default_scope('cityseg'):
            metric = METRICS.build(evaluator)
        metric.dataset_meta = {'classes': CLASSES}  # Cityscapes val: every name is known
        assert list(metric.class_subsets) == ['mIoU16', 'mIoU13']
        assert len(metric.class_subsets['mIoU16']) == 16
        assert len(metric.class_subsets['mIoU13']) == 13
    with open(osp.join(ROOT, 'configs', name)) as f:
        header = f.read()
    assert '60.9' in header and '67.4' in header
