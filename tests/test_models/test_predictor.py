"""predicting_segmentor: the one network every test-time tool reads, sets, exports and compiles,
for a supervised segmentor and for a self-training model (its student or teacher)."""
from __future__ import annotations

import logging
from types import SimpleNamespace

import onnx
import pytest
import torch
from helpers.seg_batch import PointwiseNet  # noqa: F401  (registers TestPointwiseNet)
from torch import nn

from cityseg.apis.onnx import (
    OnnxRuntimeNet,
    export_onnx,
    use_onnxruntime,
    use_onnxruntime_in_runner,
)
from cityseg.models import SemiSegmentor, SMPSegmentor, predicting_segmentor
from cityseg.models.predictor import segmentor_key
from cityseg.registry import MODELS
from cityseg.utils import load_model_weights
from cityseg.utils.compile import compile_network

# What SemiSegmentor passes on from its student for the training code (the optimizer
# constructor, ClassWeightHook, EncoderUnfreezeHook); the test-time tools must not need it.
FORWARDED = ('encoder', 'loss_module', 'num_classes')


def _absent(name: str) -> property:
    def get(self):
        raise AttributeError(f'{type(self).__name__} has no {name}')
    return property(get)


# A SemiSegmentor without even those: what the tools must work with.
StudentTeacherOnly = type('StudentTeacherOnly', (SemiSegmentor,),
                          {name: _absent(name) for name in FORWARDED})


def _semi(predict_on: str, num_classes: int = 5) -> SemiSegmentor:
    torch.manual_seed(0)
    model = StudentTeacherOnly(
        student=dict(type='SMPSegmentor', arch='TestPointwiseNet', num_classes=num_classes),
        semi_cfg=dict(predict_on=predict_on))
    with torch.no_grad():  # a teacher unlike its student, as after EMA updates
        model.teacher.net.segmentation_head.bias.add_(1.0)
    return model.eval()


def test_a_segmentor_predicts_with_itself_wrapped_or_not():
    model = MODELS.build(dict(type='SMPSegmentor', arch='TestPointwiseNet', num_classes=5))
    assert predicting_segmentor(model) is model
    assert predicting_segmentor(nn.DataParallel(model)) is model
    assert segmentor_key(model) == 'model'


@pytest.mark.parametrize('predict_on', ['student', 'teacher'])
def test_a_self_training_model_predicts_with_the_network_predict_on_names(predict_on):
    model = _semi(predict_on)
    assert predicting_segmentor(model) is getattr(model, predict_on)
    assert predicting_segmentor(nn.DataParallel(model)) is getattr(model, predict_on)
    assert segmentor_key(model) == 'model.student'  # the teacher is the student's copy


def test_a_model_predicting_with_something_else_is_named():
    with pytest.raises(TypeError, match='Linear predicts with a Linear, not an SMPSegmentor'):
        predicting_segmentor(nn.Linear(2, 2))


def test_checkpoint_classes_and_temperature_reach_the_predicting_network(tmp_path):
    model = _semi('teacher')
    path = str(tmp_path / 'ckpt.pth')
    meta = dict(dataset_meta=dict(classes=[str(i) for i in range(5)]), temperature=2.5)
    torch.save(dict(state_dict=model.state_dict(), meta=meta), path)
    loaded = _semi('teacher')
    load_model_weights(loaded, path)
    assert (loaded.teacher.temperature, loaded.student.temperature) == (2.5, 1.0)

    four = dict(meta, dataset_meta=dict(classes=['a', 'b', 'c', 'd']))
    torch.save(dict(state_dict=model.state_dict(), meta=four), path)
    with pytest.raises(ValueError, match=r'trained on 4 classes but the config builds a model '
                                         r'with num_classes=5: .*model\.student\.num_classes=4'):
        load_model_weights(_semi('teacher'), path)


def test_onnx_export_and_runtime_use_the_predicting_network(tmp_path):
    model = _semi('teacher')
    model.teacher.temperature = 1.5
    path = str(tmp_path / 'semi.onnx')
    export_onnx(model, path, shape=(8, 16), dynamic=True)
    meta = {p.key: p.value for p in onnx.load(path).metadata_props}
    assert meta['temperature'] == '1.5'
    image = torch.randint(0, 256, (1, 3, 8, 16), dtype=torch.uint8)
    with torch.no_grad():
        expected = model.teacher(model.teacher.data_preprocessor(
            dict(inputs=[image[0]]))['inputs'], mode='tensor')
    ort_model = use_onnxruntime(_semi('student'), path)  # a fresh model: the file's weights
    assert isinstance(ort_model.student.net, OnnxRuntimeNet)
    assert not isinstance(ort_model.teacher.net, OnnxRuntimeNet)
    assert ort_model.student.temperature == 1.5
    with torch.no_grad():
        got = ort_model.student(ort_model.student.data_preprocessor(
            dict(inputs=[image[0]]))['inputs'], mode='tensor')
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=1e-4)
    assert not torch.allclose(got, model.student.net(
        model.student.data_preprocessor(dict(inputs=[image[0]]))['inputs'])), \
        'the student would give the same logits: the test could not tell them apart'


def test_the_onnxruntime_backend_of_test_py_swaps_the_predicting_network(tmp_path):
    """tools/test.py --backend onnxruntime: the Runner's (wrapped) model exported into the
    work dir and its predicting network run from that file."""
    model = _semi('teacher')
    teacher_net = model.teacher.net
    runner = SimpleNamespace(model=nn.DataParallel(model), work_dir=str(tmp_path),
                             logger=logging.getLogger('test'))
    path = use_onnxruntime_in_runner(runner, None, str(tmp_path / 'iter_4.pth'))
    assert path == str(tmp_path / 'onnx' / 'iter_4.onnx')
    assert isinstance(model.teacher.net, OnnxRuntimeNet)
    assert not isinstance(model.student.net, OnnxRuntimeNet)
    image = torch.randint(0, 256, (1, 3, 8, 16)).float()
    normalised = (image - model.teacher.data_preprocessor.mean) / \
        model.teacher.data_preprocessor.std
    with torch.no_grad():
        torch.testing.assert_close(model.teacher.net(normalised), teacher_net(normalised),
                                   atol=1e-4, rtol=1e-4)


def test_compile_reaches_the_student_and_the_teacher():
    model = _semi('teacher')
    compile_network(nn.DataParallel(model), {'backend': 'eager'})
    for segmentor in (model.student, model.teacher):
        assert isinstance(segmentor, SMPSegmentor)
        assert segmentor.net._compiled_call_impl is not None
