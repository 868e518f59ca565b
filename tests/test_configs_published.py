"""The configs that reproduce published Cityscapes results: recipe values and built objects."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import DefaultScope

from cityseg.registry import MODELS

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
SEGFORMER = osp.join(ROOT, 'configs', 'segformer')
DEEPLAB = osp.join(ROOT, 'configs', 'deeplabv3plus',
                   'deeplabv3plus_r50-d8_4xb2-80k_cityscapes-512x1024.py')


@pytest.mark.parametrize('b', range(6))
def test_smp_hub_configs_name_the_checkpoint_and_the_authors_inference(b):
    cfg = Config.fromfile(osp.join(SEGFORMER, f'segformer_mit-b{b}_smp-hub_cityscapes-'
                                              '1024x1024.py'))
    assert cfg.model.pretrained == f'smp-hub/segformer-b{b}-1024x1024-city-160k'
    assert dict(cfg.model.test_cfg) == dict(mode='slide', crop_size=(1024, 1024),
                                            stride=(768, 768))
    pre = cfg.model.data_preprocessor
    assert pre.mean == [123.675, 116.28, 103.53] and pre.std == [58.395, 57.12, 57.375]
    assert pre.bgr_to_rgb and 'arch' not in cfg.model and 'num_classes' not in cfg.model
    assert cfg.test_dataloader.dataset.split == 'val'
    assert [t.type for t in cfg.test_dataloader.dataset.pipeline] == [
        'LoadCityscapesImage', 'LoadCityscapesLabel', 'PackSegInputs']  # full 1024x2048


@pytest.mark.parametrize('b', range(6))
def test_segformer_recipes(b):
    cfg = Config.fromfile(osp.join(SEGFORMER, f'segformer_mit-b{b}_8xb1-160k_cityscapes-'
                                              '1024x1024.py'))
    assert (cfg.model.arch, cfg.model.encoder_name) == ('Segformer', f'mit_b{b}')
    assert cfg.optim_wrapper.optimizer == dict(type='AdamW', lr=6e-5, betas=(0.9, 0.999),
                                               weight_decay=0.01)
    assert cfg.train_cfg.max_iters == 160000 and cfg.param_scheduler[1].end == 160000
    assert cfg.param_scheduler[1].power == 1.0 and cfg.train_dataloader.batch_size == 8
    albu = cfg.train_pipeline[2].transforms
    assert albu[0].scale_limit == (-0.5, 1.0) and (albu[1].height, albu[1].width) == (1024, 1024)


def test_segformer_param_groups_follow_mmsegmentation():
    """10x lr on decoder and head, no weight decay on norms, as mmsegmentation's custom_keys."""
    cfg = Config.fromfile(osp.join(SEGFORMER, 'segformer_mit-b0_8xb1-160k_cityscapes-'
                                              '1024x1024.py'))
    with DefaultScope.overwrite_default_scope('cityseg'):
        model = MODELS.build({**cfg.model, 'encoder_weights': None})
        optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    by_param = {id(p): g for g in optim.param_groups for p in g['params']}
    for name, p in model.named_parameters():
        group = by_param[id(p)]
        head = name.startswith(('net.decoder', 'net.segmentation_head'))
        assert group['lr'] == pytest.approx(6e-4 if head else 6e-5), name
        if 'norm' in name and not head:
            assert group['weight_decay'] == 0, name
    encoder_linear = 'net.encoder.block1.0.attn.q.weight'
    assert by_param[id(dict(model.named_parameters())[encoder_linear])]['weight_decay'] == 0.01


def test_deeplabv3plus_r50_d8_recipe_builds_output_stride_8():
    cfg = Config.fromfile(DEEPLAB)
    assert cfg.optim_wrapper.optimizer == dict(type='SGD', lr=0.01, momentum=0.9,
                                               weight_decay=5e-4)
    assert cfg.train_cfg.max_iters == 80000 and cfg.train_dataloader.batch_size == 8
    assert (cfg.crop_size, cfg.model.test_cfg.mode) == ((512, 1024), 'whole')
    assert [loss.gamma for loss in cfg.model.loss.losses] == [0.0]  # cross-entropy only
    with DefaultScope.overwrite_default_scope('cityseg'):
        model = MODELS.build({**cfg.model, 'encoder_weights': None}).eval()
    assert model.net.encoder.output_stride == 8
    features = model.net.encoder(torch.zeros(1, 3, 64, 64))
    assert features[-1].shape[-2:] == (8, 8)  # 64 / 8
    assert model.net.decoder.aspp[0].convs[0][0].out_channels == 512

