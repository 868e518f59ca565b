"""CityscapesDataset on the synthetic Cityscapes layout: listing, label types, splits, errors."""
from __future__ import annotations

import copy
import os
import os.path as osp
import re
from glob import glob

import numpy as np
import pytest
import torch
from cityscapesscripts.helpers.labels import labels as CS_LABELS
from helpers.cityscapes_configs import BASE, HALF, copy_root, small_crop_pipeline
from helpers.cli import ROOT
from mmengine.config import Config
from PIL import Image

from cityseg.datasets import CityscapesDataset


def dataset(root, split='train', pipeline=(), **kwargs) -> CityscapesDataset:
    return CityscapesDataset(data_root=str(root), split=split, pipeline=list(pipeline), **kwargs)


def test_lists_every_image_sorted_with_its_label(synthetic_root):
    ds = dataset(synthetic_root)
    on_disk = sorted(glob(f'{synthetic_root}/leftImg8bit/train/*/*_leftImg8bit.png'))
    assert [ds.get_data_info(i)['img_path'] for i in range(len(ds))] == on_disk
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        assert info['seg_map_path'] == (info['img_path'].replace('leftImg8bit', 'gtFine', 1)
                                        .replace('_leftImg8bit.png', '_gtFine_labelTrainIds.png'))
        assert info['label_type'] == 'labelTrainIds'  # 'auto': the converted files exist


def test_metainfo_is_the_cityscapesscripts_train_table(synthetic_root):
    train = sorted((lb for lb in CS_LABELS if 0 <= lb.trainId < 255), key=lambda lb: lb.trainId)
    meta = dataset(synthetic_root).metainfo
    assert list(meta['classes']) == [lb.name for lb in train]
    assert [tuple(c) for c in meta['palette']] == [tuple(lb.color) for lb in train]
    assert len(meta['classes']) == 19


@pytest.mark.parametrize('pipeline_name', ['test_pipeline', 'train_pipeline'])
def test_label_ids_and_train_ids_give_identical_targets(synthetic_root, pipeline_name):
    pipeline = small_crop_pipeline(BASE, pipeline_name)
    outputs = {}
    for label_type in ('labelIds', 'labelTrainIds'):
        torch.manual_seed(0)  # both Albu generators start from this seed
        ds = dataset(synthetic_root, pipeline=pipeline, label_type=label_type)
        outputs[label_type] = [ds[i] for i in range(len(ds))]
    voids = 0
    for a, b in zip(outputs['labelIds'], outputs['labelTrainIds']):
        assert torch.equal(a['inputs'], b['inputs'])
        gt = a['data_samples'].gt_sem_seg.data
        assert torch.equal(gt, b['data_samples'].gt_sem_seg.data)
        voids += int((gt == 255).sum())
        assert set(gt.unique().tolist()) <= {*range(19), 255}
    assert voids > 0  # the mapping of void ids was exercised


def test_auto_falls_back_to_label_ids_unless_every_image_is_converted(synthetic_root, tmp_path):
    root = copy_root(synthetic_root, tmp_path)
    os.remove(sorted(root.glob('gtFine/train/*/*_labelTrainIds.png'))[-1])
    assert {dataset(root).get_data_info(i)['label_type'] for i in range(4)} == {'labelIds'}
    with pytest.raises(FileNotFoundError, match='1 of 4 images .* no labelTrainIds label'):
        dataset(root, label_type='labelTrainIds')


def test_test_split_loads_images_only(synthetic_root):
    ds = dataset(synthetic_root, 'test', pipeline=BASE.test_pipeline)
    assert len(ds) == len(glob(f'{synthetic_root}/leftImg8bit/test/*/*.png')) > 0
    assert 'seg_map_path' not in ds.get_data_info(0)
    sample = ds[0]['data_samples']
    assert 'gt_sem_seg' not in sample and sample.ori_shape == (64, 128)


