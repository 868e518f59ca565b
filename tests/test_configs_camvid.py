"""The CamVid configs (the CPU recipe, semi-supervised 1/8, day -> dusk) load, build an 11-class
network, read the frames they say from the real CamVid copy, and their baselines differ from
the methods only where they say."""
import glob
import os
import os.path as osp

import numpy as np
import pytest
import torch
from helpers.camvid import CAMVID_ROOT
from helpers.cli import ROOT
from mmengine.registry import DefaultScope
from PIL import Image

from cityseg.datasets import CamVidDataset
from cityseg.datasets.subset import read_split_file
from cityseg.models import SemiSegmentor
from cityseg.registry import DATASETS, MODELS
from cityseg.utils import load_config

CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', 'camvid', '*.py'))
                 + glob.glob(osp.join(ROOT, 'configs', 'semi', '*camvid*.py'))
                 + glob.glob(osp.join(ROOT, 'configs', 'uda', '*camvid*.py')))
RECIPE = 'camvid/unet-r18_camvid-360x480_cpu-60min.py'
SPLIT_FILE = osp.join(ROOT, 'configs', 'semi', 'splits', 'camvid_1-8_seed0.txt')
DAY, DUSK = ('0006R0', '0016E5'), '0001TP'
# The documented evaluation on the dusk frames (docs/camvid.md, the configs' headers).
DUSK_OPTIONS = {'test_dataloader.dataset.split': 'train',
                'test_dataloader.dataset.sequences': [DUSK]}


@pytest.fixture(autouse=True)
def camvid_root(monkeypatch):
    """The configs read the real CamVid copy ($CAMVID_DATASET)."""
    monkeypatch.setenv('CAMVID_DATASET', CAMVID_ROOT)


def _load(name: str, options: dict | None = None):
    return load_config(osp.join(ROOT, 'configs', name), options)


def _build(dataset_cfg):
    """The dataset of a config, without the decoded-sample cache (nothing is written)."""
    with DefaultScope.overwrite_default_scope('cityseg'):
        return DATASETS.build(_without_cache(dataset_cfg.to_dict()))


def _without_cache(cfg):
    if isinstance(cfg, dict):
        return {k: None if k == 'cache_dir' else _without_cache(v) for k, v in cfg.items()}
    if isinstance(cfg, list):
        return [_without_cache(v) for v in cfg]
    return cfg


def _stems(dataset) -> list[str]:
    return [dataset.get_data_info(i)['stem'] for i in range(len(dataset))]


def _train_frames() -> list[str]:
    return sorted(f[:-len('.png')] for f in os.listdir(osp.join(CAMVID_ROOT, 'train')))


def test_every_camvid_config_is_found():
    names = {osp.relpath(p, osp.join(ROOT, 'configs')) for p in CONFIGS}
    assert RECIPE in names
    assert {n.split('/')[0] for n in names} == {'camvid', 'semi', 'uda'}


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_config_loads_and_builds_an_11_class_network(path):
    cfg = _load(path)
    with DefaultScope.overwrite_default_scope('cityseg'):
        model = MODELS.build(cfg.model)
    if isinstance(model, SemiSegmentor):
        assert 'MeanTeacherHook' in [h.type for h in cfg.custom_hooks]
        assert cfg.train_dataloader.sampler.batch_size == cfg.train_dataloader.batch_size
    net = model.predictor if isinstance(model, SemiSegmentor) else model
    net.eval()
    with torch.no_grad():
        logits = net.net(torch.zeros(1, 3, 64, 96))
    assert logits.shape == (1, 11, 64, 96)
    # from scratch: nothing downloaded
    assert (cfg.model.get('student') or cfg.model).encoder_weights is None
    assert cfg.test_dataloader.dataset.type == 'CamVidDataset'
    assert cfg.test_dataloader.dataset.split == 'val'


