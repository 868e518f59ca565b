"""SMPSegmentor: mmengine modes, whole/slide inference, TTA, label resolution, bad labels."""
import re

import pytest
import torch
import torch.nn.functional as F
from helpers.seg_batch import make_data

from cityseg.models import SMPSegmentor
from cityseg.registry import MODELS

NUM_CLASSES = 5
SMALL_UNET = dict(arch='Unet', encoder_name='resnet18', num_classes=NUM_CLASSES,
                  model_kwargs=dict(decoder_channels=(16, 16, 16, 16, 16)))


def build(test_cfg=None, **kwargs) -> SMPSegmentor:
    torch.manual_seed(0)
    base = SMALL_UNET if 'arch' not in kwargs else dict(num_classes=NUM_CLASSES)
    return SMPSegmentor(test_cfg=test_cfg, **{**base, **kwargs}).eval()


def preprocessed(model: SMPSegmentor, sizes, training=False, **kwargs) -> dict:
    return model.data_preprocessor(make_data(sizes, NUM_CLASSES, **kwargs), training)


def probs(model: SMPSegmentor, inputs: torch.Tensor, **test_cfg) -> torch.Tensor:
    model.test_cfg.update(test_cfg)
    with torch.no_grad():
        return model.inference(inputs)


def test_modes_return_losses_predictions_and_logits():
    model = build()
    data = preprocessed(model, [(64, 128)] * 2, training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_focal', 'loss_dice'}
    assert all(v.ndim == 0 and torch.isfinite(v) for v in losses.values())
    logits = model(data['inputs'], mode='tensor')
    assert logits.shape == (2, NUM_CLASSES, 64, 128)
    preds = model(**data, mode='predict')
    assert [p.pred_sem_seg.data.shape for p in preds] == [(1, 64, 128)] * 2
    with pytest.raises(ValueError, match="mode must be 'loss', 'predict' or 'tensor', got 'x'"):
        model(data['inputs'], mode='x')


def test_slide_with_crop_equal_to_image_equals_whole():
    model = build()
    inputs = preprocessed(model, [(64, 128)] * 2)['inputs']
    whole = probs(model, inputs, mode='whole')
    slide = probs(model, inputs, mode='slide', crop_size=(64, 128), stride=(32, 64))
    torch.testing.assert_close(slide, whole, rtol=0, atol=1e-6)


@pytest.mark.parametrize('crop, stride', [((32, 48), (16, 40)), ((40, 100), (40, 100)),
                                          ((96, 160), (32, 32))])
def test_slide_averages_overlapping_windows_covering_every_pixel(crop, stride):
    # Each pixel's logits depend on that pixel only, so a correct average over however many
    # windows cover it (overlapping, shifted back to the border, or one window larger than
    # the image) equals the whole-image logits; a wrong count scales them, a gap gives NaN.
    model = build(arch='TestPointwiseNet')
    inputs = preprocessed(model, [(64, 128)])['inputs']
    with torch.no_grad():
        whole = model.net(inputs)  # the bare network: the pointwise net needs no padding
    model.test_cfg.update(mode='slide', crop_size=crop, stride=stride)
    torch.testing.assert_close(model.slide_logits(inputs), whole, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('mode', ['whole', 'slide'])
def test_flip_tta_of_flip_equivariant_model_equals_plain(mode):
    # 60x100 with size_divisor 32: inputs are padded on the right, so mirroring before padding
    # would put the padding on the wrong side and change the border logits of this 3x3 net.
    model = build(arch='TestMirrorConvNet',
                  data_preprocessor=dict(type='SegDataPreProcessor', size_divisor=32))
    inputs = preprocessed(model, [(60, 100)])['inputs'][..., :60, :100]
    cfg = dict(mode=mode, crop_size=(48, 56), stride=(24, 22))
    plain = probs(model, inputs, flip=False, **cfg)
    assert not torch.allclose(plain, plain.flip(-1), atol=1e-3)  # the output is not symmetric
    torch.testing.assert_close(probs(model, inputs, flip=True, **cfg), plain,
                               rtol=1e-5, atol=1e-6)


def test_flip_tta_differs_for_a_model_that_is_not_flip_equivariant():
    model = build(arch='TestMirrorConvNet', model_kwargs=dict(symmetric=False))
    inputs = preprocessed(model, [(64, 128)])['inputs']
    assert not torch.allclose(probs(model, inputs, flip=True), probs(model, inputs, flip=False),
                              atol=1e-3)


def test_multi_scale_flip_tta_matches_torch_reference():
    model = build(arch='TestMirrorConvNet', model_kwargs=dict(symmetric=False))
    inputs = preprocessed(model, [(64, 128)] * 2)['inputs']
    assert model.data_preprocessor.size_divisor == 1  # nothing to pad for this network
    scales = (0.5, 1.0, 1.5)
    expected = 0
    with torch.no_grad():
        for s in scales:
            scaled = F.interpolate(inputs, scale_factor=s, mode='bilinear', align_corners=False)
            for flip in (False, True):
                logits = model.net(scaled.flip(-1)).flip(-1) if flip else model.net(scaled)
                logits = F.interpolate(logits, size=(64, 128), mode='bilinear',
                                       align_corners=False)
                expected = expected + logits.softmax(1) / (2 * len(scales))
    torch.testing.assert_close(probs(model, inputs, scales=scales, flip=True), expected)


def test_predict_batch_of_different_sizes_at_label_resolution():
    # Two images of different sizes share one padded batch; labels are twice the image size.
    # Each prediction is cropped to its own image, upsampled to its own label and equals the
    # prediction of that image alone (the net is pointwise, so padding cannot leak in).
    model = build(arch='TestPointwiseNet')
    sizes = [(64, 128), (40, 72)]
    batch = preprocessed(model, sizes, label_scale=2)
    preds = model(**batch, mode='predict')
    for i, (h, w) in enumerate(sizes):
        assert preds[i].pred_sem_seg.data.shape == (1, 2 * h, 2 * w)
        image = batch['inputs'][i:i + 1, :, :h, :w]
        with torch.no_grad():
            expected = F.interpolate(model.net(image).softmax(1), size=(2 * h, 2 * w),
                                     mode='bilinear', align_corners=False).argmax(1)
        assert torch.equal(preds[i].pred_sem_seg.data, expected)


def test_predict_without_data_samples_uses_input_size():
    model = build()
    inputs = preprocessed(model, [(64, 128)] * 3)['inputs']
    preds = model.predict(inputs)
    assert [p.pred_sem_seg.data.shape for p in preds] == [(1, 64, 128)] * 3


def test_label_values_outside_classes_and_ignore_raise_naming_the_file():
    model = build(arch='TestPointwiseNet').train()
    data = make_data([(32, 32)] * 3, NUM_CLASSES)
    data['data_samples'][1].gt_sem_seg.data[0, :2, :2] = torch.tensor([[7, 255], [33, 0]])
    batch = model.data_preprocessor(data, True)
    with pytest.raises(ValueError, match=r'label1\.png: \[7, 33\]') as err:
        model(**batch, mode='loss')
    assert 'label0.png' not in str(err.value) and 'label2.png' not in str(err.value)


def test_ignore_index_label_is_accepted():
    model = build(arch='TestPointwiseNet').train()
    data = make_data([(32, 32)] * 2, NUM_CLASSES)
    data['data_samples'][0].gt_sem_seg.data[:] = 255
    losses = model(**model.data_preprocessor(data, True), mode='loss')
    assert all(torch.isfinite(v) for v in losses.values())


def test_channels_last_gives_the_same_outputs():
    plain, fast = build(), build(channels_last=True)
    fast.load_state_dict(plain.state_dict())
    first_conv = fast.net.encoder.conv1.weight
    assert first_conv.is_contiguous(memory_format=torch.channels_last)
    assert not plain.net.encoder.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    data = preprocessed(plain, [(64, 128)] * 2, training=True)
    with torch.no_grad():
        torch.testing.assert_close(fast(data['inputs']), plain(data['inputs']),
                                   rtol=1e-4, atol=1e-4)
        plain.train(), fast.train()
        for key, value in plain(**data, mode='loss').items():
            torch.testing.assert_close(fast(**data, mode='loss')[key], value, rtol=1e-4,
                                       atol=1e-5)


@pytest.mark.parametrize('test_cfg, message', [
    (dict(mode='sliding'), "test_cfg.mode must be 'whole' or 'slide', got 'sliding'"),
    (dict(mode='slide'), "test_cfg.mode='slide' needs test_cfg.crop_size"),
    (dict(flips=True), r"unknown test_cfg keys \['flips'\]"),
    (dict(crop_size=(0, 64)), r'test_cfg.crop_size must be \(height, width\)'),
    (dict(scales=(1.0, -0.5)), 'test_cfg.scales must be positive'),
    # Each of these used to fail inside len(), min(), slicing or iteration, naming no key.
    (dict(mode='slide', crop_size=64), r'test_cfg.crop_size must be \(height, width\).*got 64'),
    (dict(mode='slide', crop_size=(64.0, 64.0)), r'test_cfg.crop_size must be .*\(64.0, 64.0\)'),
    (dict(mode='slide', crop_size=(64, 64), stride='ab'), "test_cfg.stride must be .*got 'ab'"),
    (dict(scales=1.0), 'test_cfg.scales must be positive factors, got 1.0'),
    (dict(flip='False'), "test_cfg.flip must be True or False, got 'False'"),
    ([('mode', 'slide')], r"test_cfg must be a dict, got \[\('mode', 'slide'\)\]"),
])
def test_bad_test_cfg_is_rejected_at_construction(test_cfg, message):
    with pytest.raises(ValueError, match=message):
        build(arch='TestPointwiseNet', test_cfg=test_cfg)


@pytest.mark.parametrize('stride, dim', [((96, 48), r'height \(96 > 64\)'),
                                         ([48, 96], r'width \(96 > 64\)')])
def test_slide_stride_larger_than_crop_is_refused_when_the_config_is_built(stride, dim):
    # Windows every 96 px of 64 px leave 32 px strips that no window covers: their logits
    # would be 0 / 0 = NaN and argmax would label them class 0. The Runner builds the model
    # through the registry, so the error comes before the first image.
    cfg = dict(type='SMPSegmentor', arch='TestPointwiseNet', num_classes=NUM_CLASSES,
               test_cfg=dict(mode='slide', crop_size=(64, 64), stride=stride))
    with pytest.raises(ValueError) as err:
        MODELS.build(cfg)
    message = str(err.value)
    assert f'test_cfg.stride {tuple(stride)}' in message
    assert 'test_cfg.crop_size (64, 64)' in message
    assert re.search(dim, message)


def test_slide_stride_larger_than_crop_set_after_construction_is_refused_at_inference():
    # tools/analysis_tools/benchmark.py updates test_cfg on a built model.
    model = build(arch='TestPointwiseNet', test_cfg=dict(mode='slide', crop_size=(64, 64)))
    inputs = preprocessed(model, [(200, 200)])['inputs']
    model.test_cfg.update(stride=(96, 48))
    with pytest.raises(ValueError, match=r'test_cfg.stride \(96, 48\) is larger than '
                                         r'test_cfg.crop_size \(64, 64\)'):
        model.predict(inputs)


def test_slide_config_with_stride_equal_to_crop_predicts_like_the_whole_image():
    # stride == crop in height (windows touch, no overlap) and < crop in width (overlap): every
    # pixel is covered, so the pointwise net's slide prediction is its whole-image argmax.
    model = build(arch='TestPointwiseNet',
                  test_cfg=dict(mode='slide', crop_size=(40, 48), stride=(40, 30)))
    inputs = preprocessed(model, [(100, 130)])['inputs']
    with torch.no_grad():
        expected = model.net(inputs).argmax(1)
    pred = model.predict(inputs)[0].pred_sem_seg.data
    assert torch.equal(pred.long(), expected)


@pytest.mark.parametrize('kwargs, message', [
    (dict(model_kwargs=dict(classes=3)),
     r"model.model_kwargs sets \['classes'\], .* use model.num_classes instead"),
    (dict(model_kwargs=dict(encoder_name='resnet34', in_channels=4)),
     r"sets \['encoder_name', 'in_channels'\].*model.encoder_name, model.in_channels"),
    (dict(model_kwargs=[('decoder_channels', 16)]), 'model.model_kwargs must be a dict'),
    (dict(num_classes=0), 'model.num_classes must be a positive integer, got 0'),
    (dict(num_classes=19.0), 'model.num_classes must be a positive integer, got 19.0'),
])
def test_bad_network_config_is_named(kwargs, message):
    # model_kwargs=dict(classes=3) used to die as "build_network() got multiple values for
    # keyword argument 'classes'"; num_classes=0 built a network with no output channel.
    with pytest.raises(ValueError, match=message):
        SMPSegmentor(**{'arch': 'TestPointwiseNet', **kwargs})


@pytest.mark.parametrize('arch, configured, expected', [
    ('Unet', None, 1),  # smp's Unet accepts any size
    ('DeepLabV3Plus', None, 16),  # output stride 16
    ('DeepLabV3Plus', 48, 48),  # lcm(48, 16)
    ('FPN', 24, 96),  # lcm(24, 32)
    ('PAN', 32, 128),  # 8 x output stride 16
])
def test_preprocessor_pads_to_the_network_divisor(arch, configured, expected):
    model = SMPSegmentor(arch=arch, encoder_name='resnet18', num_classes=NUM_CLASSES,
                         data_preprocessor=dict(type='SegDataPreProcessor',
                                                size_divisor=configured))
    assert model.data_preprocessor.size_divisor == expected


@MODELS.register_module()
class SegmentorTestMeanLoss(torch.nn.Module):
    """A user's own loss: no ``ignore_index`` argument, no ``loss_name``, returns a tensor."""

    def forward(self, logits, target):
        return logits.float().mean() ** 2


@MODELS.register_module()
class SegmentorTestUnnamedDictLoss(torch.nn.Module):
    def forward(self, logits, target):
        return {'focal': logits.mean()}


def loss_inputs(model):
    data = preprocessed(model, [(64, 128)] * 2, training=True)
    target = torch.cat([s.gt_sem_seg.data for s in data['data_samples']]).long()
    return data, target


def test_a_single_registered_loss_is_model_loss_and_trains():
    """Once ``'Tensor' object has no attribute 'items'`` inside mmengine: one FocalLoss."""
    model = build(loss=dict(type='FocalLoss', gamma=0.0))
    data, target = loss_inputs(model)
    losses = model(**data, mode='loss')
    logits = model(data['inputs'], mode='tensor')
    assert set(losses) == {'loss_focal'}
    torch.testing.assert_close(losses['loss_focal'], F.cross_entropy(logits, target,
                                                                     ignore_index=255))
    assert model.loss_module.ignore_index == 255
    from mmengine.optim import OptimWrapper
    log_vars = model.train().train_step(make_data([(64, 128)] * 2, NUM_CLASSES),
                                        OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert set(log_vars) == {'loss', 'loss_focal'}


def test_a_list_of_losses_is_their_named_sum():
    model = build(loss=[dict(type='FocalLoss', gamma=0.0), dict(type='DiceLoss')], ignore_index=3)
    data, target = loss_inputs(model)
    losses = model(**data, mode='loss')
    logits = model(data['inputs'], mode='tensor')
    assert set(losses) == {'loss_focal', 'loss_dice'}
    torch.testing.assert_close(losses['loss_focal'],
                               F.cross_entropy(logits, target, ignore_index=3))
    assert [m.ignore_index for m in model.loss_module.losses] == [3, 3]


def test_a_users_loss_without_ignore_index_or_name_is_logged_under_its_class():
    model = build(loss=dict(type='SegmentorTestMeanLoss'))
    data, _ = loss_inputs(model)
    losses = model(**data, mode='loss')
    logits = model(data['inputs'], mode='tensor')
    assert set(losses) == {'loss_segmentor_test_mean'}
    torch.testing.assert_close(losses['loss_segmentor_test_mean'], logits.mean() ** 2)


def test_loss_rules_broken_are_named():
    with pytest.raises(KeyError, match=r"model\.loss\.type='NoSuchLoss' is not a registered "
                                       r'loss'):
        build(loss=dict(type='NoSuchLoss'))
    with pytest.raises(TypeError, match=r"model\.loss must be a loss config such as "
                                        r"dict\(type='FocalLoss'\)"):
        build(loss='FocalLoss')
    model = build(loss=dict(type='SegmentorTestUnnamedDictLoss'))
    data, _ = loss_inputs(model)
    with pytest.raises(TypeError, match=r"returned dict \['focal'\]: a loss must return a "
                                        r"tensor, or a dict of tensors whose names contain "
                                        r"'loss'"):
        model(**data, mode='loss')
