"""How the teacher labels and when self-training starts: BatchNorm by the weak batch's own
statistics (UniMatch, DAFormer) or by the running ones, and the supervised burn-in."""
from __future__ import annotations

import copy

import pytest
import torch
from helpers.semi_batch import preprocessed, semi_batch, semi_model
from mmengine.logging import MessageHub
from torch import nn

from cityseg.models.semi.batch_norm import batch_statistics
from cityseg.registry import MODELS


class _Features(nn.Module):
    """An smp-like encoder: the image, then its BatchNorm'd features."""

    def __init__(self, in_channels: int):
        super().__init__()
        self.conv, self.norm = nn.Conv2d(in_channels, 8, 1), nn.BatchNorm2d(8)

    def forward(self, x):
        return [x, torch.relu(self.norm(self.conv(x)))]


class _LastFeature(nn.Module):
    def forward(self, features):
        return features[-1]


@MODELS.register_module(name='TestBatchNormNet', force=True)
class BatchNormNet(nn.Module):
    """1x1 convolution, BatchNorm, 1x1 head: a network whose logits depend on the statistics
    its BatchNorm normalises with; split as smp's encoder / decoder / segmentation_head, so
    that UniMatch's feature perturbation can run it."""

    def __init__(self, encoder_name=None, encoder_weights=None, in_channels=3, classes=5):
        super().__init__()
        self.encoder, self.decoder = _Features(in_channels), _LastFeature()
        self.segmentation_head = nn.Conv2d(8, classes, 1)

    def forward(self, x):
        return self.segmentation_head(self.decoder(self.encoder(x)))


def test_batch_statistics_normalise_by_the_batch_and_update_nothing():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 1), nn.BatchNorm2d(4), nn.Dropout(0.5)).eval()
    norm = net[1]
    with torch.no_grad():
        norm.running_mean.fill_(3.0)
        norm.running_var.fill_(5.0)
        norm.weight.uniform_(0.5, 2.0)
        norm.bias.uniform_(-1.0, 1.0)
    before = copy.deepcopy(net.state_dict())
    x = torch.randn(2, 3, 5, 5)
    with torch.no_grad():
        with batch_statistics(net):
            got, again = net(x), net(x)
        after = net(x)
        h = net[0](x)
    scale, shift = norm.weight[None, :, None, None], norm.bias[None, :, None, None]
    mean = h.mean((0, 2, 3), keepdim=True)
    var = h.var((0, 2, 3), unbiased=False, keepdim=True)
    torch.testing.assert_close(got, (h - mean) / torch.sqrt(var + norm.eps) * scale + shift)
    assert torch.equal(got, again)  # dropout stays off: the rest keeps its eval mode
    for key, value in net.state_dict().items():  # running statistics, num_batches_tracked
        assert torch.equal(value, before[key]), key
    assert not net.training and not norm.training and norm.track_running_stats
    torch.testing.assert_close(after, (h - 3.0) / torch.sqrt(torch.tensor(5.0) + norm.eps)
                               * scale + shift)


@pytest.mark.parametrize('teacher_norm', ['batch', 'running'])
def test_the_teacher_labels_with_batch_or_running_statistics(teacher_norm):
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='FixMatch', semi_cfg=dict(teacher_norm=teacher_norm),
        student=dict(type='SMPSegmentor', arch='TestBatchNormNet', num_classes=5,
                     loss=dict(type='FocalLoss'))))
    with torch.no_grad():
        model.teacher.net.encoder.norm.running_mean.fill_(2.0)
        model.teacher.net.encoder.norm.running_var.fill_(9.0)
    data = preprocessed(model, semi_batch(n_unsup=3))
    weak = data['inputs']['unsup_weak']
    state = copy.deepcopy(model.teacher.state_dict())
    with torch.no_grad():
        labels = model.pseudo_label(weak, data['data_samples']['unsup_weak']).labels
        # by hand: a copy of the teacher's network in train mode (batch) or eval (running)
        expected = copy.deepcopy(model.teacher.net).train(teacher_norm == 'batch')(weak)
        other = copy.deepcopy(model.teacher.net).train(teacher_norm != 'batch')(weak)
    assert torch.equal(labels, expected.argmax(1))
    assert not torch.equal(labels, other.argmax(1))  # the two settings differ here
    for key, value in model.teacher.state_dict().items():
        assert torch.equal(value, state[key]), key
    assert not model.teacher.training