def test_split_file_is_the_seed_0_draw_of_46_train_frames():
    """46 distinct frames of CamVid train (1/8 of 367, rounded), the draw its header states
    (numpy's default_rng(0) over the sorted frame names), so the file can be made again."""
    frames = _train_frames()
    labelled = [stem for _, stem in read_split_file(SPLIT_FILE)]
    assert len(frames) == 367 and len(labelled) == len(set(labelled)) == 46
    assert set(labelled) <= set(frames)
    drawn = np.random.default_rng(0).choice(len(frames), size=46, replace=False)
    assert labelled == sorted(frames[i] for i in drawn)


def test_semi_config_trains_on_the_split_and_the_rest_unlabelled():
    train = _build(_load('semi/fixmatch_unet-r18_camvid-1-8.py').train_dataloader.dataset)
    labelled, unlabelled = train.datasets
    expected = [stem for _, stem in read_split_file(SPLIT_FILE)]
    assert _stems(labelled) == expected
    assert sorted(_stems(unlabelled)) == sorted(set(_train_frames()) - set(expected))
    assert len(unlabelled) == 321
    assert all('seg_map_path' in labelled.get_data_info(i) for i in range(len(labelled)))
    assert not any('seg_map_path' in unlabelled.get_data_info(i) for i in range(len(unlabelled)))


def test_semi_baselines_share_network_split_schedule_and_labelled_batch():
    semi = _load('semi/fixmatch_unet-r18_camvid-1-8.py')
    unimatch = _load('semi/unimatch_unet-r18_camvid-1-8.py')
    sup = _load('semi/supervised-only_unet-r18_camvid-1-8.py')
    full = _load('semi/fully-supervised_unet-r18_camvid.py')
    assert unimatch.model.type == 'UniMatch' and unimatch.model.student == semi.model.student
    # a supervised burn-in, then self-training, inside the baselines' iterations
    assert unimatch.model.semi_cfg == semi.model.semi_cfg
    assert 0 < semi.model.semi_cfg.burn_in < semi.train_cfg.max_iters
    for cfg in (sup, full):
        assert cfg.model == semi.model.student
        assert cfg.train_cfg == semi.train_cfg and cfg.optim_wrapper == semi.optim_wrapper
        assert cfg.param_scheduler == semi.param_scheduler
        assert cfg.train_dataloader.batch_size == semi.train_dataloader.batch_size // 2
        assert cfg.val_dataloader == semi.val_dataloader
    assert _stems(_build(sup.train_dataloader.dataset)) == _stems(
        _build(semi.train_dataloader.dataset).datasets[0])
    assert len(_build(full.train_dataloader.dataset)) == 367
    # the labelled frames scale, crop and flip alike and weigh the classes alike
    semi_geometric = semi.train_dataloader.dataset.labelled.pipeline[2]
    assert semi.train_dataloader.dataset.unlabelled.pipeline[1] == semi_geometric
    for pipeline in (sup.train_dataloader.dataset.dataset.pipeline,
                     full.train_dataloader.dataset.pipeline):
        assert pipeline[2] == semi_geometric
    weights = [h for h in semi.custom_hooks if h.type == 'ClassWeightHook']
    for cfg in (unimatch, sup, full):
        assert [h for h in cfg.custom_hooks if h.type == 'ClassWeightHook'] == weights


def test_semi_configs_scale_and_weigh_as_the_recipe():
    recipe = _load(RECIPE)
    semi = _load('semi/unimatch_unet-r18_camvid-1-8.py')
    recipe_scale = recipe.train_dataloader.dataset.pipeline[2].transforms[0]
    assert recipe_scale.type == 'RandomScale'
    assert semi.train_dataloader.dataset.labelled.pipeline[2].transforms[0] == recipe_scale
    # the recipe's one Albu is the dataset base's scale, crop and flip, then its brightness
    recipe_steps = recipe.train_dataloader.dataset.pipeline[2].transforms
    assert recipe_steps[:3] == semi.train_dataloader.dataset.labelled.pipeline[2].transforms
    assert [step.type for step in recipe_steps[3:]] == ['RandomBrightnessContrast']
    assert semi.custom_hooks[0] == recipe.custom_hooks[0]


