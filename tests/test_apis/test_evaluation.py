"""cityseg.apis.build_evaluation_runner in a training's work dir (issue 23): the training's
config copy stays as it was, and a checkpoint rotated away after it was read is still
evaluated."""
from __future__ import annotations

import argparse
import os
import shutil

import pytest
import torch
from helpers.cli import QUICKSTART
from helpers.engine import tiny_config

from cityseg.apis.evaluation import build_evaluation_runner
from cityseg.utils.checkpoint_loading import read_checkpoint_once

pytestmark = pytest.mark.integration  # builds a Runner


def test_an_evaluation_in_a_training_work_dir_keeps_its_config_copy_and_survives_rotation(
        checkpoint, synthetic_root, tmp_path):
    work_dir = tmp_path / 'run'
    work_dir.mkdir()
    training_copy = work_dir / 'quickstart_synthetic.py'
    training_copy.write_text('# the config this work dir was trained with\n')
    best = work_dir / 'best_mIoU_iter_4.pth'
    shutil.copyfile(checkpoint, best)
    state, digest = read_checkpoint_once(str(best))
    os.remove(best)  # the training's CheckpointHook keeps a better one and removes this
    cfg = tiny_config(synthetic_root, str(work_dir))
    args = argparse.Namespace(checkpoint=str(best), onnx=None, config=QUICKSTART,
                              launcher='none', backend='pytorch')
    runner = build_evaluation_runner(cfg, args, state)
    expected = torch.load(checkpoint, weights_only=True)['state_dict']
    assert all(torch.equal(v, expected[k]) for k, v in runner.model.state_dict().items())
    assert training_copy.read_text() == '# the config this work dir was trained with\n'
    assert 'max_iters=4' in (tmp_path / 'run' / runner.timestamp /
                             'quickstart_synthetic.py').read_text()
    assert len(digest) == 64
