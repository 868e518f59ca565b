"""Every tool on a self-trained checkpoint (issue 31): the FixMatch run, which predicts with its
EMA teacher, and the DACS run, which predicts with its student
(helpers/self_training_checkpoint.py).

Each tool run names a student encoder_weights file that does not exist: reading it would fail,
so every run also shows that the checkpoint's weights replace the encoder's unread (offline).
What a tool predicts, exports or publishes is compared with a reference built without cityseg's
self-training code: a plain SMPSegmentor of the student config holding the checkpoint's
``teacher.*`` or ``student.*`` weights, as ``semi_cfg.predict_on`` says.

tools/test.py, infer.py and export_onnx.py run on both checkpoints; publish_model.py,
robustness.py, calibration.py and anomaly.py, which reach the network through the same
``predicting_segmentor``, each on one of them, alternating (the suite's time).
"""
from __future__ import annotations

import glob
import json
import os.path as osp

import mmcv
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import segmentation_models_pytorch as smp
import torch
from helpers.cli import metrics_file, parse_cfg_options, read_test_metrics, run_tool
from mmengine.config import Config

from cityseg.apis import build_runner, inference_model, init_model
from cityseg.models import SMPSegmentor, predicting_segmentor
from cityseg.registry import MODELS
from cityseg.utils import apply_tta, load_config
from cityseg.utils.checkpoint_loading import safe_torch_load
from cityseg.visualization.score_maps import read_score_map

pytestmark = pytest.mark.integration

OTHER = {'student': 'teacher', 'teacher': 'student'}


def offline(tmp_path) -> str:
    """The option naming an encoder_weights file that is not there."""
    return f'model.student.encoder_weights={tmp_path / "not_downloaded" / "encoder.pth"}'


def predict_on(cfg: Config) -> str:
    """The network the config's method predicts with: its ``semi_cfg`` over the method
    class's defaults (DACS states none and predicts with the student)."""
    method = MODELS.get(cfg.model.type)
    return {**method.SEMI_CFG, **(cfg.model.get('semi_cfg') or {})}['predict_on']


def run_cfg(run, work_dir: str, *extra: str) -> Config:
    return load_config(run.config, parse_cfg_options([*run.options(work_dir), *extra]))


def reference(run, cfg: Config, network: str | None = None) -> SMPSegmentor:
    """The checkpoint's ``network`` (default: the one ``predict_on`` names) as a plain
    SMPSegmentor with ``cfg.model.test_cfg`` merged into the student's."""
    network = network or predict_on(cfg)
    student = dict(cfg.model.student, encoder_weights=None)
    student['test_cfg'] = {**(student.get('test_cfg') or {}), **(cfg.model.get('test_cfg') or {})}
    segmentor = MODELS.build(student)
    state = safe_torch_load(run.checkpoint, map_location='cpu')['state_dict']
    prefix = f'{network}.'
    segmentor.load_state_dict({k[len(prefix):]: v for k, v in state.items()
                               if k.startswith(prefix)})
    segmentor.cfg = cfg
    return segmentor.eval()


def val_image(run) -> str:
    return sorted(glob.glob(osp.join(run.data_root, '**', 'leftImg8bit', 'val', '*', '*.png'),
                            recursive=True))[0]


def raw_rgb(path: str) -> np.ndarray:
    """An image as the ONNX graph's input: float32 RGB NCHW, 0..255."""
    return np.ascontiguousarray(mmcv.imread(path)[..., ::-1].transpose(2, 0, 1)[None],
                                dtype=np.float32)


def logits(segmentor: SMPSegmentor, image: np.ndarray) -> np.ndarray:
    pre = segmentor.data_preprocessor
    with torch.no_grad():
        return segmentor.net((torch.from_numpy(image) - pre.mean) / pre.std).numpy()


@pytest.fixture(scope='module')
def evaluated(self_training_run, tmp_path_factory) -> tuple[str, str]:
    """tools/test.py with --tta and --calibration (which set model.test_cfg: the predicting
    network's), offline: (work dir, log)."""
    tmp = tmp_path_factory.mktemp(f'test_{self_training_run.kind}')
    work_dir = str(tmp / 'test')
    log = run_tool('test.py', self_training_run.config, self_training_run.checkpoint, '--tta',
                   '--calibration', '--cfg-options', *self_training_run.options(work_dir),
                   offline(tmp))
    return work_dir, log


