"""The new datasets through the real command lines: a Cityscapes-trained checkpoint evaluated
on ACDC, Dark Zurich and BDD100K trees with tools/test.py, and a SegFolderDataset tree with 5
named classes trained and evaluated with tools/train.py and tools/test.py."""
from __future__ import annotations

import glob
import os
import os.path as osp
import shutil

import cv2
import numpy as np
import pytest
import torch
from helpers.cli import ROOT, read_test_metrics, run_tool
from helpers.layouts import (
    cityscapes_pairs,
    write_acdc,
    write_bdd100k,
    write_cityscapes_from,
    write_dark_zurich,
)
from PIL import Image

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

TINY_MODEL = ("model = dict(encoder_name='resnet18', encoder_weights=None, "
              "model_kwargs=dict(decoder_channels=(16, 16, 16, 16, 16)))\n")
LOADER = ['test_dataloader.num_workers=0', 'test_dataloader.persistent_workers=False',
          'test_dataloader.batch_size=2']


def tiny_config(tmp_path, name: str, bases: list[str], extra: str = '') -> str:
    """A config file inheriting ``bases`` (paths under configs/) with the tiny checkpoint's
    model: the shape of a user's evaluation config."""
    path = tmp_path / f'{name}.py'
    path.write_text(f'_base_ = {[osp.join(ROOT, "configs", b) for b in bases]}\n'
                    + TINY_MODEL + extra)
    return str(path)


def test_metrics(config: str, checkpoint: str, work_dir, *opts: str,
                 env: dict | None = None, tool_args: list[str] = ()) -> dict:
    run_tool('test.py', config, checkpoint, '--work-dir', str(work_dir), *tool_args,
             '--cfg-options', *LOADER, *opts, env=env)
    return read_test_metrics(str(work_dir))


test_metrics.__test__ = False  # a helper, not a test


@pytest.fixture(scope='module')
def reference(synthetic_root, checkpoint, tmp_path_factory):
    """Trees of the same images in each layout, and the tiny checkpoint's metrics on the
    Cityscapes one (its PNGs are the BDD100K JPEGs as decoded, so every layout holds the
    same pixels)."""
    tmp = tmp_path_factory.mktemp('layouts')
    bdd = write_bdd100k(synthetic_root, tmp / 'bdd100k')
    write_cityscapes_from(bdd, tmp / 'cityscapes')
    acdc = write_acdc(str(tmp / 'cityscapes'), tmp / 'acdc')
    write_dark_zurich(str(tmp / 'cityscapes'), tmp / 'dark_zurich')
    cs_config = tiny_config(tmp, 'unet_cityscapes', ['unet_effb3_512.py'])
    metrics = test_metrics(cs_config, checkpoint, tmp / 'work_cs',
                           f'test_dataloader.dataset.data_root={tmp / "cityscapes"}')
    return dict(tmp=tmp, cs_config=cs_config, metrics=metrics, acdc=acdc)


def same_scores(a: dict, b: dict) -> None:
    assert a['mIoU'] == pytest.approx(b['mIoU'], abs=1e-12)
    assert a['confusion_matrix']['counts'] == b['confusion_matrix']['counts']
    assert a['confusion_matrix']['classes'] == b['confusion_matrix']['classes']


def test_reference_run_counts_every_labelled_pixel(reference, synthetic_root):
    labels = [np.asarray(Image.open(label)) for *_, label in cityscapes_pairs(synthetic_root)]
    counts = np.asarray(reference['metrics']['confusion_matrix']['counts'])
    assert counts.sum() == sum(int((lb != 255).sum()) for lb in labels)
    assert counts.sum(axis=1).tolist() == np.bincount(
        np.concatenate([lb[lb != 255] for lb in labels]), minlength=19).tolist()


