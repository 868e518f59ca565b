"""Running the tools as a user does (a subprocess), and the quickstart shrunk to seconds on
the session's tiny synthetic dataset."""
import argparse
import glob
import json
import os.path as osp
import subprocess
import sys
from pathlib import Path

from mmengine.config import DictAction

from helpers.local_network import free_port
from helpers.tool_runner import base_env, run_python

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
QUICKSTART = osp.join(ROOT, 'configs', 'quickstart_synthetic.py')
SMALL_SYNTHETIC = dict(num_train=4, num_val=2, num_test=1, size=(128, 64), seed=0)
# The environment of a run with one process per core (torchrun's ranks, and the single process
# they are compared with): one thread each, whatever the test process's share of the cores.
# Both variables: 2 MKL threads in every rank of a 2-rank run on 2 cores doubled its wall time
# (measured: the gloo semi training, 48 s against 23 s).
ONE_THREAD = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}


def torchrun_env(tmp_dir) -> dict[str, str]:
    """The environment of a torchrun test: one thread a rank (:data:`ONE_THREAD`), a free
    rendezvous port in ``PORT`` (what tools/dist_*.sh read), and ``TMPDIR`` in the test's own
    folder: torchrun leaves a ``torchelastic_*`` folder there on every run, which would pile
    up in /tmp."""
    return {'PORT': str(free_port()), 'TMPDIR': str(tmp_dir), **ONE_THREAD}


def tiny_cfg_options(data_root: str, work_dir: str) -> list[str]:
    """--cfg-options that shrink the quickstart to seconds on the session's tiny dataset."""
    opts = [f'work_dir={work_dir}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.num_workers=0',
                 f'{loader}.persistent_workers=False', f'{loader}.batch_size=2']
        opts += [f'{loader}.dataset.generate.{k}={list(v) if isinstance(v, tuple) else v}'
                 .replace(' ', '') for k, v in SMALL_SYNTHETIC.items()]
    return opts + [
        'train_dataloader.dataset.pipeline.2.transforms.0.height=64',
        'train_dataloader.dataset.pipeline.2.transforms.0.width=64',
        'model.encoder_name=resnet18',
        'model.model_kwargs.decoder_channels=[16,16,16,16,16]',
        'train_cfg.max_iters=4', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1',
    ]


def written_files(folder) -> list[Path]:
    """The files a tool wrote into ``folder``, sorted, cityseg's output manifest
    (``.cityseg_output.json``, cityseg.utils.output_dir) aside."""
    return sorted(p for p in Path(folder).iterdir() if p.name != '.cityseg_output.json')


def parse_cfg_options(options: list[str]) -> dict:
    """``key=value`` strings parsed as the tools parse ``--cfg-options`` (mmengine's DictAction)."""
    parser = argparse.ArgumentParser()
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(['--cfg-options', *options]).cfg_options


def val_files(data_root: str, kind: str = 'leftImg8bit') -> list[str]:
    """The sorted ``<kind>/val/*/*.png`` files of a Cityscapes-layout root."""
    return sorted(glob.glob(osp.join(data_root, kind, 'val', '*', '*.png')))


def run_command(cmd: list[str], env: dict | None = None, expect_failure: bool = False,
                cwd: str = ROOT) -> str:
    """Run ``cmd`` (this worker's torch threads unless ``env`` says otherwise) and return its
    stdout and stderr; a wrong exit status fails the test with the output's tail. This Python's
    scripts start through helpers/tool_runner.py."""
    env = {**base_env(), **(env or {})}
    if cmd[0] == sys.executable:
        proc = run_python(cmd[1:], env, cwd)
    else:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=600, env=env)
    assert (proc.returncode != 0) == expect_failure, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def run_tool(script: str, *args: str, env: dict | None = None,
             expect_failure: bool = False) -> str:
    """``python tools/<script> *args`` through :func:`run_command`."""
    return run_command([sys.executable, osp.join(ROOT, 'tools', script), *args], env,
                       expect_failure)


def script_process(path: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """``python <path> *args`` (this worker's torch threads) from the repository root,
    finished: its status, stdout and stderr apart, for tests of how a script ends."""
    return run_python([path, *args], {**base_env(), **(env or {})}, ROOT)


def tool_process(script: str, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """:func:`script_process` of ``tools/<script>``, for tests of how a tool ends."""
    return script_process(osp.join(ROOT, 'tools', script), *args, env=env)


def metrics_file(work_dir: str) -> str:
    """The one ``<work_dir>/<timestamp>/metrics.json`` a tools/test.py run wrote."""
    (path,) = glob.glob(osp.join(work_dir, '*', 'metrics.json'))
    return path


def read_test_metrics(work_dir: str) -> dict:
    """The contents of :func:`metrics_file`."""
    with open(metrics_file(work_dir)) as f:
        return json.load(f)


def read_scalars(work_dir: str) -> list[dict]:
    """The records LocalVisBackend wrote in the one run of ``work_dir``."""
    (path,) = glob.glob(osp.join(work_dir, '*', 'vis_data', 'scalars.json'))
    with open(path) as f:
        return [json.loads(line) for line in f]
