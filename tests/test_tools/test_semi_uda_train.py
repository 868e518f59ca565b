"""Semi-supervised and domain-adaptive configs end to end: tools/train.py, --resume (exact:
student and teacher), on tiny synthetic data (the shared runs of
helpers/self_training_checkpoint.py); tests/test_tools/test_self_trained_tools.py takes their
checkpoints through every other tool."""
from __future__ import annotations

import os.path as osp
import shutil

import pytest
import torch
from helpers.cli import ROOT, run_command, run_tool, torchrun_env
from helpers.self_training_checkpoint import SEMI, self_training_options

from cityseg.utils.checkpoint_loading import safe_torch_load

pytestmark = pytest.mark.integration


def _weights(path: str) -> dict:
    return safe_torch_load(path, map_location='cpu')['state_dict']


def test_training_logs_the_self_training_losses(self_training_run):
    assert 'loss_unsup' in self_training_run.log and 'pseudo_confident' in self_training_run.log


def test_checkpoint_holds_teacher_and_student(self_training_run):
    weights = _weights(self_training_run.checkpoint)
    teacher = {k[len('teacher.'):]: v for k, v in weights.items() if k.startswith('teacher.')}
    student = {k[len('student.'):]: v for k, v in weights.items() if k.startswith('student.')}
    assert teacher.keys() == student.keys() and teacher
    # EMA (momentum 0.99, warm-up: 0.75 at the 4th update): the teacher lags the student
    assert any(not torch.equal(teacher[k], student[k]) for k in teacher)


def test_resume_is_exact(self_training_run, tmp_path):
    run = self_training_run
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(osp.join(run.work_dir, 'iter_2.pth'), resumed / 'iter_2.pth')
    run_tool('train.py', run.config, '--resume', str(resumed / 'iter_2.pth'),
             '--cfg-options', *run.options(str(resumed)))
    straight = _weights(run.checkpoint)
    again = _weights(str(resumed / 'iter_4.pth'))
    assert straight.keys() == again.keys()
    for key in straight:
        assert torch.equal(straight[key], again[key]), key


def test_two_process_gloo_semi_training(tmp_path):
    """torchrun, 2 CPU ranks (gloo): the semi config trains and checkpoints its teacher."""
    work_dir = str(tmp_path / 'work')
    opts = self_training_options('semi', str(tmp_path / 'data'), work_dir)
    log = run_command(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), SEMI, '2',
                       '--cfg-options', *opts],
                      env=torchrun_env(tmp_path))
    assert 'Distributed training: True' in log and 'loss_unsup' in log
    weights = _weights(osp.join(work_dir, 'iter_4.pth'))
    assert {k[len('teacher.'):] for k in weights if k.startswith('teacher.')} == {
        k[len('student.'):] for k in weights if k.startswith('student.')}


def test_benchmark_semi_times_the_same_labelled_batch_both_ways(tmp_path):
    """benchmark_semi.py: the supervised step gets the self-training batch's labelled share (2
    of 2 + 2), each kind reports s/it and peak memory, and the ratio is theirs."""
    opts = [o.replace('batch_size=2', 'batch_size=4') if o.startswith('train_dataloader.') else o
            for o in self_training_options('semi', str(tmp_path / 'data'),
                                           str(tmp_path / 'work'))]
    out = run_tool('analysis_tools/benchmark_semi.py', SEMI, '--iters', '1', '--warmup', '0',
                   '--repeat', '1', '--cfg-options', *opts)
    header, sup, semi, ratio = out.strip().splitlines()[-4:]
    assert 'supervised 2 labelled, self-training 2 labelled + 2 unlabelled' in header
    rows = {line.split()[0]: [float(v) for v in line.split()[1:]] for line in (sup, semi, ratio)}
    assert rows.keys() == {'supervised', 'self-training', 'ratio'}
    assert all(v > 0 for v in rows['supervised'] + rows['self-training'])
    # the ratios are of the unrounded figures: within what rounding the printed ones allows
    # (s/it to 3 decimals, MiB to 0, ratios to 2)
    for column, half_unit in ((0, 5e-4), (1, 0.5)):
        semi, sup = rows['self-training'][column], rows['supervised'][column]
        low, high = (semi - half_unit) / (sup + half_unit), (semi + half_unit) / (sup - half_unit)
        assert low - 0.005 <= rows['ratio'][column] <= high + 0.005
