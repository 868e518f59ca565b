"""``python <script> args`` for the tests, through a pre-imported zygote when that cannot change
what the script sees (helpers/tool_zygote.py), else as a plain subprocess.

The zygote is started once per test process, with this process's environment and its share
of the cores as torch threads. A run goes through it only when its environment differs from
that one in variables a library reads at run time (``CITYSEG_*``, ``*_DATASET``): one that
torch, OpenMP, Python or the Hugging Face hub reads at import (``OMP_NUM_THREADS``,
``TORCH_LOGS``, ``PYTHONPATH``, ``HF_*``) would already have been read, so such a run starts a
fresh interpreter.
"""
from __future__ import annotations

import atexit
import json
import os
import os.path as osp
import re
import select
import signal
import subprocess
import sys
import tempfile
import time

ZYGOTE = osp.join(osp.dirname(osp.abspath(__file__)), 'tool_zygote.py')


def _threads_per_worker() -> str:
    """This test process's share of the cores: all of them alone, half each beside a second
    pytest-xdist worker. Two workers of 2 torch threads each on 2 cores ran a small training
    step at a quarter of the pair's throughput with 1 thread each (measured: 6.8 against 28.7
    iterations/s per process): OpenMP threads spin waiting for a core the other worker holds."""
    workers = int(os.environ.get('PYTEST_XDIST_WORKER_COUNT', '1'))
    return str(max(1, len(os.sched_getaffinity(0)) // workers))


TORCH_THREADS = _threads_per_worker()
BASE_ENV = {'OMP_NUM_THREADS': TORCH_THREADS, 'MKL_NUM_THREADS': TORCH_THREADS}
RUNTIME_VARIABLE = re.compile(r'CITYSEG_\w+|\w+_DATASET|PYTEST_CURRENT_TEST')

_zygote: dict = {}


def base_env() -> dict:
    """The environment a test's tool run starts from: this process's, with this worker's share
    of the cores as torch threads (:data:`TORCH_THREADS`)."""
    return {**os.environ, **BASE_ENV}


def _start_zygote() -> subprocess.Popen:
    env = base_env()
    proc = subprocess.Popen([sys.executable, ZYGOTE], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env, bufsize=0)
    atexit.register(proc.kill)
    _zygote.update(proc=proc, env=env)
    return proc


def _read_reply(proc: subprocess.Popen, deadline: float) -> dict:
    """One JSON line from the zygote, or TimeoutError once ``deadline`` passes."""
    line = b''
    while not line.endswith(b'\n'):
        if not select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))[0]:
            raise TimeoutError
        chunk = os.read(proc.stdout.fileno(), 1)
        if not chunk:
            raise RuntimeError(f'the tool zygote ({ZYGOTE}) exited: status {proc.wait()}')
        line += chunk
    return json.loads(line)


def _zygote_can_run(env: dict) -> bool:
    zygote_env = _zygote['env'] if _zygote else base_env()
    changed = {k for k in env.keys() | zygote_env.keys() if env.get(k) != zygote_env.get(k)}
    return all(RUNTIME_VARIABLE.fullmatch(k) for k in changed)


def run_python(args: list[str], env: dict, cwd: str,
               timeout: float = 600) -> subprocess.CompletedProcess:
    """``python *args`` finished, with ``env`` and ``cwd``: its status, stdout and stderr as
    text, as ``subprocess.run(..., capture_output=True, text=True)`` gives them."""
    cmd = [sys.executable, *args]
    if args[0].startswith('-') or not _zygote_can_run(env):  # -c, -m: not a script
        return subprocess.run(cmd, capture_output=True, text=True, cwd=cwd, timeout=timeout,
                              env=env)
    proc = _zygote.get('proc') or _start_zygote()
    with tempfile.TemporaryDirectory(prefix='tool_run_') as tmp:
        out, err = osp.join(tmp, 'stdout'), osp.join(tmp, 'stderr')
        request = dict(argv=list(args), env=env, cwd=cwd, stdout=out, stderr=err)
        proc.stdin.write((json.dumps(request) + '\n').encode())
        deadline = time.monotonic() + timeout
        pid = _read_reply(proc, deadline)['pid']
        try:
            returncode = _read_reply(proc, deadline)['returncode']
        except TimeoutError:
            os.kill(pid, signal.SIGKILL)
            _read_reply(proc, time.monotonic() + 60)
            raise subprocess.TimeoutExpired(cmd, timeout) from None
        with open(out, errors='replace') as o, open(err, errors='replace') as e:
            return subprocess.CompletedProcess(cmd, returncode, o.read(), e.read())
