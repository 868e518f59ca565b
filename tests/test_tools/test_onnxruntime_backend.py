"""tools/test.py --backend onnxruntime and tools/export_onnx.py --quantize int8, end to end
through the CLIs on the session's tiny checkpoint."""
import glob
import os.path as osp

import numpy as np
import onnx
import pytest
from helpers.cli import QUICKSTART, read_test_metrics, run_tool, tiny_cfg_options

# Runs a tool as a subprocess or trains: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration

MODES = {
    'whole': [],
    'slide': ['model.test_cfg.mode=slide', 'model.test_cfg.crop_size=[32,64]',
              'model.test_cfg.stride=[16,32]'],
    'tta': ['tta_cfg.scales=[0.75,1.0,1.5]'],  # --tta: flip and scales of another size
}


def run_test(checkpoint: str, data_root: str, work_dir: str, mode: str, *extra: str) -> dict:
    tta = ['--tta'] if mode == 'tta' else []
    run_tool('test.py', QUICKSTART, checkpoint, *tta, *extra, '--cfg-options',
             *tiny_cfg_options(data_root, work_dir), *MODES[mode])
    return read_test_metrics(work_dir)


@pytest.fixture(scope='module')
def torch_report(checkpoint, synthetic_root, tmp_path_factory):
    """The PyTorch backend's metrics of the tiny checkpoint by mode, each evaluated once for
    the tests that compare a backend with it."""
    reports = {}

    def report(mode: str) -> dict:
        if mode not in reports:
            work_dir = str(tmp_path_factory.mktemp(f'pytorch-{mode}'))
            reports[mode] = run_test(checkpoint, synthetic_root, work_dir, mode)
        return reports[mode]
    return report


@pytest.mark.parametrize('mode', MODES)
def test_onnxruntime_backend_gives_the_pytorch_metrics(checkpoint, synthetic_root, tmp_path,
                                                       mode, torch_report):
    torch_report = torch_report(mode)
    ort_dir = str(tmp_path / 'ort')
    ort_report = run_test(checkpoint, synthetic_root, ort_dir, mode, '--backend', 'onnxruntime')
    assert (torch_report['backend'], ort_report['backend']) == ('pytorch', 'onnxruntime')
    assert torch_report['tta'] is ort_report['tta'] is (mode == 'tta')
    assert abs(torch_report['mIoU'] - ort_report['mIoU']) < 1e-3
    counts = [np.array(r['confusion_matrix']['counts']) for r in (torch_report, ort_report)]
    assert counts[0].sum() == counts[1].sum() > 0
    assert np.abs(counts[0] - counts[1]).sum() <= 1e-3 * counts[0].sum()
    assert len(np.flatnonzero(counts[0].sum(0))) > 3, 'a constant prediction tests nothing'
    # the checkpoint was exported, with dynamic axes, into the work dir
    graph = onnx.load(osp.join(ort_dir, 'onnx', 'iter_4.onnx')).graph
    assert [d.dim_param for d in graph.input[0].type.tensor_type.shape.dim] == [
        'batch', '', 'height', 'width']


def test_int8_export_runs_through_infer_and_test(checkpoint, synthetic_root, tmp_path,
                                                torch_report):
    opts = ['--cfg-options', *tiny_cfg_options(synthetic_root, str(tmp_path / 'pt'))]
    int8 = str(tmp_path / 'int8.onnx')
    log = run_tool('export_onnx.py', QUICKSTART, checkpoint, '--out', int8, '--dynamic',
                   '--shape', '64', '128', '--quantize', 'int8', '--calib-images', '3',
                   '--min-agreement', '0.9', *opts)  # a 4-iteration model: small margins
    assert 'activation ranges from 3 train images' in log
    ops = {n.op_type for n in onnx.load(int8).graph.node}
    assert {'QuantizeLinear', 'DequantizeLinear'} <= ops

    (image,) = glob.glob(osp.join(synthetic_root, 'leftImg8bit', 'val', '*', '*.png'))[:1]
    run_tool('infer.py', QUICKSTART, '-', image, '--out', str(tmp_path / 'pred'), '--backend',
             'onnxruntime', '--onnx', int8, *opts)
    stem = osp.splitext(osp.basename(image))[0]
    assert osp.isfile(tmp_path / 'pred' / f'{stem}_trainIds.png')

    torch_report = torch_report('whole')
    int8_report = run_test('-', synthetic_root, str(tmp_path / 'int8'), 'whole',
                           '--backend', 'onnxruntime', '--onnx', int8)
    assert int8_report['onnx'] == int8 and int8_report['checkpoint'] is None  # '-': none
    assert abs(torch_report['mIoU'] - int8_report['mIoU']) < 0.05


def test_onnx_file_needs_the_onnxruntime_backend(synthetic_root, tmp_path):
    log = run_tool('test.py', QUICKSTART, '-', '--onnx', 'x.onnx', expect_failure=True)
    assert '--onnx FILE is run with --backend onnxruntime' in log
