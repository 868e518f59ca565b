"""A fresh clone without data or network: the missing dataset is named before any download,
and an encoder download that cannot happen fails in seconds saying how to train without it.
Only a 127.0.0.1 socket that accepts and never answers stands in for the hub."""
import os
import os.path as osp
import subprocess
import sys
import time

import pytest
from helpers.cli import ROOT
from helpers.local_network import silent_hub

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

TRAIN = osp.join(ROOT, 'tools', 'train.py')
CONFIG = osp.join(ROOT, 'configs', 'deeplabv3plus_effb3_512.py')


def _run(args, tmp_path, **env) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, 'HF_HOME': str(tmp_path / 'hf_home'), 'PYTHONPATH': ROOT,
           'NO_PROXY': '127.0.0.1', **env}
    start = time.perf_counter()
    out = subprocess.run(args, env=env, capture_output=True, text=True, timeout=120,
                         cwd=tmp_path)
    return time.perf_counter() - start, out


def test_missing_dataset_is_named_before_any_download(tmp_path):
    missing = tmp_path / 'no_cityscapes'
    with silent_hub() as endpoint:
        seconds, out = _run([sys.executable, TRAIN, CONFIG, '--work-dir', str(tmp_path / 'w')],
                            tmp_path, HF_ENDPOINT=endpoint, HF_HUB_OFFLINE='0',
                            CITYSCAPES_DATASET=str(missing))
    assert out.returncode != 0
    # a download attempt would hang on the silent hub for a minute; imports take ~7 s on an
    # idle 2-core machine, more beside the suite's other workers
    assert seconds < 30, seconds
    assert f"train_dataloader.dataset.data_root='{missing}'" in out.stderr, out.stderr
    assert f"val_dataloader.dataset.data_root='{missing}'" in out.stderr
    assert 'CITYSCAPES_DATASET' in out.stderr
    assert '--cfg-options train_dataloader.dataset.data_root=PATH' in out.stderr
    assert not osp.exists(tmp_path / 'hf_home' / 'hub'), 'a download was attempted'


_BUILD = """
from cityseg.models.networks import build_network
build_network('Unet', encoder_name='resnet18', encoder_weights='imagenet', classes=3)
"""
_BUILD_TIMM = _BUILD.replace("'resnet18'", "'tu-resnet18'")


def _assert_says_how_to_train_offline(stderr: str, encoder: str = 'resnet18') -> None:
    assert f"could not download encoder_weights='imagenet' for encoder '{encoder}'" in stderr
    assert 'model.encoder_weights=None' in stderr
    assert 'path of a local .pth / .safetensors file' in stderr
    assert 'HF_HUB_OFFLINE=1' in stderr


def test_encoder_download_offline_fails_fast_saying_how_to_train_without_it(tmp_path):
    seconds, out = _run([sys.executable, '-c', _BUILD], tmp_path, HF_HUB_OFFLINE='1')
    assert out.returncode != 0 and seconds < 30, (seconds, out.stderr)
    _assert_says_how_to_train_offline(out.stderr)
    assert 'OfflineModeIsEnabled' in out.stderr


# One 5 s hub request plus ~7 s of imports on an idle 2-core machine (more beside the suite's
# other workers); the hub libraries' own retries take 52 s (timm) to a minute (smp).
SILENT_HUB_BOUND_S = 35


def test_encoder_download_from_a_silent_hub_fails_within_seconds(tmp_path):
    """One request with cityseg's 5 s hub timeout, not huggingface_hub's minute of retries."""
    with silent_hub() as endpoint:
        seconds, out = _run([sys.executable, '-c', _BUILD], tmp_path, HF_ENDPOINT=endpoint,
                            HF_HUB_OFFLINE='0')
    assert out.returncode != 0 and seconds < SILENT_HUB_BOUND_S, (seconds, out.stderr)
    _assert_says_how_to_train_offline(out.stderr)
    assert 'Timeout' in out.stderr


def test_timm_encoder_download_from_a_silent_hub_fails_within_seconds(tmp_path):
    """timm's own download retried for 52 s (model.safetensors, then pytorch_model.bin)."""
    with silent_hub() as endpoint:
        seconds, out = _run([sys.executable, '-c', _BUILD_TIMM], tmp_path, HF_ENDPOINT=endpoint,
                            HF_HUB_OFFLINE='0')
    assert out.returncode != 0 and seconds < SILENT_HUB_BOUND_S, (seconds, out.stderr)
    _assert_says_how_to_train_offline(out.stderr, 'tu-resnet18')
    assert 'Timeout' in out.stderr


def test_resume_with_another_class_count_is_refused_naming_both(synthetic_root, tmp_path):
    from helpers.cli import QUICKSTART, run_tool, tiny_cfg_options
    work_dir = str(tmp_path / 'work')
    opts = tiny_cfg_options(synthetic_root, work_dir) + ['train_cfg.max_iters=2']
    run_tool('train.py', QUICKSTART, '--cfg-options', *opts)
    ckpt = osp.join(work_dir, 'iter_2.pth')
    start = time.perf_counter()
    log = run_tool('train.py', QUICKSTART, '--resume', ckpt, '--cfg-options', *opts,
                   'model.num_classes=20', expect_failure=True)
    assert f'{ckpt} was trained on 19 classes but {QUICKSTART} builds a model with ' \
        'num_classes=20' in log, log[-2000:]
    assert 'class weights for logits' not in log and time.perf_counter() - start < 60


def test_self_generating_synthetic_data_is_not_a_missing_dataset(tmp_path):
    """The quickstart's data_root does not exist on a fresh clone: it is generated, not refused."""
    from mmengine.config import Config

    from cityseg.utils.dataset_roots import check_dataset_roots
    cfg = Config.fromfile(osp.join(ROOT, 'configs', 'quickstart_synthetic.py'))
    for loader in ('train_dataloader', 'val_dataloader'):
        cfg[loader].dataset.data_root = str(tmp_path / 'not_yet_generated')
    check_dataset_roots(cfg)  # no error
    cfg.train_dataloader.dataset.type = 'CityscapesDataset'
    cfg.train_dataloader.dataset.pop('generate')
    with pytest.raises(FileNotFoundError, match='train_dataloader.dataset.data_root'):
        check_dataset_roots(cfg)


def test_offline_evaluation_of_a_checkpoint_downloads_no_encoder_weights(checkpoint,
                                                                        synthetic_root,
                                                                        tmp_path):
    """The checkpoint replaces the ImageNet encoder: test.py offline must not fetch it."""
    from helpers.cli import QUICKSTART, tiny_cfg_options
    seconds, out = _run([sys.executable, osp.join(ROOT, 'tools', 'test.py'), QUICKSTART,
                         checkpoint, '--cfg-options',
                         *tiny_cfg_options(synthetic_root, str(tmp_path / 'w')),
                         'model.encoder_weights=imagenet'], tmp_path, HF_HUB_OFFLINE='1')
    assert out.returncode == 0, out.stderr[-3000:]
    assert 'could not download' not in out.stderr and 'mIoU' in out.stdout + out.stderr
