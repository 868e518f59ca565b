"""tools/publish_model.py end to end: tiny checkpoint -> tools/test.py -> publish -> plain smp,
tools/test.py from the folder, fine-tuning from it."""
import glob
import hashlib
import json
import os.path as osp
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import segmentation_models_pytorch as smp
import torch
import torch.nn.functional as F
from helpers.cli import (
    QUICKSTART,
    metrics_file,
    read_test_metrics,
    run_tool,
    tiny_cfg_options,
    val_files,
)
from safetensors.torch import load_file

from cityseg.apis import inference_model, read_image
from cityseg.apis.publish import read_metrics
from cityseg.datasets.labels import CLASSES
from cityseg.utils.fileio import file_sha256
from cityseg.utils.output_dir import MANIFEST_NAME

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration


@pytest.fixture(scope='module')
def published(checkpoint, synthetic_root, tmp_path_factory):
    """tools/test.py on the tiny checkpoint, then tools/publish_model.py with its metrics."""
    tmp = tmp_path_factory.mktemp('publish')
    opts = tiny_cfg_options(synthetic_root, str(tmp / 'test_ckpt'))
    run_tool('test.py', QUICKSTART, checkpoint, '--cfg-options', *opts)
    metrics = read_test_metrics(str(tmp / 'test_ckpt')) | {
        'path': metrics_file(str(tmp / 'test_ckpt'))}
    out = tmp / 'published'
    run_tool('publish_model.py', QUICKSTART, checkpoint, str(out), '--metrics', metrics['path'],
             '--dataset', 'synthetic Cityscapes', '--cfg-options', *opts)
    return str(out), metrics, tmp


def test_plain_smp_loads_the_folder_with_cityseg_logits(published, model):
    out, _, _ = published
    net = smp.from_pretrained(out).eval()
    x = torch.randn(2, 3, 64, 128)
    with torch.no_grad():
        # Same weights; the quickstart runs channels_last, whose convolutions sum in another
        # order than plain smp's contiguous layout, so agreement is to float32 rounding.
        torch.testing.assert_close(net(x), model(x, mode='tensor'), rtol=1e-5, atol=1e-5)


def test_card_preprocessing_reproduces_cityseg_predictions(published, model, synthetic_root):
    """The preprocessing the card states, applied by hand to an image, with plain smp."""
    out, _, _ = published
    with open(osp.join(out, 'preprocessing.json')) as f:
        prep = json.load(f)
    assert prep['channel_order'] == 'RGB' and prep['inference']['mode'] == 'whole'
    net = smp.from_pretrained(out).eval()
    path = val_files(synthetic_root)[0]
    bgr = read_image(path)
    x = torch.from_numpy(np.ascontiguousarray(bgr[..., ::-1])).permute(2, 0, 1).float()
    x = (x - torch.tensor(prep['mean']).view(3, 1, 1)) / torch.tensor(prep['std']).view(3, 1, 1)
    h, w = x.shape[1:]
    m = prep['pad_to_multiple_of']
    x = F.pad(x, (0, -w % m, 0, -h % m))
    with torch.no_grad():
        ids = net(x[None])[0, :, :h, :w].argmax(0).numpy().astype(np.uint8)
    np.testing.assert_array_equal(ids, inference_model(model, path).train_ids)


def test_card_holds_metrics_per_class_dataset_preprocessing_config(published):
    out, metrics, _ = published
    with open(osp.join(out, 'README.md')) as f:
        card = f.read()
    assert 'library_name: segmentation-models-pytorch' in card
    assert f"| mIoU | {metrics['mIoU']:.4f} |" in card
    for name in CLASSES:
        iou = metrics['per_class'][name]['IoU']
        assert f"| {name} | {'-' if iou is None else f'{iou:.4f}'} |" in card, name
    assert 'synthetic Cityscapes' in card and 'channel order: RGB' in card
    assert 'mean: [123.675, 116.28, 103.53]' in card and 'std: [58.395, 57.12, 57.375]' in card
    assert "max_iters=4" in card and "encoder_name='resnet18'" in card  # the training config


def test_slim_checkpoint_named_by_sha256_without_optimizer(published, checkpoint):
    out, _, _ = published
    (slim,) = glob.glob(osp.join(out, '*.pth'))
    digest = hashlib.sha256(Path(slim).read_bytes()).hexdigest()
    assert re.fullmatch(rf'iter_4-{digest[:8]}\.pth', osp.basename(slim))
    ckpt = torch.load(slim, weights_only=True)
    assert set(ckpt) == {'meta', 'state_dict'}
    full = torch.load(checkpoint, weights_only=True)
    assert 'optimizer' in full
    assert all(torch.equal(full['state_dict'][k], v) for k, v in ckpt['state_dict'].items())
    assert ckpt['state_dict'].keys() == full['state_dict'].keys()


@pytest.mark.parametrize('no_checkpoint', [[], ['-']], ids=['omitted', 'dash'])
def test_test_py_from_the_folder_gives_the_checkpoints_miou(published, synthetic_root,
                                                            no_checkpoint):
    out, metrics, tmp = published
    work_dir = str(tmp / f'test_folder{len(no_checkpoint)}')
    run_tool('test.py', QUICKSTART, *no_checkpoint, '--cfg-options',
             *tiny_cfg_options(synthetic_root, work_dir), f'model.pretrained={out}')
    again = read_test_metrics(work_dir)
    assert again['checkpoint'] is None and again['pretrained'] == out
    assert again['mIoU'] == metrics['mIoU'] and again['per_class'] == metrics['per_class']
    assert again['confusion_matrix'] == metrics['confusion_matrix']