def test_burn_in_trains_on_the_labels_alone_then_self_trains():
    model = semi_model('FixMatch', burn_in=2)
    data = preprocessed(model, semi_batch())
    teacher_calls = []
    model.teacher.register_forward_hook(lambda *args: teacher_calls.append(1))
    hub = MessageHub.get_instance('test_burn_in')  # as a Runner's RuntimeInfoHook fills it
    seen = []
    for iteration in range(4):
        hub.update_info('iter', iteration)
        losses = model(**data, mode='loss')
        seen.append(('loss_unsup' in losses, len(teacher_calls)))
    # iterations 0 and 1 supervised only, without running the teacher; then self-training
    # (the teacher labels the weak views and the mix partners' weak views: 2 calls a step)
    assert seen == [(False, 0), (False, 0), (True, 2), (True, 4)]
    supervised = model.loss_supervised(data['inputs']['sup'], data['data_samples']['sup'])
    hub.update_info('iter', 0)
    assert model(**data, mode='loss').keys() == supervised.keys()


def test_burn_in_outside_a_training_loop_is_named():
    model = semi_model('FixMatch', burn_in=5)
    data = preprocessed(model, semi_batch())
    MessageHub.get_instance('test_burn_in_no_loop')  # current, with no 'iter'
    with pytest.raises(RuntimeError, match=r"semi_cfg.burn_in needs the training iteration"):
        model(**data, mode='loss')
    assert 'loss_unsup' in semi_model('FixMatch')(**data, mode='loss')  # burn_in=0: no need


@pytest.mark.parametrize('key, value, message', [
    ('burn_in', -1, r'burn_in must be a whole number of iterations >= 0, got -1'),
    ('burn_in', 2.5, r'burn_in must be a whole number of iterations >= 0, got 2.5'),
    ('burn_in', True, r'burn_in must be a whole number of iterations >= 0, got True'),
    ('teacher_norm', 'ema', r"teacher_norm must be one of \('batch', 'running'\), got 'ema'"),
    ('unsup_running_stats', 'no', r"unsup_running_stats must be True or False, got 'no'"),
])
def test_bad_burn_in_and_norm_settings_are_named(key, value, message):
    with pytest.raises(ValueError, match=r'model.semi_cfg.' + message):
        semi_model('UniMatch', **{key: value})


@pytest.mark.parametrize('method', ['UniMatch', 'MIC'])
def test_unlabelled_passes_can_leave_the_running_statistics_to_the_labelled_images(method):
    """With ``unsup_running_stats=False`` the student's BatchNorm running statistics are
    those one labelled forward pass gives (every unlabelled pass of the method, UniMatch's
    feature-perturbed and MIC's masked one included, leaves them), and the losses are the
    same as with True: the unlabelled batches are still normalised by their own statistics."""
    data = None
    runs = {}
    for keep in (True, False):
        torch.manual_seed(0)
        model = MODELS.build(dict(
            type=method, semi_cfg=dict(unsup_running_stats=keep, threshold=0.0),
            student=dict(type='SMPSegmentor', arch='TestBatchNormNet', num_classes=5,
                         loss=dict(type='FocalLoss')))).train()
        data = data or preprocessed(model, semi_batch(second_strong=True))
        labelled_only = copy.deepcopy(model.student.net)
        torch.manual_seed(1)
        losses = model(**data, mode='loss')
        with torch.no_grad():
            labelled_only(data['inputs']['sup'])
        runs[keep] = (losses, model.student.net.encoder.norm, labelled_only.encoder.norm)
    expected_unsup = {'UniMatch': {'loss_unsup', 'loss_fp'}, 'MIC': {'loss_unsup', 'loss_masked'}}
    assert expected_unsup[method] <= runs[False][0].keys()
    for name, value in runs[True][0].items():
        torch.testing.assert_close(runs[False][0][name], value, msg=name)
    for keep, (_, norm, by_hand) in runs.items():
        same = (torch.equal(norm.running_mean, by_hand.running_mean)
                and torch.equal(norm.running_var, by_hand.running_var)
                and norm.num_batches_tracked == by_hand.num_batches_tracked)
        assert same is not keep, keep  # True: the unlabelled passes moved them as well
        assert norm.training and norm.track_running_stats
