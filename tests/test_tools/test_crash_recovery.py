"""Faults injected into tools/train.py as a user meets them: kill -9 during a checkpoint write,
a second run in the same work dir. Nothing that was saved before is lost."""
import glob
import os
import os.path as osp
import signal
import subprocess
import sys
import textwrap

import pytest
import torch
from helpers.cli import ROOT, run_command, run_tool, script_process, tiny_cfg_options

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

TRAIN = osp.join(ROOT, 'tools', 'train.py')


def killing_train(tmp_path, kill_at: int) -> str:
    """A tools/train.py that kill -9s itself half-way through its ``kill_at``-th checkpoint
    write (a temporary file is left, exactly as a real kill leaves it)."""
    script = tmp_path / 'train_killed.py'
    script.write_text(textwrap.dedent(f'''
        import os, runpy, signal, sys
        from cityseg.engine import checkpoint_backend
        real_write, calls = checkpoint_backend.atomic_write, [0]

        def write(data, path):
            if str(path).endswith('.pth'):
                calls[0] += 1
                if calls[0] == {kill_at}:
                    tmp = os.path.join(os.path.dirname(path),
                                       '.' + os.path.basename(path)[:-4] + '.tmp-0123abcd.pth')
                    with open(tmp, 'wb') as f:
                        f.write(data[:len(data) // 2])
                    os.kill(os.getpid(), signal.SIGKILL)
            real_write(data, path)

        checkpoint_backend.atomic_write = write
        sys.argv = [{TRAIN!r}] + sys.argv[1:]
        runpy.run_path({TRAIN!r}, run_name='__main__')
    '''))
    return str(script)


