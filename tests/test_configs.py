"""Config inheritance and --cfg-options overrides reach the built objects."""
import glob
import os.path as osp

import pytest
import torch
from mmengine.config import Config, DictAction
from mmengine.registry import DefaultScope

from cityseg.registry import MODELS, OPTIM_WRAPPERS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
LEAF_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '*.py')))


def load(name: str, options: list[str] | None = None) -> Config:
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    if options:
        import argparse
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--cfg-options', *options]).cfg_options)
    return cfg


def test_reference_recipe_values():
    cfg = load('deeplabv3plus_effb3_512.py')
    assert cfg.default_scope == 'cityseg'
    assert cfg.model.arch == 'DeepLabV3Plus' and cfg.model.encoder_name == 'efficientnet-b3'
    assert cfg.model.dropout == 0.2
    assert cfg.train_dataloader.batch_size == 8
    assert cfg.optim_wrapper.accumulative_counts == 4
    assert cfg.optim_wrapper.optimizer.lr == 5e-5
    assert cfg.train_cfg.max_epochs == 100
    dice = [loss for loss in cfg.model.loss.losses if loss.type == 'DiceLoss'][0]
    assert dice.loss_weight == 1.1
    crop = [t for t in cfg.train_pipeline if t.type == 'Albu'][0].transforms[0]
    assert (crop.type, crop.height, crop.width) == ('RandomCrop', 512, 512)


@pytest.mark.parametrize('path', LEAF_CONFIGS, ids=osp.basename)
def test_every_leaf_config_has_data_root_and_evaluates_val(path):
    cfg = Config.fromfile(path)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.data_root
    train, test = cfg.train_dataloader.dataset, cfg.test_dataloader.dataset
    if train.type == 'SegFolderDataset':  # folders, not splits
        assert (train.img_dir, test.img_dir) == ('images/train', 'images/val')
        assert (train.ann_dir, test.ann_dir) == ('labels/train', 'labels/val')
    else:
        assert train.split == 'train'
        assert test.split == 'val'
    assert cfg.val_evaluator.type == 'IoUMetric'


def test_data_root_follows_cityscapes_dataset_env(monkeypatch, tmp_path):
    monkeypatch.setenv('CITYSCAPES_DATASET', str(tmp_path))
    cfg = load('unet_effb3_512.py')
    assert cfg.train_dataloader.dataset.data_root == str(tmp_path)
    monkeypatch.delenv('CITYSCAPES_DATASET')
    assert load('unet_effb3_512.py').val_dataloader.dataset.data_root == 'data/cityscapes'


def test_unet_and_manet_configs_inherit_the_recipe():
    for name, arch in [('unet_effb3_512.py', 'Unet'), ('manet_effb3_512.py', 'MAnet')]:
        cfg = load(name)
        assert cfg.model.arch == arch
        assert cfg.model.encoder_name == 'efficientnet-b3'
        assert cfg.optim_wrapper.accumulative_counts == 4


def test_cfg_options_reach_built_objects():
    cfg = load('quickstart_synthetic.py', [
        'model.arch=MAnet', 'optim_wrapper.optimizer.lr=1e-3', 'train_dataloader.batch_size=2',
        'model.test_cfg.crop_size=[64,128]', 'param_scheduler.0.end=50'])
    assert cfg.train_dataloader.batch_size == 2
    assert cfg.param_scheduler[0].end == 50
    with DefaultScope.overwrite_default_scope('cityseg'):
        model = MODELS.build(cfg.model)
        wrapper = OPTIM_WRAPPERS.build(
            dict(cfg.optim_wrapper, optimizer=torch.optim.AdamW(model.parameters(),
                                                                lr=cfg.optim_wrapper.optimizer.lr)))
    assert type(model.net).__name__ == 'MAnet'
    assert model.test_cfg['crop_size'] == [64, 128]
    assert wrapper.optimizer.param_groups[0]['lr'] == 1e-3


def test_override_to_unet_keeps_the_rest_of_the_model():
    cfg = load('deeplabv3plus_effb3_512.py', ['model.arch=Unet', 'model.encoder_weights=None'])
    assert cfg.model.arch == 'Unet'
    assert cfg.model.encoder_weights is None
    assert cfg.model.dropout == 0.2 and cfg.model.num_classes == 19
