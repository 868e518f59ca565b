"""Config inheritance and --cfg-options overrides reach the built objects."""
import glob
import os.path as osp

import pytest
import torch
from helpers.cli import SMALL_SYNTHETIC, parse_cfg_options
from helpers.seg_batch import make_data
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from cityseg.registry import MODELS, OPTIM_WRAPPERS
from cityseg.utils import load_config

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
LEAF_CONFIGS = sorted(glob.glob(osp.join(ROOT, 'configs', '*.py')))


def load(name: str, options: list[str] | None = None) -> Config:
    cfg = Config.fromfile(osp.join(ROOT, 'configs', name))
    if options:
        cfg.merge_from_dict(parse_cfg_options(options))
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


@pytest.mark.parametrize('arch', ['DeepLabV3Plus', 'MAnet'])
def test_quickstart_switches_architecture_by_model_arch_alone(arch):
    """The quickstart holds no architecture-specific arguments (a U-Net's decoder_channels
    tuple reached DeepLabV3+ as its int channel count and failed inside torch)."""
    cfg = load_config(osp.join(ROOT, 'configs', 'quickstart_synthetic.py'), {'model.arch': arch})
    with DefaultScope.overwrite_default_scope('cityseg'):
        model = MODELS.build(cfg.model)
    assert type(model.net).__name__ == arch
    assert model.net.encoder.__class__.__name__ == 'ResNetEncoder'
    # 50x70 is no multiple of either network's divisor (16, 32): padded by the preprocessor.
    data = model.data_preprocessor(make_data([(50, 70)] * 2, num_classes=19), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_focal', 'loss_dice'}
    assert all(torch.isfinite(v) for v in losses.values())
    model.eval()
    with torch.no_grad():
        (pred,) = model.test_step(make_data([(50, 70)], num_classes=19))
    assert pred.pred_sem_seg.data.shape == (1, 50, 70)


def test_num_workers_zero_alone_builds_a_dataloader(synthetic_root):
    """``--cfg-options train_dataloader.num_workers=0`` with the base dataset config's
    ``persistent_workers=True``: load_config drops the flag, so the DataLoader builds (PyTorch
    refuses persistent workers without workers), and the other loaders keep their workers."""
    generate = {f'train_dataloader.dataset.generate.{k}': list(v) if isinstance(v, tuple) else v
                for k, v in SMALL_SYNTHETIC.items()}
    options = {'train_dataloader.num_workers': 0,
               'train_dataloader.dataset.data_root': synthetic_root, **generate}
    path = osp.join(ROOT, 'configs', 'quickstart_synthetic.py')
    raw = load('quickstart_synthetic.py', [f'{k}={v}'.replace(' ', '') for k, v in
                                           options.items()])
    assert raw.train_dataloader.persistent_workers is True
    with pytest.raises(ValueError, match='persistent_workers option needs num_workers > 0'):
        Runner.build_dataloader(raw.train_dataloader)
    cfg = load_config(path, options)
    assert cfg.train_dataloader.persistent_workers is False
    assert cfg.val_dataloader.num_workers == 1 and cfg.val_dataloader.persistent_workers is True
    batch = next(iter(Runner.build_dataloader(cfg.train_dataloader)))
    assert len(batch['inputs']) == cfg.train_dataloader.batch_size


def test_custom_dataset_example_is_inherited_with_a_label_map(tmp_path):
    """The config a user is told to start from takes the obvious override: CamVid's labels
    store void as 11 (docs/datasets.md)."""
    import numpy as np
    from PIL import Image

    from cityseg.registry import DATASETS

    for folder, array in (('images/val/a.jpg', np.full((4, 6, 3), 90, np.uint8)),
                          ('labels/val/a.png', np.array([[0, 1, 11, 4, 2, 3]] * 4, np.uint8))):
        (tmp_path / folder).parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(array).save(tmp_path / folder)
    child = tmp_path / 'camvid.py'
    child.write_text(f"_base_ = [{osp.join(ROOT, 'configs', 'custom_dataset_example.py')!r}]\n"
                     'train_dataloader = dict(dataset=dict(label_map={11: 255}))\n'
                     'val_dataloader = dict(dataset=dict(label_map={11: 255}))\n'
                     'test_dataloader = val_dataloader\n')
    cfg = load_config(str(child), {'val_dataloader.dataset.data_root': str(tmp_path)})
    assert dict(cfg.train_dataloader.dataset.label_map) == {11: 255}
    assert cfg.test_dataloader.dataset.classes == cfg.val_dataloader.dataset.classes
    (sample,) = DATASETS.build(cfg.val_dataloader.dataset)
    label = sample['data_samples'].gt_sem_seg.data[0]
    assert label.tolist() == [[0, 1, 255, 4, 2, 3]] * 4  # 11 is void, the rest as stored
