"""Semi-supervised and domain-adaptive configs end to end: tools/train.py, --resume (exact:
student and teacher), tools/test.py, on tiny synthetic data."""
from __future__ import annotations

import os.path as osp
import re
import shutil
import socket

import pytest
import torch
from helpers.cli import ROOT, read_test_metrics, run_command, run_tool

from cityseg.utils.checkpoint_loading import safe_torch_load

pytestmark = pytest.mark.integration

SEMI = osp.join(ROOT, 'configs', 'semi', 'fixmatch_unet-r18_8xb8-600it_synthetic-1-8.py')
UDA = osp.join(ROOT, 'configs', 'uda', 'dacs_unet-r18_8xb8-600it_synthetic-day2night.py')
TRAIN = 'train_dataloader.dataset.datasets'


def _generate(key: str, **settings) -> list[str]:
    """--cfg-options giving the dataset at ``key`` tiny synthetic data."""
    settings = {'num_train': 8, 'num_val': 2, 'num_test': 0, 'size': '[128,64]', 'seed': 0,
                **settings}
    return [f'{key}.generate.{name}={value}' for name, value in settings.items()]


def _crop(key: str, at: int) -> list[str]:
    return [f'{key}.pipeline.{at}.transforms.0.height=64',
            f'{key}.pipeline.{at}.transforms.0.width=64']


def _semi_data(root: str) -> list[str]:
    opts = ['train_dataloader.dataset.fraction=0.25']
    for half, crop_at in (('labelled', 2), ('unlabelled', 1)):  # Load, (LoadLabel), crop
        key = f'train_dataloader.dataset.{half}'
        opts += [f'{key}.data_root={root}', *_generate(key), *_crop(key, crop_at)]
    for loader in ('val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={root}', *_generate(f'{loader}.dataset')]
    return opts


def _uda_data(root: str) -> list[str]:
    day, night = osp.join(root, 'day'), osp.join(root, 'night')
    target = dict(seed=1, style='night', num_train=4)
    opts = [f'{TRAIN}.0.data_root={day}', *_generate(f'{TRAIN}.0', num_train=4, num_val=0),
            *_crop(f'{TRAIN}.0', 2), f'{TRAIN}.1.data_root={night}',
            *_generate(f'{TRAIN}.1', **target), *_crop(f'{TRAIN}.1', 1)]
    for loader in ('val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={night}',
                 *_generate(f'{loader}.dataset', **target)]
    return opts


CONFIGS = {'semi': (SEMI, _semi_data), 'uda': (UDA, _uda_data)}


def _options(name: str, root: str, work_dir: str) -> list[str]:
    opts = [f'work_dir={work_dir}', 'train_dataloader.batch_size=2']  # the sampler's too
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.num_workers=0']
    return opts + CONFIGS[name][1](root) + [
        'val_dataloader.batch_size=2', 'test_dataloader.batch_size=2',
        'model.student.model_kwargs.decoder_channels=[16,16,16,16,16]',
        'train_cfg.max_iters=4', 'train_cfg.val_interval=2',
        'default_hooks.checkpoint.interval=2', 'default_hooks.logger.interval=1']


def _weights(path: str) -> dict:
    return safe_torch_load(path, map_location='cpu')['state_dict']


@pytest.fixture(scope='module', params=sorted(CONFIGS))
def run(request, tmp_path_factory) -> tuple[str, str, str]:
    """(config name, data root, work dir) of a 4-iteration training through tools/train.py."""
    name = request.param
    tmp = tmp_path_factory.mktemp(name)
    root, work_dir = str(tmp / 'data'), str(tmp / 'work')
    log = run_tool('train.py', CONFIGS[name][0], '--cfg-options',
                   *_options(name, root, work_dir))
    assert 'loss_unsup' in log and 'pseudo_confident' in log
    return name, root, work_dir


def test_checkpoint_holds_teacher_and_student(run):
    weights = _weights(osp.join(run[2], 'iter_4.pth'))
    teacher = {k[len('teacher.'):]: v for k, v in weights.items() if k.startswith('teacher.')}
    student = {k[len('student.'):]: v for k, v in weights.items() if k.startswith('student.')}
    assert teacher.keys() == student.keys() and teacher
    # EMA (momentum 0.99, warm-up: 0.75 at the 4th update): the teacher lags the student
    assert any(not torch.equal(teacher[k], student[k]) for k in teacher)


def test_resume_is_exact(run, tmp_path):
    name, root, work_dir = run
    resumed = tmp_path / 'resumed'
    resumed.mkdir()
    shutil.copy(osp.join(work_dir, 'iter_2.pth'), resumed / 'iter_2.pth')
    run_tool('train.py', CONFIGS[name][0], '--resume', str(resumed / 'iter_2.pth'),
             '--cfg-options', *_options(name, root, str(resumed)))
    straight = _weights(osp.join(work_dir, 'iter_4.pth'))
    again = _weights(str(resumed / 'iter_4.pth'))
    assert straight.keys() == again.keys()
    for key in straight:
        assert torch.equal(straight[key], again[key]), key


def test_checkpoint_evaluates_with_test_py(run, tmp_path):
    """Also with --tta and --calibration, which set model.test_cfg: the predicting network's."""
    name, root, work_dir = run
    test_dir = str(tmp_path / 'test')
    log = run_tool('test.py', CONFIGS[name][0], osp.join(work_dir, 'iter_4.pth'), '--tta',
                   '--calibration', '--cfg-options', *_options(name, root, test_dir))
    metrics = read_test_metrics(test_dir)
    assert metrics['checkpoint'].endswith('iter_4.pth') and 0 <= metrics['mIoU'] <= 1
    assert re.search(r'calibration: ECE 0\.\d+', log)



def test_two_process_gloo_semi_training(tmp_path):
    """torchrun, 2 CPU ranks (gloo): the semi config trains and checkpoints its teacher."""
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    work_dir = str(tmp_path / 'work')
    log = run_command(['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), SEMI, '2',
                       '--cfg-options', *_options('semi', str(tmp_path / 'data'), work_dir)],
                      env={'PORT': str(port), 'OMP_NUM_THREADS': '1'})
    assert 'Distributed training: True' in log and 'loss_unsup' in log
    weights = _weights(osp.join(work_dir, 'iter_4.pth'))
    assert {k[len('teacher.'):] for k in weights if k.startswith('teacher.')} == {
        k[len('student.'):] for k in weights if k.startswith('student.')}


def test_benchmark_semi_times_the_same_labelled_batch_both_ways(tmp_path):
    """benchmark_semi.py: the supervised step gets the self-training batch's labelled share (2
    of 2 + 2), each kind reports s/it and peak memory, and the ratio is theirs."""
    opts = [o.replace('batch_size=2', 'batch_size=4') if o.startswith('train_dataloader.') else o
            for o in _options('semi', str(tmp_path / 'data'), str(tmp_path / 'work'))]
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
