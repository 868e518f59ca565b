"""The CamVid configs end to end on the real CamVid frames, shrunk to seconds (64x64 crops,
3 iterations, one validation frame): the CPU recipe, FixMatch 1/8 and DACS day -> dusk
through tools/train.py, --resume (exact) and tools/test.py on the dusk frames."""
from __future__ import annotations

import os
import os.path as osp
import shutil

import numpy as np
import pytest
import torch
from helpers.camvid import CAMVID_ROOT
from helpers.cli import ROOT, read_test_metrics, run_tool
from PIL import Image

from cityseg.datasets.camvid_labels import CLASSES, PALETTE
from cityseg.utils.checkpoint_loading import safe_torch_load

pytestmark = pytest.mark.integration

CONFIGS = {
    'recipe': osp.join(ROOT, 'configs', 'camvid', 'unet-r18_camvid-360x480_cpu-60min.py'),
    'semi': osp.join(ROOT, 'configs', 'semi', 'fixmatch_unet-r18_camvid-1-8.py'),
    'uda': osp.join(ROOT, 'configs', 'uda', 'dacs_unet-r18_camvid-day2dusk.py'),
}
# Where each config's train datasets are and where their random crop sits in the pipeline.
TRAIN = 'train_dataloader.dataset'
CROPS = {
    'recipe': [(TRAIN, 2)],
    'semi': [(f'{TRAIN}.labelled', 2), (f'{TRAIN}.unlabelled', 1)],
    'uda': [(f'{TRAIN}.datasets.0', 2), (f'{TRAIN}.datasets.1', 1)],
}
ENV = {'CAMVID_DATASET': CAMVID_ROOT}
DUSK_FRAME = '0001TP_006690'  # the first frame of the dusk sequence in train