def test_uda_configs_adapt_day_to_dusk_without_dusk_labels():
    dacs = _load('uda/dacs_unet-r18_camvid-day2dusk.py')
    source, target = _build(dacs.train_dataloader.dataset).datasets
    assert len(source) == 305 and all(s.startswith(DAY) for s in _stems(source))
    assert all('seg_map_path' in source.get_data_info(i) for i in range(len(source)))
    assert len(target) == 62 and all(s.startswith(DUSK) for s in _stems(target))
    assert not any('seg_map_path' in target.get_data_info(i) for i in range(len(target)))
    source_only = _load('uda/source-only_unet-r18_camvid-day2dusk.py')
    assert _stems(_build(source_only.train_dataloader.dataset)) == _stems(source)
    assert source_only.model == dacs.model.student
    assert source_only.train_cfg == dacs.train_cfg
    # source-only, source and target scale alike, 0.5-2.0 (the range the figures were measured with)
    uda_geometric = dacs.train_dataloader.dataset.datasets[0].pipeline[2]
    assert dacs.train_dataloader.dataset.datasets[1].pipeline[1] == uda_geometric
    assert source_only.train_dataloader.dataset.pipeline[2] == uda_geometric
    assert uda_geometric.transforms[0].scale_limit == (-0.5, 1.0)
    assert source_only.train_dataloader.batch_size == dacs.train_dataloader.batch_size // 2
    mic = _load('uda/mic-dacs_unet-r18_camvid-day2dusk.py')
    assert mic.model.type == 'MIC' and mic.model.student == dacs.model.student
    assert mic.model.semi_cfg.burn_in == dacs.model.semi_cfg.burn_in
    assert 0 < dacs.model.semi_cfg.burn_in < dacs.train_cfg.max_iters
    sat = _load('uda/dacs-sat_unet-r18_camvid-day2dusk.py')  # DACS but for the threshold
    assert {**sat.model.semi_cfg, 'threshold': 0.968, 'threshold_momentum': None} == {
        **dacs.model.semi_cfg, 'threshold': 0.968, 'threshold_momentum': None}
    assert sat.model.semi_cfg.threshold == 'self_adaptive'
    assert sat.model.student == dacs.model.student
    assert sat.train_dataloader == dacs.train_dataloader and sat.custom_hooks == dacs.custom_hooks


@pytest.mark.parametrize('name', [RECIPE, 'semi/fixmatch_unet-r18_camvid-1-8.py',
                                  'uda/dacs_unet-r18_camvid-day2dusk.py'])
def test_test_dataloader_reads_the_dusk_frames_with_their_labels(name):
    """The documented --cfg-options evaluate the 62 dusk train frames, with their labels; val
    (day, 101 frames) stays the validation."""
    cfg = _load(name, DUSK_OPTIONS)
    dusk = _build(cfg.test_dataloader.dataset)
    assert isinstance(dusk, CamVidDataset) and len(dusk) == 62
    assert all(s.startswith(DUSK) for s in _stems(dusk))
    first = dusk.get_data_info(0)['seg_map_path']
    assert first == osp.join(CAMVID_ROOT, 'trainannot', _stems(dusk)[0] + '.png')
    assert Image.open(first).size == (480, 360)
    assert len(_build(cfg.val_dataloader.dataset)) == 101


def test_test_dataloader_takes_the_test_split_of_another_root(tmp_path):
    """The names outside checks use: test_dataloader.dataset.data_root=DIR ...split=test."""
    for folder in ('test', 'testannot'):
        (tmp_path / folder).mkdir()
    Image.fromarray(np.zeros((6, 8, 3), np.uint8)).save(tmp_path / 'test' / 'Seq05VD_f00000.png')
    Image.fromarray(np.full((6, 8), 3, np.uint8)).save(
        tmp_path / 'testannot' / 'Seq05VD_f00000.png')
    for name in (RECIPE, 'semi/fixmatch_unet-r18_camvid-1-8.py',
                 'uda/dacs_unet-r18_camvid-day2dusk.py'):
        cfg = _load(name, {'test_dataloader.dataset.data_root': str(tmp_path),
                           'test_dataloader.dataset.split': 'test'})
        assert _stems(_build(cfg.test_dataloader.dataset)) == ['Seq05VD_f00000']
