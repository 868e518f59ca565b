"""ONNX export of a trained checkpoint and onnxruntime inside the segmentor."""
import glob
import os.path as osp
import re
import sys

import mmcv
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from helpers.cli import QUICKSTART, parse_cfg_options, tiny_cfg_options, val_files
from helpers.tiny_checkpoint import model_options

from cityseg.apis import inference_model, init_model
from cityseg.apis.onnx import (
    CalibrationImages,
    OnnxRuntimeNet,
    calibration_dataset_cfg,
    compare_with_pytorch,
    create_session,
    export_int8,
    export_onnx,
    use_onnxruntime,
)
from cityseg.apis.onnx.extra import require

MEAN = np.array([123.675, 116.28, 103.53], np.float32).reshape(1, 3, 1, 1)
STD = np.array([58.395, 57.12, 57.375], np.float32).reshape(1, 3, 1, 1)


@pytest.fixture(scope='module')
def dynamic_onnx(model, tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp('onnx') / 'dynamic.onnx')
    export_onnx(model, path, shape=(64, 128), dynamic=True)
    return path


@pytest.fixture(scope='module')
def val_images(synthetic_root) -> list[np.ndarray]:
    paths = val_files(synthetic_root)
    return [mmcv.imread(p) for p in paths]


def pytorch_and_onnxruntime(checkpoint: str, synthetic_root: str, onnx_path: str,
                            images: list[np.ndarray], test_cfg: dict) -> tuple[list, list]:
    """The tiny checkpoint's results on ``images`` in PyTorch, and with its network replaced by
    ``onnx_path`` in onnxruntime, both under the ``test_cfg`` overrides."""
    opts = {**model_options(synthetic_root), **test_cfg}
    torch_model = init_model(QUICKSTART, checkpoint, cfg_options=opts)
    ort_model = use_onnxruntime(init_model(QUICKSTART, None, cfg_options=opts), onnx_path)
    return (inference_model(torch_model, images, batch_size=2),
            inference_model(ort_model, images, batch_size=2))


def test_graph_takes_raw_rgb_and_normalises_inside(model, dynamic_onnx, val_images):
    graph = onnx.load(dynamic_onnx).graph
    (inp,), (out,) = graph.input, graph.output
    assert (inp.name, out.name) == ('image', 'logits')
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_param for d in inp.type.tensor_type.shape.dim] == [
        'batch', '', 'height', 'width']
    session = ort.InferenceSession(dynamic_onnx, providers=['CPUExecutionProvider'])
    rgb = np.stack([img[..., ::-1].transpose(2, 0, 1) for img in val_images]).astype(np.float32)
    with torch.no_grad():
        expected = model.net(torch.from_numpy((rgb - MEAN) / STD)).numpy()
    got = session.run(None, {'image': rgb})[0]
    assert got.shape == (len(val_images), 19, 64, 128)
    np.testing.assert_allclose(got, expected, atol=1e-3)


def test_compare_with_pytorch_on_real_images(model, dynamic_onnx, val_images):
    stats = compare_with_pytorch(model, dynamic_onnx, val_images)
    assert stats['agreement'] >= 0.999 and stats['max_abs_diff'] < 1e-3
    odd = [mmcv.imresize(val_images[0], (100, 50))]  # graph input padded to the divisor
    assert compare_with_pytorch(model, dynamic_onnx, odd)['agreement'] >= 0.999


@pytest.mark.parametrize('test_cfg', [
    {},
    {'model.test_cfg.flip': True, 'model.test_cfg.scales': [0.75, 1.0, 1.5]},
    {'model.test_cfg.mode': 'slide', 'model.test_cfg.crop_size': [32, 64],
     'model.test_cfg.stride': [16, 32]},
])
def test_onnxruntime_backend_agrees_with_pytorch(checkpoint, synthetic_root, dynamic_onnx,
                                                 val_images, test_cfg):
    torch_results, ort_results = pytorch_and_onnxruntime(checkpoint, synthetic_root,
                                                         dynamic_onnx, val_images, test_cfg)
    for a, b in zip(torch_results, ort_results):
        assert (a.train_ids == b.train_ids).mean() >= 0.999
    assert len(np.unique(a.train_ids)) > 3, 'a constant prediction would test nothing'


