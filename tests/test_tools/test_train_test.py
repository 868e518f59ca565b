"""End to end through the CLIs: train a tiny model, find its checkpoints, test it (official
evaluator parity, --out/--show-dir/--tta, the test split, bad checkpoints, torchrun)."""
import glob
import importlib.util
import json
import os.path as osp
import sys
import textwrap

import numpy as np
import pytest
import torch
from helpers.cli import (
    QUICKSTART,
    ROOT,
    read_scalars,
    read_test_metrics,
    run_command,
    run_tool,
    tiny_cfg_options,
    torchrun_env,
    val_files,
    written_files,
)
from helpers.label_maps import histogram_reference
from helpers.official_eval import assert_class_scores_match, official_evaluation
from helpers.tiny_checkpoint import model_options
from mmengine.config import Config
from mmengine.dataset import pseudo_collate
from PIL import Image

from cityseg.datasets.labels import (
    ID_TO_TRAIN_ID,
    TRAIN_ID_TO_COLOR,
    TRAIN_ID_TO_ID,
    VALID_LABEL_IDS,
)
from cityseg.registry import DATASETS, MODELS

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration


@pytest.fixture(scope='module')
def trained(tiny_work_dir) -> tuple[str, str]:
    """The session's tiny training run (tools/train.py): its work dir and its log file's text."""
    (log_file,) = glob.glob(osp.join(tiny_work_dir, '*', '*.log'))
    with open(log_file) as f:
        return tiny_work_dir, f.read()


def test_train_leaves_best_last_log_and_scalars(trained):
    work_dir, log = trained
    assert 'per-class' in log.lower() or '| road' in log, 'per-class table not printed'
    best = glob.glob(osp.join(work_dir, 'best_mIoU_iter_*.pth'))
    assert len(best) == 1
    with open(osp.join(work_dir, 'last_checkpoint')) as f:
        last = f.read().strip()
    assert osp.basename(last) == 'iter_4.pth' and osp.isfile(last)
    val_records = [r for r in read_scalars(work_dir) if 'mIoU' in r]
    assert [r['step'] for r in val_records] == [2, 4]
    assert all(0 <= r['mIoU'] <= 1 for r in val_records)


@pytest.fixture(scope='module')
def best_ckpt(trained) -> str:
    (best,) = glob.glob(osp.join(trained[0], 'best_mIoU_iter_*.pth'))
    return best


@pytest.fixture(scope='module')
def tested(best_ckpt, synthetic_root, tmp_path_factory):
    """One tools/test.py run on val (batch size 2) with --out and --show-dir."""
    tmp = tmp_path_factory.mktemp('tested')
    out_dir, show_dir, work_dir = tmp / 'out', tmp / 'show', str(tmp / 'work')
    log = run_tool('test.py', QUICKSTART, best_ckpt, '--out', str(out_dir), '--show-dir',
                   str(show_dir), '--cfg-options', *tiny_cfg_options(synthetic_root, work_dir))
    (path,) = glob.glob(osp.join(work_dir, '*', 'metrics.json'))
    assert f'metrics written to {path}' in log
    return out_dir, show_dir, read_test_metrics(work_dir)


def test_test_tool_reproduces_best_validation_miou(trained, tested, synthetic_root, best_ckpt):
    work_dir, _ = trained
    best_miou = max(r['mIoU'] for r in read_scalars(work_dir) if 'mIoU' in r)
    out_dir, _, report = tested
    assert abs(report['mIoU'] - best_miou) < 1e-4
    assert report['split'] == 'val' and report['tta'] is False
    assert report['config'] == QUICKSTART and report['checkpoint'] == best_ckpt
    pngs = sorted(out_dir.glob('*_leftImg8bit.png'))
    val_imgs = val_files(synthetic_root, 'leftImg8bit')
    assert [p.name for p in pngs] == [osp.basename(p) for p in val_imgs]
    pred = np.asarray(Image.open(pngs[0]))
    assert pred.shape == np.asarray(Image.open(val_imgs[0])).shape[:2]
    assert set(np.unique(pred)) <= VALID_LABEL_IDS


def test_out_files_match_the_official_evaluator(tested, synthetic_root):
    """mIoU, iIoU and every per-class score of metrics.json equal what cityscapesscripts'
    evaluator computes from the --out files and the gtFine label and instance files."""
    out_dir, _, report = tested
    gt_files = _label_id_files(synthetic_root)
    ref = official_evaluation(_out_files(out_dir, gt_files), gt_files, instance_level=True)

    assert report['mIoU'] == pytest.approx(ref['averageScoreClasses'], abs=1e-6)
    assert report['iIoU'] == pytest.approx(ref['averageScoreInstClasses'], abs=1e-6)
    defined = sum(
        assert_class_scores_match({name: s[key] for name, s in report['per_class'].items()},
                                  ref[ref_key])
        for key, ref_key in (('IoU', 'classScores'), ('iIoU', 'classInstScores')))
    assert defined > 5  # the scenes hold enough classes for the comparison to bite
    conf = np.array(report['confusion_matrix']['counts'])
    assert conf.shape == (19, 19) and conf.sum() > 0


