"""ACDC, Dark Zurich and BDD100K read from trees in their download layouts: listing, pairing,
targets equal to the label files, and errors that name the file."""
from __future__ import annotations

import os
import os.path as osp
import re

import numpy as np
import pytest
import torch
from helpers.cli import ROOT
from helpers.layouts import write_acdc, write_bdd100k, write_dark_zurich
from mmengine.config import Config
from PIL import Image

from cityseg.datasets import ACDCDataset, CityscapesDataset
from cityseg.registry import DATASETS

TEST_PIPELINE = Config.fromfile(
    osp.join(ROOT, 'configs/_base_/datasets/cityscapes.py')).test_pipeline
WRITERS = {'ACDCDataset': write_acdc, 'DarkZurichDataset': write_dark_zurich,
           'BDD100KDataset': write_bdd100k}
BASES = {'ACDCDataset': 'acdc', 'DarkZurichDataset': 'dark_zurich',
         'BDD100KDataset': 'bdd100k'}
ENV = {'ACDCDataset': 'ACDC_DATASET', 'DarkZurichDataset': 'DARK_ZURICH_DATASET',
       'BDD100KDataset': 'BDD100K_DATASET'}


@pytest.fixture(params=list(WRITERS))
def tree(request, synthetic_root, tmp_path):
    """``(dataset type, root, [(image, label), ...] in listing order)``."""
    root = tmp_path / request.param
    return request.param, root, WRITERS[request.param](synthetic_root, root)


def build(name: str, root, **kwargs):
    if name == 'ACDCDataset':
        kwargs.setdefault('conditions', ['fog', 'night'])  # the conditions write_acdc uses
    return DATASETS.build(dict(type=name, data_root=str(root), pipeline=TEST_PIPELINE,
                               **kwargs))


def test_lists_each_image_with_its_label_and_targets_equal_the_files(tree):
    name, root, written = tree
    ds = build(name, root)
    assert [(ds.get_data_info(i)['img_path'], ds.get_data_info(i)['seg_map_path'])
            for i in range(len(ds))] == written
    assert ds.metainfo['classes'] == CityscapesDataset.METAINFO['classes']
    assert ds.metainfo['palette'] == CityscapesDataset.METAINFO['palette']
    for i, (img, label) in enumerate(written):
        sample = ds[i]
        expected = np.asarray(Image.open(label))
        assert torch.equal(sample['data_samples'].gt_sem_seg.data[0], torch.from_numpy(expected))
        assert (expected < 19).any() and (expected == 255).any()  # classes and void exercised
        bgr = np.asarray(Image.open(img).convert('RGB'))[..., ::-1]
        assert np.array_equal(sample['inputs'].permute(1, 2, 0).numpy(), bgr)


def test_missing_label_is_an_error_naming_it(tree):
    name, root, written = tree
    os.remove(written[-1][1])
    with pytest.raises(FileNotFoundError, match=re.escape(written[-1][1])) as err:
        build(name, root)
    assert '1 of ' in str(err.value) and 'labelTrainIds' in str(err.value)


def test_label_of_another_size_names_both_files(tree):
    name, root, written = tree
    img, label = written[0]
    Image.fromarray(np.asarray(Image.open(label))[:, :-2]).save(label)
    with pytest.raises(ValueError, match=re.escape(label)) as err:
        build(name, root)[0]
    assert img in str(err.value) and '128x64' in str(err.value) and '126x64' in str(err.value)


def test_label_values_that_are_not_train_ids_name_the_file(tree):
    name, root, written = tree
    label = written[0][1]
    array = np.asarray(Image.open(label)).copy()
    array[0, 0] = 19
    Image.fromarray(array).save(label)
    with pytest.raises(ValueError, match=rf'{re.escape(label)} holds values \[19\]'):
        build(name, root)[0]


def test_missing_split_folder_says_which_variable_to_set(tree):
    name, root, _ = tree
    with pytest.raises(FileNotFoundError, match=ENV[name]):
        build(name, root, split='train')


def test_test_split_has_no_labels(tree):
    name, root, written = tree
    for img, _ in written:  # the images move to the test split; no labels go with them
        os.renames(img, img.replace('/val/', '/test/'))
    ds = build(name, root, split='test')
    assert [ds.get_data_info(i)['img_path'] for i in range(len(ds))] == \
        [img.replace('/val/', '/test/') for img, _ in written]
    assert 'seg_map_path' not in ds.get_data_info(0)
    assert 'gt_sem_seg' not in ds[0]['data_samples']


def test_acdc_selects_conditions(synthetic_root, tmp_path):
    written = write_acdc(synthetic_root, tmp_path, conditions=('fog', 'night'))
    night = ACDCDataset(str(tmp_path), conditions='night')
    assert [night.get_data_info(i)['img_path'] for i in range(len(night))] == \
        [img for img, _ in written if '/night/' in img]
    both = ACDCDataset(str(tmp_path), conditions=['night', 'fog'])
    assert len(both) == len(written) and '/night/' in both.get_data_info(0)['img_path']
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / 'rgb_anon/snow/val'))):
        ACDCDataset(str(tmp_path), conditions=['fog', 'snow'])
    with pytest.raises(ValueError, match="'haze'"):
        ACDCDataset(str(tmp_path), conditions=['fog', 'haze'])


@pytest.mark.parametrize('name', list(WRITERS))
def test_base_config_reads_the_root_from_its_environment_variable(name, monkeypatch, tmp_path):
    path = osp.join(ROOT, f'configs/_base_/datasets/{BASES[name]}.py')
    monkeypatch.setenv(ENV[name], str(tmp_path))
    cfg = Config.fromfile(path)
    for loader in ('val_dataloader', 'test_dataloader'):
        assert cfg[loader].dataset.type == name
        assert cfg[loader].dataset.data_root == str(tmp_path)
        assert cfg[loader].dataset.split == 'val'
    assert 'instance_iou' not in cfg.test_evaluator  # tools/test.py's 'auto' skips iIoU
    monkeypatch.delenv(ENV[name])
    assert Config.fromfile(path).test_dataloader.dataset.data_root == f'data/{BASES[name]}'


def test_cityscapes_config_switches_to_acdc_with_cfg_options(synthetic_root, tmp_path):
    """docs/datasets.md's switch: the training config, its test dataset's type and root replaced."""
    from cityseg.utils import load_config
    written = write_acdc(synthetic_root, tmp_path)
    cfg = load_config(osp.join(ROOT, 'configs/deeplabv3plus_effb3_512.py'), {
        'test_dataloader.dataset.type': 'ACDCDataset',
        'test_dataloader.dataset.data_root': str(tmp_path),
        'test_dataloader.dataset.conditions': ['fog', 'night']})
    ds = DATASETS.build(cfg.test_dataloader.dataset)
    assert [ds.get_data_info(i)['img_path'] for i in range(len(ds))] == [i for i, _ in written]