def test_kill_during_third_checkpoint_write_then_resume_finishes(synthetic_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    opts = tiny_cfg_options(synthetic_root, work_dir) + [
        'train_cfg.max_iters=6', 'default_hooks.checkpoint.max_keep_ckpts=1']
    config = osp.join(ROOT, 'configs', 'quickstart_synthetic.py')
    # Writes: iter_2 (1), best at 2 (2), iter_2 again with the best recorded (3) ... The
    # killed write is that third one; then kill again while writing iter_4 (max_keep=1 has
    # already asked for iter_2 to go).
    proc = script_process(killing_train(tmp_path, 3), config, '--cfg-options', *opts)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    files = sorted(os.listdir(work_dir))
    assert 'iter_2.pth' in files and '.iter_2.tmp-0123abcd.pth' in files, files
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert osp.isfile(f.read().strip())

    out = run_tool('train.py', config, '--resume', '--cfg-options', *opts)
    assert 'left by an interrupted write' in out
    files = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth') or '.tmp-' in f)
    assert [f for f in files if f.startswith('iter_')] == ['iter_6.pth'], files
    assert not [f for f in files if '.tmp-' in f], files
    # A best checkpoint survives the killed write (the resumed run re-runs the validation of
    # iteration 2 and may replace it by a newer best): complete files, never a missing best.
    bests = [f for f in files if f.startswith('best_mIoU_iter_')]
    assert bests, files
    for name in bests:
        assert 'state_dict' in torch.load(osp.join(work_dir, name), map_location='cpu')
    ckpt = torch.load(osp.join(work_dir, 'iter_6.pth'), map_location='cpu')
    assert ckpt['meta']['iter'] == 6
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip().endswith('iter_6.pth')


def test_kill_while_replacing_oldest_checkpoint_keeps_it(synthetic_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    opts = tiny_cfg_options(synthetic_root, work_dir) + [
        'train_cfg.max_iters=4', 'default_hooks.checkpoint.max_keep_ckpts=1',
        'default_hooks.checkpoint.save_best=None']
    config = osp.join(ROOT, 'configs', 'quickstart_synthetic.py')
    # No best checkpoint: write 1 is iter_2, write 2 is iter_4 after iter_2 was 'removed'.
    proc = script_process(killing_train(tmp_path, 2), config, '--cfg-options', *opts)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert sorted(glob.glob(osp.join(work_dir, 'iter_*.pth'))) == [
        osp.join(work_dir, 'iter_2.pth')]
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        assert f.read().strip() == osp.join(work_dir, 'iter_2.pth')


def test_second_run_in_a_busy_work_dir_stops_naming_dir_and_pid(synthetic_root, tmp_path):
    work_dir = tmp_path / 'work'
    holder = subprocess.Popen([sys.executable, '-c', textwrap.dedent(f'''
        import sys, time
        from cityseg.utils.work_dir import claim_work_dir
        lock = claim_work_dir({str(work_dir)!r})
        print('held', flush=True)
        time.sleep(120)
    ''')], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert holder.stdout.readline().strip() == 'held'
        out = run_tool('train.py', osp.join(ROOT, 'configs', 'quickstart_synthetic.py'),
                       '--cfg-options', *tiny_cfg_options(synthetic_root, str(work_dir)),
                       expect_failure=True)
        assert f'work dir {work_dir} is in use by process {holder.pid}' in out
        assert not glob.glob(str(work_dir / '*' / '*.log')), 'the second run started'
    finally:
        holder.kill()
        holder.wait()
    # The holder died without releasing: its lock does not block the next run.
    from cityseg.utils.work_dir import claim_work_dir
    claim_work_dir(str(work_dir)).release()


def test_lock_of_a_dead_run_does_not_block(tmp_path):
    work_dir = str(tmp_path / 'w')
    run_command([sys.executable, '-c', 'import os\nfrom cityseg.utils.work_dir import '
                 f'claim_work_dir\nclaim_work_dir({work_dir!r})\nos._exit(0)'])
    from cityseg.utils.work_dir import claim_work_dir
    (tmp_path / 'w' / '.iter_2.tmp-0123abcd.pth').write_bytes(b'x')
    claim_work_dir(work_dir).release()
    assert sorted(os.listdir(work_dir)) == ['.train.lock']


def test_validation_killed_midway_runs_again_on_resume(synthetic_root, tmp_path):
    work_dir = str(tmp_path / 'work')
    opts = tiny_cfg_options(synthetic_root, work_dir)
    config = osp.join(ROOT, 'configs', 'quickstart_synthetic.py')
    script = tmp_path / 'train_killed_in_val.py'
    script.write_text(textwrap.dedent(f'''
        import os, runpy, signal, sys
        from mmengine.runner import ValLoop
        def run_iter(self, idx, data_batch):
            os.kill(os.getpid(), signal.SIGKILL)  # kill -9 during the first validation
        ValLoop.run_iter = run_iter
        sys.argv = [{TRAIN!r}] + sys.argv[1:]
        runpy.run_path({TRAIN!r}, run_name='__main__')
    '''))
    proc = script_process(str(script), config, '--cfg-options', *opts)
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert not glob.glob(osp.join(work_dir, 'best_*.pth'))
    ckpt = torch.load(osp.join(work_dir, 'iter_2.pth'), map_location='cpu')
    assert ckpt['meta']['validation_pending'] == 2

    out = run_tool('train.py', config, '--resume', '--cfg-options', *opts)
    assert 'The validation of iteration 2 did not finish' in out
    # Iteration 2 validated once on resume (then iteration 4): both took part in the choice.
    assert out.count('Iter(val) [1/1]    aAcc') == 2, out[-3000:]
    assert 'mIoU at 2 iter is saved to best_mIoU_iter_2.pth' in out
    assert glob.glob(osp.join(work_dir, 'best_mIoU_iter_*.pth'))
    final = torch.load(osp.join(work_dir, 'iter_4.pth'), map_location='cpu')
    assert 'validation_pending' not in final['meta']  # re-saved after its validation


def test_ctrl_c_while_a_checkpoint_is_saved_is_an_interruption_naming_resume(synthetic_root,
                                                                            tmp_path):
    """A Ctrl-C that lands while mmengine formats the config into a checkpoint (yapf, a
    noticeable share of a small save) reached the user as mmengine's ``SyntaxError: Failed to
    format the config file`` and status 1 (issue 31)."""
    work_dir = str(tmp_path / 'work')
    opts = tiny_cfg_options(synthetic_root, work_dir) + ['train_cfg.max_iters=6']
    config = osp.join(ROOT, 'configs', 'quickstart_synthetic.py')
    script = tmp_path / 'train_interrupted.py'
    script.write_text(textwrap.dedent(f'''
        import os, runpy, signal, sys
        from mmengine.config import config
        real_format, saves = config.FormatCode, [0]
        # A Ctrl-C at a terminal reaches a Python that turns SIGINT into KeyboardInterrupt. A
        # job started in the background by a non-interactive shell (CI under nohup, say)
        # inherits SIGINT ignored, and Python then leaves it ignored: restore the terminal's.
        signal.signal(signal.SIGINT, signal.default_int_handler)

        def format_code(*args, **kwargs):
            frame = sys._getframe(1)
            while frame is not None and frame.f_code.co_name != 'save_checkpoint':
                frame = frame.f_back
            if frame is not None:
                saves[0] += 1
                if saves[0] == 3:  # iter_2 and its best saved: Ctrl-C in the third save
                    os.kill(os.getpid(), signal.SIGINT)
            return real_format(*args, **kwargs)

        config.FormatCode = format_code
        sys.argv = [{TRAIN!r}] + sys.argv[1:]
        runpy.run_path({TRAIN!r}, run_name='__main__')
    '''))
    proc = script_process(str(script), config, '--cfg-options', *opts)
    assert proc.returncode == 130, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr and 'SyntaxError' not in proc.stderr
    latest = osp.join(work_dir, 'iter_2.pth')
    assert proc.stderr.splitlines()[-1] == (
        f'interrupted: training stopped; its latest checkpoint is {latest}: resume with the '
        'same command plus --resume (in Python: cfg.resume = True)')
    assert not os.path.exists(osp.join(work_dir, 'iter_4.pth'))

    out = run_tool('train.py', config, '--resume', '--cfg-options', *opts)  # as it says
    assert f'Load checkpoint from {latest}' in out
    assert torch.load(osp.join(work_dir, 'iter_6.pth'), map_location='cpu')['meta']['iter'] == 6