def _label_id_files(data_root: str) -> list[str]:
    return [f for f in val_files(data_root, 'gtFine') if f.endswith('_gtFine_labelIds.png')]


def _out_files(out_dir, gt_files: list[str]) -> list[str]:
    """The --out prediction file of each label file."""
    return [str(out_dir / osp.basename(f).replace('_gtFine_labelIds', '_leftImg8bit'))
            for f in gt_files]


def test_per_image_scores_follow_the_out_files(tested, synthetic_root):
    """metrics.json's per_image entries name every val image, in order, with the mIoU (over
    the classes present) and pixel accuracy of its --out file against its label file."""
    out_dir, _, report = tested
    gt_files = _label_id_files(synthetic_root)
    assert [e['file'] for e in report['per_image']] == val_files(synthetic_root)
    for entry, gt_file, pred_file in zip(report['per_image'], gt_files,
                                         _out_files(out_dir, gt_files)):
        gt = ID_TO_TRAIN_ID[np.asarray(Image.open(gt_file))]
        pred = ID_TO_TRAIN_ID[np.asarray(Image.open(pred_file))]
        conf = histogram_reference(pred, gt).astype(float)
        tp, union = np.diag(conf), conf.sum(0) + conf.sum(1) - np.diag(conf)
        assert entry['mIoU'] == pytest.approx((tp[union > 0] / union[union > 0]).mean())
        assert entry['aAcc'] == pytest.approx(tp.sum() / conf.sum())


def test_show_dir_and_confusion_matrix_plot(tested, synthetic_root, tmp_path):
    out_dir, show_dir, report = tested
    stems = [osp.basename(p)[:-4] for p in val_files(synthetic_root, 'leftImg8bit')]
    pred = np.asarray(Image.open(out_dir / f'{stems[0]}.png'))
    color = np.asarray(Image.open(show_dir / f'{stems[0]}_color.png'))
    # The colour picture is the prediction in the Cityscapes palette.
    assert np.array_equal(color, TRAIN_ID_TO_COLOR[ID_TO_TRAIN_ID[pred]])
    assert [p.name for p in written_files(show_dir)] == sorted(
        f'{s}_{kind}.png' for s in stems for kind in ('color', 'overlay'))

    metrics_json = tmp_path / 'metrics.json'
    metrics_json.write_text(json.dumps(report))
    figure = tmp_path / 'confusion.png'
    run_tool('analysis_tools/confusion_matrix.py', str(metrics_json), '--out', str(figure))
    assert Image.open(figure).size[0] > 400


def test_confusion_matrix_normalisation():
    spec = importlib.util.spec_from_file_location(
        'confusion_matrix_tool', osp.join(ROOT, 'tools', 'analysis_tools', 'confusion_matrix.py'))
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    counts = np.array([[3, 1, 0], [0, 0, 0], [2, 0, 2]])
    rows = tool.normalize(counts, 'gt')
    assert rows[0].tolist() == [0.75, 0.25, 0] and rows[2].tolist() == [0.5, 0, 0.5]
    assert np.isnan(rows[1]).all()  # class absent from the ground truth
    assert tool.normalize(counts, 'pred')[:, 0].tolist() == [0.6, 0, 0.4]


def _in_process_predictions(synthetic_root: str, ckpt: str, tta: bool) -> list[np.ndarray]:
    """Train-id predictions of the val images from the segmentor itself, for reference."""
    cfg = Config.fromfile(QUICKSTART)
    cfg.merge_from_dict(model_options(synthetic_root))
    if tta:
        cfg.model.test_cfg = dict(cfg.tta_cfg)
    model = MODELS.build(cfg.model).eval()
    model.load_state_dict(torch.load(ckpt)['state_dict'])
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    preds = []
    for i in range(len(dataset)):
        (sample,) = model.test_step(pseudo_collate([dataset[i]]))
        preds.append(sample.pred_sem_seg.data[0].numpy())
    return preds


def test_tta_predictions_are_the_segmentors_tta(best_ckpt, synthetic_root, tmp_path, tested):
    out_dir = tmp_path / 'out'
    opts = tiny_cfg_options(synthetic_root, str(tmp_path / 'work'))
    run_tool('test.py', QUICKSTART, best_ckpt, '--tta', '--out', str(out_dir),
             '--cfg-options', *opts)
    assert read_test_metrics(str(tmp_path / 'work'))['tta'] is True
    with_tta = _in_process_predictions(synthetic_root, best_ckpt, tta=True)
    without = _in_process_predictions(synthetic_root, best_ckpt, tta=False)
    assert any((a != b).any() for a, b in zip(with_tta, without)), 'TTA changes nothing here'
    stems = [osp.basename(p) for p in val_files(synthetic_root, 'leftImg8bit')]
    for stem, ref in zip(stems, with_tta):
        assert np.array_equal(np.asarray(Image.open(out_dir / stem)), TRAIN_ID_TO_ID[ref])
    # Without --tta the tool's files are the plain predictions (the fixture's run).
    for stem, ref in zip(stems, without):
        assert np.array_equal(np.asarray(Image.open(tested[0] / stem)), TRAIN_ID_TO_ID[ref])


