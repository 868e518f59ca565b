"""The runtime-only install (``bash tools/install.sh``, no extras) runs every tool.

The suite itself runs with the dev extras installed, so these tests start the tools in a Python
whose imports cannot see any distribution outside the closure of setup.py's install_requires
(onnx, onnxruntime, tensorboard, pytest...): a sitecustomize.py, first on PYTHONPATH, wraps the
import system's finders so that those packages look absent, as they are after the runtime-only
install.
"""
import ast
import importlib.metadata as md
import json
import os
import os.path as osp
import re
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest
from helpers.cli import QUICKSTART, ROOT, run_command, run_tool, tiny_cfg_options, val_files
from packaging.requirements import Requirement

from cityseg.apis import inference_model

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

EXTRA_MODULES = ('onnx', 'onnxruntime', 'tensorboard')  # the extras this test is about
INSTALLER_DISTS = {'pip', 'setuptools', 'wheel', 'cityseg'}  # what tools/install.sh adds

# Started by Python before anything else in the tool's process (see the module docstring).
SITECUSTOMIZE = '''\
"""Make the distributions a runtime-only install lacks unimportable and invisible to
importlib.metadata (written by tests/test_tools/test_runtime_install.py)."""
import re
import sys

HIDDEN_MODULES = {modules!r}
HIDDEN_DISTS = {dists!r}


class _Hide:
    def __init__(self, finder):
        self._finder = finder

    def find_spec(self, name, path=None, target=None):
        if name.partition('.')[0] in HIDDEN_MODULES:
            return None
        return self._finder.find_spec(name, path, target)

    def find_distributions(self, *args, **kwargs):
        find = getattr(self._finder, 'find_distributions', None)
        for dist in find(*args, **kwargs) if find else ():
            if re.sub(r'[-_.]+', '-', dist.metadata['Name'] or '').lower() not in HIDDEN_DISTS:
                yield dist

    def __getattr__(self, name):
        return getattr(self._finder, name)


sys.meta_path[:] = [_Hide(finder) for finder in sys.meta_path]
'''

# ``python -c HELP_DRIVER MODULES TOOL...``: runs each tool as ``python TOOL --help`` would
# (argv[0], sys.path[0], __main__), one process for all of them to keep the test short; prints
# which of the comma-separated MODULES it could find, and what each tool exited with and wrote.
HELP_DRIVER = '''\
import contextlib, importlib.util, io, json, os, runpy, sys, traceback
import cityseg
report = {'cityseg': cityseg.__file__, 'tools': {},
          'found': [n for n in sys.argv[1].split(',') if importlib.util.find_spec(n)]}
for tool in sys.argv[2:]:
    sys.argv, sys.path[0] = [tool, '--help'], os.path.dirname(tool)
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(tool, run_name='__main__')
        code = 'returned without exiting'
    except SystemExit as e:
        code = e.code
    except BaseException:
        code = traceback.format_exc()
    report['tools'][tool] = [code, out.getvalue()]
print(json.dumps(report))
'''


def _norm(name: str) -> str:
    return re.sub(r'[-_.]+', '-', name).lower()


def runtime_distributions() -> set[str]:
    """setup.py's install_requires and everything they require, as installed here."""
    tree = ast.parse(Path(ROOT, 'setup.py').read_text())
    (requires,) = [ast.literal_eval(node.value) for node in tree.body
                   if isinstance(node, ast.Assign) and node.targets[0].id == 'INSTALL_REQUIRES']
    seen, todo = set(), [Requirement(r).name for r in requires]
    while todo:
        name = _norm(todo.pop())
        if name in seen:
            continue
        seen.add(name)
        for req in map(Requirement, md.requires(name) or []):
            if req.marker is None or req.marker.evaluate({'extra': ''}):
                todo.append(req.name)
    return seen