def test_fixed_size_graph_names_the_shape_it_needs(model, synthetic_root, val_images, tmp_path):
    path = tmp_path / 'fixed.onnx'
    export_onnx(model, path, shape=(64, 128))
    ort_model = use_onnxruntime(
        init_model(QUICKSTART, None, cfg_options=model_options(synthetic_root)), path)
    assert inference_model(ort_model, val_images[0]).train_ids.shape == (64, 128)
    with pytest.raises(ValueError, match=r'takes inputs of shape \[1, 3, 64, 128\].*--dynamic'):
        inference_model(ort_model, mmcv.imresize(val_images[0], (64, 32)))


def test_export_shape_must_fit_the_size_divisor(checkpoint, synthetic_root, tmp_path):
    opts = {**model_options(synthetic_root), 'model.data_preprocessor.size_divisor': 32}
    model = init_model(QUICKSTART, checkpoint, cfg_options=opts)
    with pytest.raises(ValueError, match='50x100 must be a multiple of the size divisor 32'):
        export_onnx(model, tmp_path / 'x.onnx', shape=(50, 100))


def test_session_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='ONNX model not found: .*nope.onnx'):
        create_session(tmp_path / 'nope.onnx')
    other = tmp_path / 'other.onnx'
    torch.onnx.export(torch.nn.Identity(), (torch.zeros(1, 3, 4, 4),), str(other), dynamo=False,
                      input_names=['x'], output_names=['y'])
    with pytest.raises(ValueError, match=r"other.onnx has inputs/outputs \(\['x'\], \['y'\]\)"):
        create_session(other)


class _FiveClassesReshaped(torch.nn.Module):
    """Five output channels that onnxruntime's shape inference cannot see (a reshape to -1)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 5, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).reshape(x.shape[0], -1, x.shape[2], x.shape[3])


@pytest.mark.parametrize('declared', [True, False], ids=['declared', 'probed'])
def test_a_graph_of_another_class_count_is_refused(synthetic_root, tmp_path, declared):
    """Issue 23: a 5-class ONNX model under a 19-class config ran and was scored. The count
    comes from the output shape, or from one run when the export left it symbolic."""
    path = tmp_path / 'five_classes.onnx'
    axes = {0: 'n', 2: 'h', 3: 'w'}
    torch.onnx.export(torch.nn.Conv2d(3, 5, 1) if declared else _FiveClassesReshaped(),
                      (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False,
                      input_names=['image'], output_names=['logits'],
                      dynamic_axes={'image': axes, 'logits': axes})
    assert isinstance(ort.InferenceSession(path).get_outputs()[0].shape[1], int) == declared
    model = init_model(QUICKSTART, None, cfg_options=model_options(synthetic_root))
    with pytest.raises(ValueError, match=rf'{path} outputs 5 classes, but the config has '
                       r'model.num_classes=19'):
        use_onnxruntime(model, path)
    five = init_model(QUICKSTART, None, cfg_options={**model_options(synthetic_root),
                                                     'model.num_classes': 5})
    assert isinstance(use_onnxruntime(five, path).net, OnnxRuntimeNet)


@pytest.mark.parametrize('missing', ['onnx', 'onnxruntime'])
def test_missing_extra_is_named_and_nothing_is_written(model, dynamic_onnx, val_images, tmp_path,
                                                       monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)  # what `import` does when it is absent
    hint = re.escape('''pip install -e ".[onnx]" (the 'onnx' extra''')
    if missing == 'onnx':
        with pytest.raises(ModuleNotFoundError, match=f"exporting to ONNX needs 'onnx'.*{hint}"):
            export_onnx(model, tmp_path / 'x.onnx', shape=(64, 128))
        assert not (tmp_path / 'x.onnx').exists()
    else:
        for call in (lambda: create_session(dynamic_onnx),
                     lambda: compare_with_pytorch(model, dynamic_onnx, val_images),
                     lambda: use_onnxruntime(model, dynamic_onnx)):
            with pytest.raises(ModuleNotFoundError,
                               match=f"running .*dynamic.onnx with onnxruntime needs "
                                     f"'onnxruntime'.*{hint}"):
                call()
        assert not isinstance(model.net, OnnxRuntimeNet)


def test_a_broken_optional_package_keeps_its_own_error(tmp_path, monkeypatch):
    (tmp_path / 'half_installed').mkdir()
    (tmp_path / 'half_installed' / '__init__.py').write_text('import its_missing_dependency\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="No module named 'its_missing_dependency'"):
        require('half_installed', 'testing')


def train_files(data_root: str) -> list[str]:
    return sorted(glob.glob(osp.join(data_root, 'leftImg8bit', 'train', '*', '*.png')))


@pytest.fixture(scope='module')
def calib_model(checkpoint, synthetic_root, tmp_path_factory) -> torch.nn.Module:
    """The tiny checkpoint with the tiny run's whole config (its train split too)."""
    opts = tiny_cfg_options(synthetic_root, str(tmp_path_factory.mktemp('calib')))
    return init_model(QUICKSTART, checkpoint, cfg_options=parse_cfg_options(opts))


