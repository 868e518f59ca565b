"""Session fixtures: one small synthetic dataset per test session and the tiny trained
checkpoint (tests/helpers/tiny_checkpoint.py). Helpers shared by test modules live in
tests/helpers/, imported as ``helpers.<module>``; test modules never import each other."""
import os

import pytest
import torch
from helpers.cli import SMALL_SYNTHETIC

from cityseg.utils import register_all_modules

# The tiny trained checkpoint's fixtures (tiny_work_dir, checkpoint, model).
pytest_plugins = ['helpers.tiny_checkpoint']

torch.set_num_threads(2)
register_all_modules()


@pytest.fixture(scope='session', autouse=True)
def lock_dir(tmp_path_factory) -> str:
    """cityseg's lock folder (cityseg.utils.fileio.lock_path) inside the session's temp dir, for
    this process and the tools it runs, so that tests leave nothing in ~/.cache."""
    folder = str(tmp_path_factory.getbasetemp() / 'locks')
    os.environ.setdefault('CITYSEG_LOCK_DIR', folder)
    return os.environ['CITYSEG_LOCK_DIR']


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A Cityscapes-layout synthetic dataset, 128x64 images, generated once per session."""
    from cityseg.datasets.synthetic import ensure_synthetic_cityscapes
    root = tmp_path_factory.mktemp('synthetic') / 'cityscapes'
    ensure_synthetic_cityscapes(root, **SMALL_SYNTHETIC)
    return str(root)
