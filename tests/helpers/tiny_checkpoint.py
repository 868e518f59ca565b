"""One tiny checkpoint trained through tools/train.py, shared by the API and user-tool tests.

Training is the slow part (a subprocess, a Runner, four iterations), so the first caller trains
into a folder shared by the whole run (helpers/shared_dir.py) and later callers, in any test
module or pytest-xdist worker, reuse that work dir.
The fixtures below (``tiny_work_dir``, ``checkpoint``, ``model``) reach every test module
through ``pytest_plugins`` in tests/conftest.py; each module gets its own model instance.
"""
from __future__ import annotations

import os.path as osp

import pytest
from torch import nn

from cityseg.apis import init_model
from helpers.cli import QUICKSTART, parse_cfg_options, run_tool, tiny_cfg_options
from helpers.shared_dir import shared_dir


def model_options(data_root: str) -> dict:
    """The tiny run's ``--cfg-options`` for the model and test data, parsed as the tools parse
    them, for ``init_model(..., cfg_options=...)``."""
    return parse_cfg_options([o for o in tiny_cfg_options(data_root, work_dir='unused')
                              if o.startswith(('model.', 'test_dataloader.'))])


def trained_work_dir(tmp_path_factory, data_root: str) -> str:
    """The work dir of the tiny run (``iter_4.pth``, scalars.json), trained on first use."""
    return shared_dir(tmp_path_factory, 'tiny_checkpoint', lambda work_dir: run_tool(
        'train.py', QUICKSTART, '--cfg-options',
        *tiny_cfg_options(data_root, work_dir)))


@pytest.fixture(scope='module')
def tiny_work_dir(synthetic_root, tmp_path_factory) -> str:
    """The tiny run's work dir, trained on first use in the session."""
    return trained_work_dir(tmp_path_factory, synthetic_root)


@pytest.fixture(scope='module')
def checkpoint(tiny_work_dir) -> str:
    """The tiny run's final checkpoint."""
    return osp.join(tiny_work_dir, 'iter_4.pth')


@pytest.fixture(scope='module')
def model(checkpoint, synthetic_root) -> nn.Module:
    """The tiny checkpoint loaded by ``init_model``, one instance per test module."""
    return init_model(QUICKSTART, checkpoint, cfg_options=model_options(synthetic_root))
