"""Session data made once per test run, also when pytest-xdist runs the suite in several worker
processes: each worker has its own base temp dir, so the data goes to their common parent, made
under a file lock by whichever worker asks first."""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Callable

from filelock import FileLock


def run_temp_dir(tmp_path_factory) -> str:
    """The temp dir of this whole test run: the parent of the workers' own under xdist."""
    base = tmp_path_factory.getbasetemp()
    return str(base.parent if os.environ.get('PYTEST_XDIST_WORKER') else base)


def shared_dir(tmp_path_factory, name: str, build: Callable[[str], None]) -> str:
    """The folder ``name`` shared by every worker of this run, ``build(folder)`` called once.

    A folder is complete once its ``<name>.done`` marker exists beside it (not in it: the tests
    look at what the tools wrote there), so a worker never reads a half-built one; without xdist
    the base temp dir itself is the shared parent."""
    folder = osp.join(run_temp_dir(tmp_path_factory), name)
    with FileLock(folder + '.lock'):
        if not osp.isfile(folder + '.done'):
            os.makedirs(folder, exist_ok=True)
            build(folder)
            open(folder + '.done', 'w').close()
    return folder