def test_calibration_reads_train_images_as_the_graph_sees_them(calib_model, synthetic_root):
    model = calib_model
    reader = CalibrationImages(model, calibration_dataset_cfg(model.cfg), num=2)
    files = train_files(synthetic_root)  # 4 images: evenly spaced picks the first and last
    inputs = list(iter(reader.get_next, None))
    assert len(reader) == len(inputs) == 2
    for path, feed in zip([files[0], files[-1]], inputs):
        rgb = mmcv.imread(path)[..., ::-1].transpose(2, 0, 1)[None].astype(np.float32)
        np.testing.assert_allclose(feed['image'], rgb, atol=1e-3)  # 64x128: no padding needed
    with pytest.raises(ValueError, match='at least one image, got --calib-images 0'):
        CalibrationImages(model, calibration_dataset_cfg(model.cfg), num=0)


def test_low_memory_calibration_measures_onnxruntimes_ranges(calib_model, dynamic_onnx,
                                                             tmp_path):
    """Priority-ordered calibration changes when the reductions run, not what they measure:
    the ranges equal those of onnxruntime's stock MinMax calibrator on the same images."""
    from onnxruntime.quantization import create_calibrator
    from onnxruntime.quantization.calibrate import load_tensors_data

    from cityseg.apis.onnx.calibrator import measure_activation_ranges

    def images():
        return CalibrationImages(calib_model, calibration_dataset_cfg(calib_model.cfg), num=3)

    measure_activation_ranges(dynamic_onnx, images(), str(tmp_path / 'ranges.json'),
                              str(tmp_path / 'low.onnx'))
    ours = load_tensors_data(tmp_path / 'ranges.json')
    stock = create_calibrator(dynamic_onnx, augmented_model_path=str(tmp_path / 'stock.onnx'))
    stock.collect_data(images())
    expected = stock.compute_data()
    assert len(expected.keys()) > 50
    assert set(ours.keys()) == set(expected.keys())
    for name, data in expected.items():
        np.testing.assert_array_equal(np.asarray(ours[name].range_value),
                                      np.asarray(data.range_value), err_msg=name)


@pytest.fixture(scope='module')
def int8_onnx(calib_model, tmp_path_factory) -> str:
    path = str(tmp_path_factory.mktemp('int8') / 'int8.onnx')
    assert export_int8(calib_model, path, num_calib=4, shape=(64, 128), dynamic=True) == 4
    return path


def test_int8_model_is_qdq_with_per_channel_weights(int8_onnx):
    nodes = onnx.load(int8_onnx).graph.node
    ops = {n.op_type for n in nodes}
    assert {'QuantizeLinear', 'DequantizeLinear', 'Conv'} <= ops
    # per-channel: some weight's DequantizeLinear has a vector of scales (axis 0)
    inits = {i.name: i for i in onnx.load(int8_onnx).graph.initializer}
    scales = [inits[n.input[1]] for n in nodes
              if n.op_type == 'DequantizeLinear' and n.input[1] in inits]
    assert any(len(s.dims) == 1 and s.dims[0] > 1 for s in scales)


@pytest.mark.integration
def test_int8_efficientnet_convolutions_are_fully_quantized(synthetic_root, tmp_path):
    """onnxruntime runs a convolution in integer arithmetic only when its input, weight and
    bias come straight from DequantizeLinear. EfficientNet's exported graph feeds its
    convolutions through explicit "same" Pad chains, and torch's exporter routes the equal
    (zero) biases of freshly initialised batch norms through Identity nodes; the quantization
    pre-processing folds both (without it, float Pad nodes remain)."""
    opts = [*tiny_cfg_options(synthetic_root, str(tmp_path)), 'model.arch=DeepLabV3Plus',
            'model.encoder_name=efficientnet-b0', 'model.model_kwargs.decoder_channels=16']
    model = init_model(QUICKSTART, None, cfg_options=parse_cfg_options(opts))
    path = tmp_path / 'int8.onnx'
    export_int8(model, path, num_calib=1, shape=(64, 128), dynamic=True)
    graph = onnx.load(path).graph
    producer = {out: node.op_type for node in graph.node for out in node.output}
    convs = [n for n in graph.node if n.op_type == 'Conv']
    assert len(convs) > 50
    assert 'Pad' not in producer.values()
    for conv in convs:
        assert [producer.get(name) for name in conv.input] == \
            ['DequantizeLinear'] * len(conv.input), conv.name