def test_test_split_writes_submission_files_only(best_ckpt, synthetic_root, tmp_path):
    out_dir, work_dir = tmp_path / 'out', str(tmp_path / 'work')
    opts = tiny_cfg_options(synthetic_root, work_dir)
    run_tool('test.py', QUICKSTART, best_ckpt, '--split', 'test', '--out', str(out_dir),
             '--cfg-options', *opts)
    test_imgs = sorted(glob.glob(osp.join(synthetic_root, 'leftImg8bit', 'test', '*', '*.png')))
    assert [p.name for p in written_files(out_dir)] == [osp.basename(p) for p in test_imgs]
    pred = np.asarray(Image.open(written_files(out_dir)[0]))
    assert pred.shape == np.asarray(Image.open(test_imgs[0])).shape[:2]
    assert set(np.unique(pred)) <= VALID_LABEL_IDS
    assert not glob.glob(osp.join(work_dir, '*', 'metrics.json'))

    proc = run_tool('test.py', QUICKSTART, best_ckpt, '--split', 'test', '--cfg-options',
                    *opts, expect_failure=True)
    assert 'pass --out DIR' in proc


def test_class_count_mismatch_with_checkpoint_is_an_error(best_ckpt, synthetic_root, tmp_path):
    log = run_tool('test.py', QUICKSTART, best_ckpt, '--cfg-options',
                   *tiny_cfg_options(synthetic_root, str(tmp_path / 'work')),
                   'model.num_classes=20', expect_failure=True)
    assert 'trained on 19 classes' in log and 'num_classes=20' in log


def test_distributed_test_matches_single_process(best_ckpt, synthetic_root, tmp_path, tested):
    """torchrun with 2 gloo processes on the CPU: the same numbers as one process."""
    work_dir = str(tmp_path / 'work')
    env = torchrun_env(tmp_path)
    log = run_command(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
         '--master_port', env['PORT'], osp.join(ROOT, 'tools', 'test.py'),
         QUICKSTART, best_ckpt, '--launcher', 'pytorch', '--cfg-options',
         *tiny_cfg_options(synthetic_root, work_dir), 'test_dataloader.batch_size=1'],
        env=env, cwd=str(tmp_path))  # mmengine's .dist_test goes here
    assert 'Distributed training: True' in log and 'GPU number: 2' in log  # = world size
    report = read_test_metrics(work_dir)
    single = tested[2]
    keys = ('aAcc', 'mIoU', 'mAcc', 'mDice', 'iIoU')
    assert [report[k] for k in keys] == pytest.approx([single[k] for k in keys])
    for name, scores in single['per_class'].items():  # null (nan) compares equal to null
        assert report['per_class'][name] == pytest.approx(scores, abs=1e-12), name
    assert report['confusion_matrix'] == single['confusion_matrix']
    assert len(report['per_image']) == len(single['per_image'])
    for ours, theirs in zip(report['per_image'], single['per_image']):
        assert ours['file'] == theirs['file']  # pytest.approx is for the numbers only
        assert {k: v for k, v in ours.items() if k != 'file'} == pytest.approx(
            {k: v for k, v in theirs.items() if k != 'file'}, abs=1e-12)


def test_custom_imports_registers_user_model_and_trains(synthetic_root, tmp_path):
    (tmp_path / 'my_nets.py').write_text(textwrap.dedent('''
        from torch import nn
        from cityseg.registry import MODELS

        @MODELS.register_module()
        class TinyFCN(nn.Module):
            """A user's network with smp's constructor arguments."""
            def __init__(self, encoder_name=None, encoder_weights=None, in_channels=3,
                         classes=19):
                super().__init__()
                self.encoder = nn.Sequential(nn.Conv2d(in_channels, 8, 3, padding=1),
                                             nn.ReLU())
                self.segmentation_head = nn.Conv2d(8, classes, 1)

            def forward(self, x):
                return self.segmentation_head(self.encoder(x))
        '''))
    config = tmp_path / 'my_config.py'
    config.write_text(textwrap.dedent(f'''
        _base_ = [{QUICKSTART!r}]
        custom_imports = dict(imports=['my_nets'], allow_failed_imports=False)
        model = dict(arch='TinyFCN')
        '''))
    work_dir = str(tmp_path / 'work')
    opts = [o for o in tiny_cfg_options(synthetic_root, work_dir)
            if not o.startswith(('model.', 'train_cfg.'))]
    log = run_tool('train.py', str(config), '--cfg-options', *opts, 'train_cfg.max_iters=2',
                   'train_cfg.val_interval=2', env={'PYTHONPATH': str(tmp_path)})
    assert 'TinyFCN' in log
    state = torch.load(osp.join(work_dir, 'iter_2.pth'))['state_dict']
    assert state['net.encoder.0.weight'].shape == (8, 3, 3, 3)
    assert state['net.segmentation_head.1.weight'].shape == (19, 8, 1, 1)  # after the dropout
