"""The semi-supervised and domain-adaptation configs load, build their model, and their
baselines differ from the method only where they say."""
import glob
import os.path as osp

import pytest
from mmengine.registry import DefaultScope

from cityseg.models import SemiSegmentor
from cityseg.registry import MODELS
from cityseg.utils import load_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
ALL = sorted(glob.glob(osp.join(ROOT, 'configs', 'semi', '*.py'))
             + glob.glob(osp.join(ROOT, 'configs', 'uda', '*.py')))
CONFIGS = [p for p in ALL if 'synthetic' in osp.basename(p)]
# the CamVid configs (CPU-sized, from scratch) are tested in test_configs_camvid.py
PUBLISHED = [p for p in ALL if not any(w in osp.basename(p) for w in ('synthetic', 'camvid'))]


def _load(name: str):
    return load_config(osp.join(ROOT, 'configs', name))


@pytest.mark.parametrize('path', CONFIGS, ids=osp.basename)
def test_config_loads_and_builds_its_model(path):
    cfg = load_config(path)
    assert cfg.val_evaluator.type == 'IoUMetric' and cfg.test_dataloader.dataset.split == 'val'
    with DefaultScope.overwrite_default_scope('cityseg'):
        model = MODELS.build(cfg.model)
    if isinstance(model, SemiSegmentor):
        assert [h.type for h in cfg.custom_hooks] == ['MeanTeacherHook']
        assert cfg.train_dataloader.sampler.batch_size == cfg.train_dataloader.batch_size
        assert model.teacher is not model.student


def test_baselines_share_the_labelled_subset_and_schedule():
    semi = _load('semi/fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py')
    sup = _load('semi/supervised-only_unet-r18_8xb4-600it_synthetic-1-8.py')
    full = _load('semi/fully-supervised_unet-r18_8xb4-600it_synthetic.py')
    split = semi.train_dataloader.dataset
    assert split.type == 'SemiSplitDataset'
    assert (sup.train_dataloader.dataset.fraction, sup.train_dataloader.dataset.seed) == (
        split.fraction, split.seed)
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
    with open(path) as f:
        header = f.read().split('_base_')[0]
    assert 'CVPR' in header or 'ECCV' in header
    assert 'Differences' in header or 'differences' in header
    cfg = load_config(path)
    method = MODELS.get(cfg.model.type)
    assert issubclass(method, SemiSegmentor) and method is not SemiSegmentor
    assert cfg.model.student.encoder_weights == 'imagenet'
    method.parse_semi_cfg(cfg.model.get('semi_cfg'))
    assert [h.type for h in cfg.custom_hooks] == ['MeanTeacherHook']
    assert 'Synthetic' not in str(cfg.train_dataloader.dataset)
    assert cfg.train_dataloader.sampler.batch_size == cfg.train_dataloader.batch_size


def test_unimatch_splits_and_published_numbers():
    for split, fraction, published in (('1-16', 1 / 16, '75.0'), ('1-8', 1 / 8, '76.8'),
                                       ('1-4', 1 / 4, '77.5'), ('1-2', 1 / 2, '78.6')):
        name = f'semi/unimatch_deeplabv3plus-r50_8xb2-80k_cityscapes-{split}.py'
        cfg = _load(name)
        split = cfg.train_dataloader.dataset
        assert (split.type, split.fraction, split.split_file) == (
            'SemiSplitDataset', fraction, None)
        assert not split.unlabelled.with_labels and cfg.model.type == 'UniMatch'
        assert cfg.train_dataloader.sampler.mix_partners  # one unlabelled image per batch
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


SEMI = 'semi/fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py'


@pytest.mark.parametrize('options, error', [
    (dict(custom_hooks=[]), r'FixMatch needs exactly one MeanTeacherHook in custom_hooks, '
                            r'found 0'),
    ({'custom_hooks': [dict(type='MeanTeacherHook', momentum=0.99)]},
     r"not momentum=0.99.*mmdetection's momentum is the student's share"),
    ({'train_dataloader.sampler.mix_partners': False},
     r'fixmatch.*\.py: FixMatch mixes each unlabelled image with another one.*'
     r'train_dataloader.sampler.mix_partners=True'),
    ({'model.semi_cfg.strong_branch': 'unsup_strnog'},
     r"model.semi_cfg.strong_branch='unsup_strnog' is not a branch of the training data"),
    ({'model.semi_cfg.treshold': 0.9}, r"unknown model.semi_cfg keys \['treshold'\] for "
                                       r'FixMatch'),
    ({'model.student.encoder_nme': 'resnet34'},
     r"model.student.encoder_nme in .*: SMPSegmentor takes no argument 'encoder_nme'; did you "
     r'mean model.student.encoder_name\?'),
    ({'model.semi_cfg.mix.prb': 0.5}, r"model.semi_cfg.mix=\{'type': 'CutMix', .*'prb': 0.5\}: "
                                      r".*unexpected keyword argument 'prb'"),
    ({'train_dataloader.sampler.batch_size': 4},
     r'train_dataloader.sampler.batch_size=4 but train_dataloader.batch_size=8'),
])
def test_a_config_that_would_train_wrongly_is_refused_when_it_loads(options, error):
    with pytest.raises((ValueError, TypeError), match=error):
        load_config(osp.join(ROOT, 'configs', SEMI), options)


def test_the_batch_size_is_written_once():
    """The sampler takes the dataloader's batch size: one key changes both."""
    from mmengine.config import Config
    for path in ALL:
        loader = Config.fromfile(path).train_dataloader
        if loader.sampler.type == 'MultiSourceSampler':
            assert 'batch_size' not in loader.sampler, path
    cfg = load_config(osp.join(ROOT, 'configs', SEMI), {'train_dataloader.batch_size': 2})
    assert cfg.train_dataloader.sampler.batch_size == 2