@pytest.mark.parametrize('test_cfg', [
    {},
    {'model.test_cfg.mode': 'slide', 'model.test_cfg.crop_size': [32, 64],
     'model.test_cfg.stride': [16, 32], 'model.test_cfg.flip': True,
     'model.test_cfg.scales': [0.75, 1.0]},
])
def test_int8_backend_stays_close_to_float(checkpoint, synthetic_root, int8_onnx, val_images,
                                           test_cfg):
    torch_results, int8_results = pytorch_and_onnxruntime(checkpoint, synthetic_root, int8_onnx,
                                                          val_images, test_cfg)
    for a, b in zip(torch_results, int8_results):
        assert a.train_ids.shape == b.train_ids.shape
        assert (a.train_ids == b.train_ids).mean() >= 0.9
    assert len(np.unique(b.train_ids)) > 3, 'a constant prediction would test nothing'


def test_missing_onnxruntime_names_the_extra_for_quantization(calib_model, tmp_path,
                                                             monkeypatch):
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(ModuleNotFoundError, match="int8 quantization needs 'onnxruntime'"):
        export_int8(calib_model, tmp_path / 'q.onnx', num_calib=1, shape=(64, 128))
    assert not (tmp_path / 'q.onnx').exists()


def test_score_maps_and_temperature_agree_with_pytorch(checkpoint, synthetic_root, val_images,
                                                       tmp_path):
    """Every anomaly score map is the same from onnxruntime as from PyTorch, and the
    checkpoint's temperature travels in the graph's metadata."""
    ckpt = torch.load(checkpoint, map_location='cpu', weights_only=False)
    ckpt.setdefault('meta', {})['temperature'] = 1.7
    calibrated = str(tmp_path / 'calibrated.pth')
    torch.save(ckpt, calibrated)
    opts = {**model_options(synthetic_root),
            'model.test_cfg.scores': ['msp', 'maxlogit', 'entropy', 'energy']}
    torch_model = init_model(QUICKSTART, calibrated, cfg_options=opts)
    onnx_path = str(tmp_path / 'scores.onnx')
    export_onnx(torch_model, onnx_path, shape=(64, 128), dynamic=True)
    meta = {p.key: p.value for p in onnx.load(onnx_path).metadata_props}
    assert float(meta['temperature']) == 1.7
    ort_model = use_onnxruntime(init_model(QUICKSTART, None, cfg_options=opts), onnx_path)
    assert ort_model.temperature == 1.7
    for a, b in zip(inference_model(torch_model, val_images),
                    inference_model(ort_model, val_images)):
        assert set(a.scores) == {'msp', 'maxlogit', 'entropy', 'energy'}
        for name in a.scores:
            np.testing.assert_allclose(a.scores[name], b.scores[name], atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize('stored', ['nan', '0', '-1', 'inf', 'warm'])
def test_a_bad_temperature_in_the_metadata_is_refused_naming_the_file(
        synthetic_root, dynamic_onnx, tmp_path, stored):
    """Fault run of issue 31: an ONNX file whose temperature metadata was edited to nan, 0 or -1
    evaluated with mIoU 0.0038 (every probability nan, read as class 0) and infer.py predicted
    road everywhere. It is refused as a checkpoint's meta['temperature'] is."""
    graph = onnx.load(dynamic_onnx)
    (entry,) = [p for p in graph.metadata_props if p.key == 'temperature']
    entry.value = stored
    path = str(tmp_path / 'edited.onnx')
    onnx.save(graph, path)
    model = init_model(QUICKSTART, None, cfg_options=model_options(synthetic_root))
    shown = repr(float(stored)) if stored != 'warm' else repr(stored)
    with pytest.raises(ValueError, match=rf'{re.escape(path)}: metadata temperature must be a '
                                         rf'positive number, got {re.escape(shown)}'):
        use_onnxruntime(model, path)
    assert not isinstance(model.net, OnnxRuntimeNet)  # nothing half-replaced
    # a config's model.temperature wins over the file's, as over a checkpoint's
    override = {**model_options(synthetic_root), 'model.temperature': 2.0}
    assert use_onnxruntime(init_model(QUICKSTART, None, cfg_options=override),
                           path).temperature == 2.0