def test_acdc_by_cfg_options_gives_the_cityscapes_scores(reference, checkpoint):
    tmp = reference['tmp']
    metrics = test_metrics(reference['cs_config'], checkpoint, tmp / 'work_acdc',
                           'test_dataloader.dataset.type=ACDCDataset',
                           f'test_dataloader.dataset.data_root={tmp / "acdc"}',
                           'test_dataloader.dataset.conditions=[fog,night]')
    same_scores(metrics, reference['metrics'])


@pytest.mark.parametrize('name,env', [('dark_zurich', 'DARK_ZURICH_DATASET'),
                                      ('bdd100k', 'BDD100K_DATASET')])
def test_dataset_base_config_gives_the_cityscapes_scores(reference, checkpoint, name, env):
    """A config made of a model base, the dataset base and the runtime, its root from the
    environment variable."""
    tmp = reference['tmp']
    config = tiny_config(tmp, f'unet_{name}', [
        '_base_/models/unet_effb3.py', f'_base_/datasets/{name}.py',
        '_base_/schedules/default_hooks.py', '_base_/default_runtime.py'],
        "val_cfg = dict(type='ValLoop')\ntest_cfg = dict(type='TestLoop')\n")
    metrics = test_metrics(config, checkpoint, tmp / f'work_{name}',
                           env={env: str(tmp / name)})
    same_scores(metrics, reference['metrics'])


def test_missing_acdc_label_stops_test_py_naming_the_file(reference, checkpoint, tmp_path):
    root = shutil.copytree(reference['tmp'] / 'acdc', tmp_path / 'acdc')
    label = reference['acdc'][-1][1].replace(str(reference['tmp'] / 'acdc'), str(root))
    os.remove(label)
    log = run_tool('test.py', reference['cs_config'], checkpoint, '--work-dir',
                   str(tmp_path / 'work'), '--cfg-options', *LOADER,
                   'test_dataloader.dataset.type=ACDCDataset',
                   f'test_dataloader.dataset.data_root={root}',
                   'test_dataloader.dataset.conditions=[fog,night]', expect_failure=True)
    assert label in log


CLASSES = ('ground', 'structure', 'greenery', 'heaven', 'mover')
# configs/custom_dataset_example.py's palette, retyped.
PALETTE = [(0, 0, 0), (128, 64, 128), (0, 0, 142), (220, 20, 60), (107, 142, 35)]
# Cityscapes train id -> one of the 5 classes (void stays 255).
TO_FIVE = np.full(256, 255, dtype=np.uint8)
TO_FIVE[:19] = [0, 0, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4, 4, 4, 4, 4, 4, 4, 4]


def write_folder_tree(cs_root: str, out) -> None:
    """images/{train,val}/<city>/*.jpg and labels/{train,val}/<city>/*.png (5 classes)."""
    for split in ('train', 'val'):
        for city, stem, img, label in cityscapes_pairs(cs_root, split):
            jpg = out / 'images' / split / city / f'{stem}.jpg'
            png = out / 'labels' / split / city / f'{stem}.png'
            jpg.parent.mkdir(parents=True, exist_ok=True)
            png.parent.mkdir(parents=True, exist_ok=True)
            assert cv2.imwrite(str(jpg), cv2.imread(img))
            Image.fromarray(TO_FIVE[np.asarray(Image.open(label))]).save(png)


def custom_options(root, work_dir) -> list[str]:
    opts = [f'work_dir={work_dir}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={root}', f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False', f'{loader}.batch_size=2',
                 f'{loader}.dataset.classes=[{",".join(CLASSES)}]']
    return opts + [
        'train_dataloader.dataset.pipeline.2.transforms.0.height=64',
        'train_dataloader.dataset.pipeline.2.transforms.0.width=64',
        'model.encoder_name=resnet18', 'model.encoder_weights=None',
        'model.model_kwargs.decoder_channels=[16,16,16,16,16]',
        'train_cfg.max_iters=4', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
        'param_scheduler.0.end=4']


