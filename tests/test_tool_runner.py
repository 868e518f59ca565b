"""The tests' tool runner (helpers/tool_runner.py) gives what ``subprocess.run`` gives: a script
started through the pre-imported zygote sees the same argv, environment, working folder and
``sys.path``, ends with the same status, output and traceback, and draws its own random seeds."""
import json
import subprocess
import sys
import textwrap

import pytest
from helpers.tool_runner import base_env, run_python

pytestmark = pytest.mark.integration

SCRIPT = textwrap.dedent('''
    import json, os, random, sys
    import numpy as np
    import torch
    print(json.dumps(dict(
        argv=sys.argv[1:], cwd=os.getcwd(), path0=sys.path[0], main=__name__,
        stdin=sys.stdin.read(), env=os.environ.get('CITYSEG_PROBE'),
        draws=[random.random(), float(np.random.rand()), float(torch.rand(1))],
        modules=sorted(m for m in sys.modules if m.startswith('cityseg')))))
    print('to stderr', file=sys.stderr)
    sys.exit(int(sys.argv[1]))
''')


def both_ways(args: list[str], env: dict, cwd: str) -> tuple:
    """The same run through the runner and as a plain subprocess."""
    ours = run_python(args, env, cwd)
    plain = subprocess.run([sys.executable, *args], capture_output=True, text=True, env=env,
                           cwd=cwd, stdin=subprocess.DEVNULL, timeout=120)
    return ours, plain


def test_a_script_sees_and_ends_as_under_subprocess(tmp_path):
    script = tmp_path / 'probe.py'
    script.write_text(SCRIPT)
    env = {**base_env(), 'CITYSEG_PROBE': 'runtime value'}
    ours, plain = both_ways([str(script), '3', 'b c'], env, str(tmp_path))
    assert (ours.returncode, ours.stderr) == (plain.returncode, plain.stderr) == (3, 'to stderr\n')
    seen, expected = json.loads(ours.stdout), json.loads(plain.stdout)
    assert seen.pop('draws') != expected.pop('draws')
    assert seen == expected == dict(argv=['3', 'b c'], cwd=str(tmp_path), path0=str(tmp_path),
                                    main='__main__', stdin='', env='runtime value', modules=[])


def test_each_run_draws_new_seeds(tmp_path):
    """A fresh interpreter seeds random, numpy and torch anew; forked children would share
    the zygote's state unless reseeded."""
    script = tmp_path / 'probe.py'
    script.write_text(SCRIPT)
    draws = [json.loads(run_python([str(script), '0'], base_env(), str(tmp_path)).stdout)['draws']
             for _ in range(2)]
    assert all(a != b for a, b in zip(*draws))


def test_an_uncaught_exception_is_a_traceback_and_status_1(tmp_path):
    script = tmp_path / 'bug.py'
    script.write_text('def f():\n    raise KeyError("missing")\nf()\n')
    ours, plain = both_ways([str(script)], base_env(), str(tmp_path))
    assert ours.returncode == plain.returncode == 1
    assert ours.stderr.splitlines()[-1] == plain.stderr.splitlines()[-1] == "KeyError: 'missing'"
    assert 'Traceback (most recent call last):' in ours.stderr
    assert f'File "{script}", line 2, in f' in ours.stderr


def test_an_import_time_variable_starts_a_fresh_interpreter(tmp_path):
    """The thread counts are read when torch loads: the zygote's torch has read its own."""
    script = tmp_path / 'threads.py'
    script.write_text('import torch\nprint(torch.get_num_threads())\n')
    for threads in ('1', '2'):
        env = {**base_env(), 'OMP_NUM_THREADS': threads, 'MKL_NUM_THREADS': threads}
        proc = run_python([str(script)], env, str(tmp_path))
        assert proc.stdout.strip() == threads


def test_a_run_past_its_timeout_is_killed(tmp_path):
    script = tmp_path / 'hang.py'
    script.write_text('import time\nprint("started", flush=True)\ntime.sleep(600)\n')
    with pytest.raises(subprocess.TimeoutExpired):
        run_python([str(script)], base_env(), str(tmp_path), timeout=3)
    after = tmp_path / 'after.py'
    after.write_text('print("served")\n')
    proc = run_python([str(after)], base_env(), str(tmp_path))  # the zygote still serves
    assert (proc.returncode, proc.stdout) == (0, 'served\n')