@pytest.fixture(scope='module')
def runtime_env(tmp_path_factory) -> dict:
    """Environment variables for a tool that sees only a runtime-only install (and this
    worktree's cityseg)."""
    keep = runtime_distributions() | INSTALLER_DISTS
    hidden_dists = {_norm(d.metadata['Name']) for d in md.distributions()} - keep
    providers = md.packages_distributions()
    hidden_modules = {m for m, dists in providers.items()
                      if m not in sys.stdlib_module_names
                      and all(_norm(d) in hidden_dists for d in dists)}
    assert set(EXTRA_MODULES) <= hidden_modules, 'the dev extras should be installed here'
    folder = tmp_path_factory.mktemp('runtime_only')
    (folder / 'sitecustomize.py').write_text(SITECUSTOMIZE.format(
        modules=sorted(hidden_modules), dists=sorted(hidden_dists)))
    path = os.pathsep.join([str(folder), ROOT, os.environ.get('PYTHONPATH', '')])
    return {'PYTHONPATH': path}


def tool_scripts() -> list[str]:
    """Every entry point in tools/ and tools/analysis_tools/."""
    scripts = []
    for folder in ('tools', osp.join('tools', 'analysis_tools')):
        for name in sorted(os.listdir(osp.join(ROOT, folder))):
            path = osp.join(ROOT, folder, name)
            if name.endswith('.py') and "if __name__ == '__main__':" in Path(path).read_text():
                scripts.append(path)
    return scripts


def test_every_tool_help_without_optional_packages(runtime_env):
    scripts = tool_scripts()
    names = {osp.basename(s) for s in scripts}
    assert {'infer.py', 'export_onnx.py', 'benchmark_onnx.py', 'train.py', 'test.py'} <= names
    out = run_command([sys.executable, '-c', HELP_DRIVER, ','.join(EXTRA_MODULES), *scripts],
                      runtime_env)
    report = json.loads(out.strip().splitlines()[-1])
    assert report['found'] == [], 'the sitecustomize did not hide the optional packages'
    assert report['cityseg'].startswith(ROOT), report['cityseg']
    assert len(report['tools']) == len(scripts)
    for script, (code, text) in report['tools'].items():
        assert code == 0, f'{script} --help: {code}'
        assert f'usage: {osp.basename(script)}' in text, f'{script} --help printed {text!r}'


@pytest.fixture(scope='module')
def image_and_options(synthetic_root, tmp_path_factory) -> tuple[str, list[str]]:
    """A 128x64 validation image and the tiny model's --cfg-options."""
    work_dir = str(tmp_path_factory.mktemp('runtime_only_work'))
    return val_files(synthetic_root)[0], ['--cfg-options',
                                          *tiny_cfg_options(synthetic_root, work_dir)]


def test_infer_pytorch_backend_without_optional_packages(runtime_env, checkpoint, model,
                                                          image_and_options, tmp_path):
    image, opts = image_and_options
    run_tool('infer.py', QUICKSTART, checkpoint, image, '--out', str(tmp_path), *opts,
             env=runtime_env)
    stem = osp.splitext(osp.basename(image))[0]
    for suffix in ('_color.png', '_overlay.png', '_labelIds.png'):
        assert osp.isfile(tmp_path / f'{stem}{suffix}')
    written = mmcv.imread(str(tmp_path / f'{stem}_trainIds.png'), flag='unchanged')
    expected = inference_model(model, image).train_ids  # this process, with every package
    np.testing.assert_array_equal(written, expected)


@pytest.mark.parametrize('tool', ['infer.py', 'test.py'])
def test_onnxruntime_backend_names_the_extra_to_install(runtime_env, image_and_options,
                                                        tmp_path, tool):
    image, opts = image_and_options
    inputs = [image, '--out', str(tmp_path)] if tool == 'infer.py' else []
    log = run_tool(tool, QUICKSTART, '-', *inputs, '--backend', 'onnxruntime', '--onnx',
                   str(tmp_path / 'model.onnx'), *opts, env=runtime_env, expect_failure=True)
    last = log.strip().splitlines()[-1]
    assert last.startswith('error: running ') and "needs 'onnxruntime'" in last  # a named error
    assert 'Traceback' not in log
    assert '''pip install -e ".[onnx]" (the 'onnx' extra''' in last, last