def test_test_py_evaluates_offline_with_tta_and_calibration(evaluated):
    work_dir, log = evaluated
    metrics = read_test_metrics(work_dir)
    assert metrics['checkpoint'].endswith('iter_4.pth') and metrics['tta'] is True
    assert 0 <= metrics['mIoU'] <= 1 and 'calibration: ECE 0.' in log


def test_infer_predicts_with_the_predicting_network(self_training_run, tmp_path):
    run, image = self_training_run, val_image(self_training_run)
    out = tmp_path / 'out'
    run_tool('infer.py', run.config, run.checkpoint, image, '--out', str(out), '--tta',
             '--uncertainty', 'msp', 'entropy', '--cfg-options',
             *run.options(str(tmp_path / 'w')), offline(tmp_path))
    cfg = run_cfg(run, str(tmp_path / 'ref'), 'model.test_cfg.scores=[msp,entropy]')
    apply_tta(cfg)
    expected = inference_model(reference(run, cfg), image)
    prefix = str(out / osp.basename(image)[:-4])
    np.testing.assert_array_equal(mmcv.imread(f'{prefix}_trainIds.png', flag='unchanged'),
                                  expected.train_ids)
    tolerance = 2 * np.log(19) / 65535  # the 16-bit maps' resolution
    for name in ('msp', 'entropy'):
        got = read_score_map(f'{prefix}_{name}.png')
        np.testing.assert_allclose(got, expected.scores[name], atol=tolerance)
    other = inference_model(reference(run, cfg, OTHER[predict_on(cfg)]), image)
    assert np.abs(other.scores['msp'] - expected.scores['msp']).max() > 10 * tolerance, \
        'student and teacher agree: the comparison could not tell them apart'


# FixMatch's teacher exported as it is, DACS's student quantized (calibrated on both sources).
EXPORT = {'semi': [], 'uda': ['--quantize', 'int8', '--calib-images', '2',
                              '--min-agreement', '0.5']}


def test_export_onnx_writes_the_predicting_network_and_infer_runs_it(self_training_run,
                                                                     tmp_path):
    run, image = self_training_run, val_image(self_training_run)
    path = str(tmp_path / 'model.onnx')
    log = run_tool('export_onnx.py', run.config, run.checkpoint, '--out', path, '--dynamic',
                   '--shape', '64', '128', *EXPORT[run.kind], '--cfg-options',
                   *run.options(str(tmp_path / 'w')), offline(tmp_path))
    assert 'pixel agreement' in log
    graph = onnx.load(path)
    assert {p.key: p.value for p in graph.metadata_props}['temperature'] == '1.0'
    got = ort.InferenceSession(path, providers=['CPUExecutionProvider']).run(
        None, {'image': raw_rgb(image)})[0]
    segmentor = reference(run, run_cfg(run, str(tmp_path / 'ref')))
    expected = logits(segmentor, raw_rgb(image))
    if run.kind == 'uda':
        assert {'QuantizeLinear', 'DequantizeLinear'} <= {n.op_type for n in graph.graph.node}
        assert (got.argmax(1) == expected.argmax(1)).mean() >= 0.8
    else:
        np.testing.assert_allclose(got, expected, atol=1e-3)
    # infer.py with the file (no checkpoint: no encoder weights read either)
    out = tmp_path / 'pred'
    run_tool('infer.py', run.config, '-', image, '--out', str(out), '--backend', 'onnxruntime',
             '--onnx', path, '--cfg-options', *run.options(str(tmp_path / 'w')),
             offline(tmp_path))
    train_ids = mmcv.imread(str(out / f'{osp.basename(image)[:-4]}_trainIds.png'),
                            flag='unchanged')
    assert (train_ids == got[0].argmax(0)).mean() >= 0.999  # the file's own prediction


@pytest.mark.parametrize('self_training_run', ['semi'], indirect=True)
def test_publish_model_gives_plain_smp_the_predicting_network(self_training_run, evaluated,
                                                             tmp_path):
    run = self_training_run
    out = tmp_path / 'published'
    run_tool('publish_model.py', run.config, run.checkpoint, str(out), '--metrics',
             metrics_file(evaluated[0]), '--cfg-options', *run.options(str(tmp_path / 'w')),
             offline(tmp_path))
    net = smp.from_pretrained(str(out)).eval()
    image = raw_rgb(val_image(run))
    cfg = run_cfg(run, str(tmp_path / 'ref'))
    segmentor = reference(run, cfg)
    with torch.no_grad():
        published = net((torch.from_numpy(image) - segmentor.data_preprocessor.mean)
                        / segmentor.data_preprocessor.std).numpy()
    np.testing.assert_allclose(published, logits(segmentor, image), atol=1e-5)
    other = reference(run, cfg, OTHER[predict_on(cfg)])
    assert not np.allclose(published, logits(other, image), atol=1e-3)
    assert Config.fromfile(str(out / 'cityseg_config.py')).model.type == cfg.model.type
    card = (out / 'README.md').read_text()
    assert 'mIoU' in card and '`model.student.pretrained`' in card