def test_metrics_of_another_checkpoint_are_refused(published, tiny_work_dir):
    _, metrics, _ = published
    with pytest.raises(ValueError, match='evaluates checkpoint .*iter_4.pth.*, not .*iter_2.pth'):
        read_metrics(metrics['path'], osp.join(tiny_work_dir, 'iter_2.pth'))


def test_publishing_again_replaces_the_earlier_published_model(published, checkpoint,
                                                               synthetic_root):
    out, metrics, _ = published
    (Path(out) / 'stale.txt').write_text('x')  # as if an earlier version had written it
    manifest = Path(out) / MANIFEST_NAME
    manifest.write_text(manifest.read_text().replace('"files": [', '"files": ["stale.txt", '))
    before = sorted(p.name for p in Path(out).iterdir())
    run_tool('publish_model.py', QUICKSTART, checkpoint, out, '--metrics', metrics['path'],
             '--dataset', 'synthetic Cityscapes', '--cfg-options',
             *tiny_cfg_options(synthetic_root, 'unused'))
    assert sorted(p.name for p in Path(out).iterdir()) == [n for n in before if n != 'stale.txt']


def test_a_users_folder_or_file_is_refused_not_replaced(checkpoint, tmp_path):
    """Issue 23: OUT_DIR holding a user's files was emptied, a file there became a folder."""
    mine = tmp_path / 'mine'
    (mine / 'sub').mkdir(parents=True)
    for name in ('notes.txt', 'README.md', 'sub/a.txt'):
        (mine / name).write_text(name)
    log = run_tool('publish_model.py', QUICKSTART, checkpoint, str(mine), '--metrics', 'x.json',
                   expect_failure=True)
    assert (f'error: {mine} holds files cityseg did not write (README.md, notes.txt, '
            'sub/a.txt;') in log and 'move those files out' in log
    assert sorted(p.relative_to(mine).as_posix() for p in mine.rglob('*')) == [
        'README.md', 'notes.txt', 'sub', 'sub/a.txt']
    file = tmp_path / 'model'
    file.write_text('a file')
    log = run_tool('publish_model.py', QUICKSTART, checkpoint, str(file), '--metrics', 'x.json',
                   expect_failure=True)
    assert f'error: {file} is a file, not a folder' in log and file.read_text() == 'a file'


def test_a_checkpoint_replaced_at_the_same_path_is_refused(published, checkpoint,
                                                           tiny_work_dir, tmp_path):
    """Issue 23: only the path was compared, so a checkpoint retrained into the same path after
    tools/test.py was published with the old file's metrics."""
    metrics = dict(published[1])  # the fixture's dict stays as it is
    assert metrics['checkpoint_sha256'] == file_sha256(checkpoint)  # recorded by tools/test.py
    ckpt = tmp_path / 'iter_4.pth'
    shutil.copyfile(checkpoint, ckpt)
    moved = tmp_path / 'metrics.json'
    moved.write_text(json.dumps({**metrics, 'checkpoint': str(ckpt)}))
    assert read_metrics(str(moved), str(ckpt))['mIoU'] == metrics['mIoU']  # the same bytes
    shutil.copyfile(osp.join(tiny_work_dir, 'iter_2.pth'), ckpt)
    with pytest.raises(ValueError, match=rf'{ckpt} has changed since {moved} evaluated it '
                       rf'\(sha256 {metrics["checkpoint_sha256"][:12]} then, [0-9a-f]{{12}} now'):
        read_metrics(str(moved), str(ckpt))
    del metrics['checkpoint_sha256']
    moved.write_text(json.dumps({**metrics, 'checkpoint': str(ckpt)}))
    with pytest.raises(ValueError, match='records no checkpoint_sha256'):
        read_metrics(str(moved), str(ckpt))


def test_test_py_needs_a_checkpoint_or_pretrained(synthetic_root, tmp_path):
    log = run_tool('test.py', QUICKSTART, '--cfg-options',
                   *tiny_cfg_options(synthetic_root, str(tmp_path)), expect_failure=True)
    assert 'no CHECKPOINT given' in log and 'model.pretrained' in log


def test_fine_tuning_starts_from_the_folders_weights(published, synthetic_root, tmp_path):
    """One training step at lr 0 leaves every parameter as the folder has it: the Runner's
    weight initialisation does not overwrite pretrained weights."""
    out, _, _ = published
    run_tool('train.py', QUICKSTART, '--cfg-options',
             *tiny_cfg_options(synthetic_root, str(tmp_path)), f'model.pretrained={out}',
             'optim_wrapper.optimizer.lr=0', 'train_cfg.max_iters=1', 'train_cfg.val_interval=1',
             'default_hooks.checkpoint.interval=1', 'param_scheduler.0.end=1')
    state = torch.load(osp.join(tmp_path, 'iter_1.pth'), weights_only=True)['state_dict']
    folder = load_file(osp.join(out, 'model.safetensors'))
    params = dict(smp.from_pretrained(out).named_parameters())
    assert params
    for name in params:
        trained = state['net.' + name.replace('segmentation_head.', 'segmentation_head.1.')]
        assert torch.equal(trained, folder[name]), name