def test_image_without_label_is_an_error_with_count_and_paths(synthetic_root, tmp_path):
    root = copy_root(synthetic_root, tmp_path)
    for path in root.glob('gtFine/train/*/*_label*Ids.png'):
        if 'bochum' in path.name or 'aachen_000001' in path.name:
            path.unlink()
    missing = sorted(str(p).replace('leftImg8bit', 'gtFine', 1)
                     .replace('_leftImg8bit.png', '_gtFine_labelIds.png')
                     for p in root.glob('leftImg8bit/train/*/*.png')
                     if 'bochum' in p.name or 'aachen_000001' in p.name)
    assert len(missing) == 2
    with pytest.raises(FileNotFoundError) as err:
        dataset(root)
    assert '2 of 4 images' in str(err.value)
    for path in missing:
        assert path in str(err.value)


def test_missing_or_empty_split_directory(synthetic_root, tmp_path):
    with pytest.raises(FileNotFoundError, match=re.escape(f'{synthetic_root}/leftImg8bit/nope')):
        dataset(synthetic_root, 'nope')
    root = copy_root(synthetic_root, tmp_path)
    for png in root.glob('leftImg8bit/val/*/*.png'):
        png.unlink()
    with pytest.raises(FileNotFoundError, match=r'No \*_leftImg8bit.png images under .*val'):
        dataset(root, 'val')


def test_bad_label_type_is_refused(synthetic_root):
    with pytest.raises(ValueError, match="'trainIds'"):
        dataset(synthetic_root, label_type='trainIds')


def test_bad_label_value_in_a_real_sample_names_the_file(synthetic_root, tmp_path):
    root = copy_root(synthetic_root, tmp_path)
    path = sorted(root.glob('gtFine/train/*/*_labelIds.png'))[0]
    label = np.asarray(Image.open(path)).copy()
    label[0, 0] = 77
    Image.fromarray(label).save(path)
    ds = dataset(root, pipeline=BASE.test_pipeline, label_type='labelIds')
    with pytest.raises(ValueError, match=rf'{re.escape(str(path))} holds values \[77\]'):
        ds[0]


def test_default_validation_is_the_full_image_and_center_crop_is_an_option(synthetic_root):
    full = dataset(synthetic_root, 'val', pipeline=BASE.test_pipeline)[0]
    assert full['inputs'].shape == (3, 64, 128)
    assert full['data_samples'].gt_sem_seg.data.shape == (1, 64, 128)
    crop_cfg = Config.fromfile(
        osp.join(ROOT, 'configs/_base_/datasets/cityscapes_center_crop_val.py'))
    steps = copy.deepcopy(crop_cfg.val_dataloader.dataset.pipeline)
    assert steps[2].transforms[0].type == 'CenterCrop'
    steps[2].transforms[0].update(height=32, width=48)
    crop = dataset(synthetic_root, 'val', pipeline=steps)[0]
    # the central 32x48 window of the 64x128 frame
    assert torch.equal(crop['inputs'], full['inputs'][:, 16:48, 40:88])
    assert torch.equal(crop['data_samples'].gt_sem_seg.data,
                       full['data_samples'].gt_sem_seg.data[:, 16:48, 40:88])


def test_half_resolution_config(synthetic_root):
    val = dataset(synthetic_root, 'val', pipeline=HALF.val_dataloader.dataset.pipeline)[0]
    assert val['inputs'].shape == (3, 32, 64)
    assert val['data_samples'].gt_sem_seg.data.shape == (1, 64, 128)  # metrics at full res
    steps = copy.deepcopy(HALF.train_dataloader.dataset.pipeline)
    steps[3].transforms[0].update(height=24, width=32)
    train = dataset(synthetic_root, pipeline=steps)[0]
    assert train['inputs'].shape == (3, 24, 32)
    assert train['data_samples'].gt_sem_seg.data.shape == (1, 24, 32)