def test_custom_dataset_example_trains_and_evaluates_with_its_class_names(synthetic_root,
                                                                          tmp_path):
    config = osp.join(ROOT, 'configs', 'custom_dataset_example.py')
    root, work_dir = tmp_path / 'mine', tmp_path / 'work'
    write_folder_tree(synthetic_root, root)
    log = run_tool('train.py', config, '--cfg-options', *custom_options(root, work_dir))
    table_rows = [line for line in log.splitlines() if line.startswith('| ')]
    for name in CLASSES:
        assert any(row.split('|')[1].strip() == name for row in table_rows), name
    ckpt = torch.load(osp.join(work_dir, 'iter_4.pth'), map_location='cpu', weights_only=False)
    assert ckpt['meta']['dataset_meta']['classes'] == CLASSES
    (head, ) = [v for k, v in ckpt['state_dict'].items()
                if k.startswith('net.segmentation_head.') and k.endswith('.weight')]
    assert head.shape[0] == len(CLASSES)  # one output channel per class

    # tools/test.py as a user runs it: no instance_iou override (its 'auto' finds no
    # Cityscapes instance files), test-server files and pictures.
    out, show = tmp_path / 'out', tmp_path / 'show'
    metrics = test_metrics(config, osp.join(work_dir, 'iter_4.pth'), tmp_path / 'test',
                           *custom_options(root, work_dir)[1:],
                           tool_args=['--out', str(out), '--show-dir', str(show)])
    assert list(metrics['per_class']) == list(CLASSES)
    assert 'mIoU' in metrics and 'iIoU' not in metrics
    assert 'iIoU' not in metrics['per_class']['ground']
    val_labels = sorted(glob.glob(str(root / 'labels' / 'val' / '*' / '*.png')))
    labels = [np.asarray(Image.open(p)) for p in val_labels]
    counts = np.asarray(metrics['confusion_matrix']['counts'])
    assert counts.sum(axis=1).tolist() == np.bincount(
        np.concatenate([lb[lb != 255] for lb in labels]), minlength=5).tolist()
    # --out holds the class indices themselves (PNG, though the images are JPEGs): the
    # metric's confusion matrix is numpy's count of (label, --out file) pairs.
    preds = [np.asarray(Image.open(out / osp.basename(p))) for p in val_labels]
    expected = np.zeros((5, 5), np.int64)
    for lb, pred in zip(labels, preds):
        np.add.at(expected, (lb[lb != 255], pred[lb != 255]), 1)
    assert counts.tolist() == expected.tolist()
    # --show-dir colours are the config's palette, looked up by hand.
    for path, pred in zip(val_labels, preds):
        stem = osp.splitext(osp.basename(path))[0]
        color = np.asarray(Image.open(show / f'{stem}_color.png').convert('RGB'))
        assert color.tolist() == [[list(PALETTE[v]) for v in row] for row in pred.tolist()]

    # tools/infer.py with the same config colours its pictures the same way.
    infer_out = tmp_path / 'infer'
    run_tool('infer.py', config, osp.join(work_dir, 'iter_4.pth'), str(root / 'images' / 'val'),
             '--out', str(infer_out), '--recursive', '--cfg-options',
             *custom_options(root, work_dir)[1:])
    (train_ids_file, ) = glob.glob(str(infer_out / '*' / f'{stem}_trainIds.png'))
    train_ids = np.asarray(Image.open(train_ids_file))
    color = np.asarray(Image.open(train_ids_file.replace('_trainIds', '_color')).convert('RGB'))
    assert set(np.unique(train_ids)) <= set(range(5))
    assert color.tolist() == [[list(PALETTE[v]) for v in row] for row in train_ids.tolist()]


def test_model_classes_differing_from_the_dataset_classes_is_an_error(synthetic_root,
                                                                      tmp_path):
    config = osp.join(ROOT, 'configs', 'custom_dataset_example.py')
    log = run_tool('train.py', config, '--cfg-options',
                   *custom_options(tmp_path, tmp_path / 'work'), 'model.num_classes=19',
                   expect_failure=True)
    assert 'model.num_classes=19 but train_dataloader.dataset has 5 classes' in log
    assert str(CLASSES) in log