@pytest.mark.parametrize('self_training_run', ['uda'], indirect=True)
def test_robustness_evaluates_clean_and_corrupted(self_training_run, tmp_path):
    run = self_training_run
    work_dir = str(tmp_path / 'robust')
    run_tool('analysis_tools/robustness.py', run.config, run.checkpoint, '--corruptions', 'fog',
             '--severities', '1', '--cfg-options', *run.options(work_dir), offline(tmp_path))
    (path,) = glob.glob(osp.join(work_dir, '*', 'robustness.json'))
    with open(path) as f:
        report = json.load(f)
    assert 0 <= report['clean_mIoU'] <= 1
    assert 0 <= report['corruptions']['fog']['mIoU']['1'] <= 1


@pytest.mark.parametrize('self_training_run', ['semi'], indirect=True)
def test_calibration_fits_the_predicting_networks_temperature(self_training_run, tmp_path):
    run = self_training_run
    work_dir = str(tmp_path / 'calib')
    run_tool('analysis_tools/calibration.py', run.config, run.checkpoint, '--fit-temperature',
             '--cfg-options', *run.options(work_dir), offline(tmp_path))
    (path,) = glob.glob(osp.join(work_dir, '*', 'calibration.json'))
    with open(path) as f:
        report = json.load(f)
    assert report['after']['NLL'] <= report['before']['NLL'] + 1e-6  # the fit minimises it
    model = init_model(run.config, report['calibrated_checkpoint'],
                       cfg_options=parse_cfg_options(run.options(str(tmp_path / 'w'))))
    predict_on = model.semi_cfg['predict_on']
    assert getattr(model, predict_on).temperature == pytest.approx(report['temperature'])
    assert getattr(model, OTHER[predict_on]).temperature == 1.0
    assert predicting_segmentor(model) is getattr(model, predict_on)


@pytest.mark.parametrize('self_training_run', ['uda'], indirect=True)
def test_anomaly_scores_the_predicting_network(self_training_run, tmp_path):
    run = self_training_run
    config = tmp_path / 'anomaly.py'
    config.write_text(
        f'_base_ = [{run.config!r}]\n'
        'test_dataloader = dict(dataset=dict(\n'
        "    _delete_=True, type='SyntheticAnomalyDataset', split='val',\n"
        f"    data_root={str(tmp_path / 'anomalies')!r},\n"
        '    generate=dict(num_train=0, num_val=2, num_test=0, size=(128, 64), seed=0),\n'
        "    pipeline=[dict(type='LoadCityscapesImage'), dict(type='LoadCityscapesLabel'),\n"
        "              dict(type='PackSegInputs')]))\n"
        "test_evaluator = dict(_delete_=True, type='AnomalyMetric', components='obstacle')\n")
    work_dir = str(tmp_path / 'anomaly')
    opts = [o for o in run.options(work_dir) if not o.startswith('test_dataloader.dataset.')]
    run_tool('analysis_tools/anomaly.py', str(config), run.checkpoint, '--scores', 'msp', 'sml',
             '--sml-split', 'val', '--cfg-options', *opts, offline(tmp_path))
    (path,) = glob.glob(osp.join(work_dir, '*', 'anomaly.json'))
    with open(path) as f:
        report = json.load(f)
    assert set(report['scores']) == {'msp', 'sml'} and report['temperature'] == 1.0
    assert all(0 <= s['AUPRC'] <= 1 for s in report['scores'].values())
    assert len(report['sml_stats']['mean']) == 19


def test_compile_compiles_the_student_and_the_teacher(self_training_run, tmp_path):
    cfg = run_cfg(self_training_run, str(tmp_path / 'work'))
    cfg.compile = dict(backend='eager')
    model = build_runner(cfg).model
    for network in (model.student.net, model.teacher.net):
        assert network._compiled_call_impl is not None