def _options(name: str, work_dir: str, cache_dir: str) -> list[str]:
    """--cfg-options that shrink ``name`` to seconds: 64x64 crops, batch 2, 3 iterations
    (warm-up 1, burn-in 1), a checkpoint at 2, one validation (at 3) on one val frame, the
    network cut to ResNet-18's first 3 stages and a narrow decoder (small checkpoints)."""
    net = 'model.model_kwargs' if name == 'recipe' else 'model.student.model_kwargs'
    opts = [f'work_dir={work_dir}', 'train_dataloader.batch_size=2',
            f'{net}.encoder_depth=3', f'{net}.decoder_channels=[16,16,16]',
            'val_dataloader.dataset.indices=1',
            'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
            'param_scheduler.0.end=1', 'param_scheduler.1.begin=1',
            'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']
    opts += [f'{loader}.num_workers=0'
             for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')]
    for dataset, crop_at in CROPS[name]:
        opts += [f'{dataset}.pipeline.{crop_at}.transforms.1.{side}=64'
                 for side in ('height', 'width')]
        # the recipe's cache on 4 frames; the others' would decode every train frame first
        opts.append(f'{dataset}.cache_dir={cache_dir if name == "recipe" else None}')
    if name == 'recipe':
        opts.append(f'{TRAIN}.indices=4')
    else:  # iteration 0 supervised, then self-training (the checkpoint at 2 resumes inside it)
        opts.append('model.semi_cfg.burn_in=1')
    return opts


def _weights(path: str) -> dict:
    return safe_torch_load(path, map_location='cpu')['state_dict']


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def run(request, tmp_path_factory) -> tuple[str, str, str]:
    """(config name, work dir, decoded-sample cache dir) of a 3-iteration tools/train.py run."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    work_dir, cache_dir = str(tmp / 'work'), str(tmp / 'cache')
    log = run_tool('train.py', CONFIGS[name], '--cfg-options',
                   *_options(name, work_dir, cache_dir), env=ENV)
    assert 'Class weights (enet)' in log and 'Iter(val) [1/1]' in log
    if name != 'recipe':
        assert 'loss_unsup' in log and 'pseudo_confident' in log
    return name, work_dir, cache_dir


def test_training_checkpoints_and_caches(run):
    name, work_dir, cache_dir = run
    assert osp.isfile(osp.join(work_dir, 'iter_2.pth'))
    assert osp.isfile(osp.join(work_dir, 'iter_3.pth'))
    assert osp.isfile(osp.join(work_dir, 'plots', 'miou.png'))
    cached = sorted(osp.splitext(f)[1] for f in
                    (os.listdir(cache_dir) if osp.isdir(cache_dir) else []))
    assert cached == (['.bin', '.index'] if name == 'recipe' else [])


def test_resume_continues_exactly(run, tmp_path):
    """--resume from iteration 2 trains iteration 3 only, to the straight run's weights."""
    name, work_dir, cache_dir = run
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(osp.join(work_dir, 'iter_2.pth'), resumed / 'iter_2.pth')
    log = run_tool('train.py', CONFIGS[name], '--resume', str(resumed / 'iter_2.pth'),
                   '--cfg-options', *_options(name, str(resumed), cache_dir), env=ENV)
    assert 'Iter(train) [3/3]' in log and 'Iter(train) [1/3]' not in log
    straight = _weights(osp.join(work_dir, 'iter_3.pth'))
    again = _weights(str(resumed / 'iter_3.pth'))
    assert straight.keys() == again.keys()
    for key in straight:
        assert torch.equal(straight[key], again[key]), key


def test_checkpoint_evaluates_on_the_dusk_frames(run, tmp_path):
    """tools/test.py with the documented dusk options: the first dusk frame is evaluated with
    its own labels (the confusion matrix's ground truth is that label file's pixel counts)."""
    name, work_dir, cache_dir = run
    test_dir = str(tmp_path / 'test')
    run_tool('test.py', CONFIGS[name], osp.join(work_dir, 'iter_3.pth'), '--cfg-options',
             *_options(name, test_dir, cache_dir), 'test_dataloader.dataset.split=train',
             'test_dataloader.dataset.sequences=[0001TP]', 'test_dataloader.dataset.indices=1',
             env=ENV)
    metrics = read_test_metrics(test_dir)
    assert metrics['checkpoint'].endswith('iter_3.pth') and 0 <= metrics['mIoU'] <= 1
    matrix = metrics['confusion_matrix']
    assert tuple(matrix['classes']) == CLASSES and matrix['rows'] == 'ground truth'
    label = np.asarray(Image.open(osp.join(CAMVID_ROOT, 'trainannot', DUSK_FRAME + '.png')))
    expected = np.bincount(label.ravel(), minlength=12)[:11]  # 11 = void, not evaluated
    assert np.array_equal(np.asarray(matrix['counts']).sum(1), expected)


@pytest.mark.parametrize('run', ['recipe'], indirect=True)  # the CamVid configs share it
def test_infer_writes_camvid_classes_in_camvid_colours(run, tmp_path):
    """tools/infer.py on a folder of CamVid frames: the class indices of the checkpoint's 11
    classes, coloured in CamVid's palette, and no Cityscapes label ids (CamVid has none)."""
    name, work_dir, cache_dir = run
    frames = tmp_path / 'frames'
    frames.mkdir()
    shutil.copy(osp.join(CAMVID_ROOT, 'val', '0016E5_07959.png'), frames)
    out = tmp_path / 'pred'
    run_tool('infer.py', CONFIGS[name], osp.join(work_dir, 'iter_3.pth'), str(frames), '--out',
             str(out), '--cfg-options', *_options(name, str(tmp_path / 'w'), cache_dir), env=ENV)
    assert sorted(p.name for p in out.glob('*.png')) == [
        '0016E5_07959_color.png', '0016E5_07959_overlay.png', '0016E5_07959_trainIds.png']
    train_ids = np.asarray(Image.open(out / '0016E5_07959_trainIds.png'))
    color = np.asarray(Image.open(out / '0016E5_07959_color.png').convert('RGB'))
    assert train_ids.max() <= 10
    for class_id in np.unique(train_ids):
        assert (color[train_ids == class_id] == PALETTE[class_id]).all(), CLASSES[class_id]
