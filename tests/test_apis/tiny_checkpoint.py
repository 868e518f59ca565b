"""One tiny checkpoint trained through tools/train.py, shared by the API and user-tool tests.

Training is the slow part (a subprocess, a Runner, four iterations), so the first caller trains
into the session's base temp dir and later callers, in any test module, reuse that work dir.
"""
from __future__ import annotations

import argparse
import os
import os.path as osp
import subprocess
import sys

from conftest import ROOT, tiny_cfg_options
from mmengine.config import DictAction

QUICKSTART = osp.join(ROOT, 'configs', 'quickstart_synthetic.py')


def model_options(data_root: str) -> dict:
    """The tiny run's ``--cfg-options`` for the model and test data, parsed as the tools parse
    them, for ``init_model(..., cfg_options=...)``."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    opts = [o for o in tiny_cfg_options(data_root, work_dir='unused')
            if o.startswith(('model.', 'test_dataloader.'))]
    return parser.parse_args(['--cfg-options', *opts]).cfg_options


def trained_work_dir(tmp_path_factory, data_root: str) -> str:
    """The work dir of the tiny run (``iter_4.pth``, scalars.json), trained on first use."""
    work_dir = osp.join(str(tmp_path_factory.getbasetemp()), 'tiny_checkpoint')
    if not osp.isfile(osp.join(work_dir, 'iter_4.pth')):
        proc = subprocess.run(
            [sys.executable, osp.join(ROOT, 'tools', 'train.py'), QUICKSTART, '--cfg-options',
             *tiny_cfg_options(data_root, work_dir)],
            capture_output=True, text=True, cwd=ROOT, env={**os.environ, 'OMP_NUM_THREADS': '2'})
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return work_dir
