"""Session fixtures: one small synthetic dataset per test session, the tiny trained
checkpoint (tests/helpers/tiny_checkpoint.py) and the self-training checkpoints
(tests/helpers/self_training_checkpoint.py). Helpers shared by test modules live in
tests/helpers/, imported as ``helpers.<module>``; test modules never import each other."""
import os
import os.path as osp

import pytest
import torch
from helpers.cli import SMALL_SYNTHETIC
from helpers.shared_dir import run_temp_dir, shared_dir
from helpers.tool_runner import BASE_ENV, TORCH_THREADS

from cityseg.utils import register_all_modules

# The tiny trained checkpoint's fixtures (tiny_work_dir, checkpoint, model) and the trained
# self-training runs (self_training_run: FixMatch and DACS).
pytest_plugins = ['helpers.tiny_checkpoint', 'helpers.self_training_checkpoint']

# This worker's share of the cores (2 alone on 2 cores, 1 beside a second xdist worker).
torch.set_num_threads(int(TORCH_THREADS))
# The tools the tests run inherit these. mmengine's setup_env sets MKL_NUM_THREADS=1 (and
# OMP_NUM_THREADS=1) in os.environ when a test builds a distributed Runner in this process and
# they are unset; a tool started afterwards from this worker would then do its matrix products
# on one thread, and a resumed run from one worker would differ from the straight run of
# another in the last bits (seen: test_semi_uda_train's exact-resume tests, 2 runs in 4).
# Set, not defaulted: an xdist worker inherits the controller's (its whole machine's) count.
os.environ.update(BASE_ENV)
register_all_modules()


@pytest.fixture(scope='session', autouse=True)
def lock_dir(tmp_path_factory) -> str:
    """cityseg's lock folder (cityseg.utils.fileio.lock_path) inside the run's temp dir (one
    for all xdist workers), for this process and the tools it runs, so that tests leave nothing
    in ~/.cache."""
    folder = osp.join(run_temp_dir(tmp_path_factory), 'locks')
    os.environ.setdefault('CITYSEG_LOCK_DIR', folder)
    return os.environ['CITYSEG_LOCK_DIR']


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory) -> str:
    """A Cityscapes-layout synthetic dataset, 128x64 images, generated once per test run."""
    from cityseg.datasets.synthetic import ensure_synthetic_cityscapes
    folder = shared_dir(tmp_path_factory, 'synthetic', lambda d: ensure_synthetic_cityscapes(
        osp.join(d, 'cityscapes'), **SMALL_SYNTHETIC))
    return osp.join(folder, 'cityscapes')


def pytest_collection_modifyitems(items) -> None:
    """Run tests/test_tools/ (the tools as subprocesses, the slowest files) first. Under
    ``-n 2 --dist loadfile`` each worker takes whole files in collection order, so the slow
    files ending the alphabet would otherwise leave one worker finishing alone."""
    items.sort(key=lambda item: not item.nodeid.startswith('tests/test_tools/'))
