"""Every smp architecture trains through SMPSegmentor; bad names list the valid ones."""
import inspect
import re

import pytest
import segmentation_models_pytorch as smp
import torch
from helpers.seg_batch import make_data
from torch import nn

from cityseg.models import SMPSegmentor, build_network
from cityseg.models.networks import SMP_ARCHS, SMP_DEPRECATED_KWARGS
from cityseg.registry import MODELS

NUM_CLASSES = 5

# One small encoder per architecture, smp's own and timm's (tu-) mixed. Kept in step with the
# docs/models.md's table. Constraints: FPN's GroupNorm needs channels divisible by 32, DPT a
# ViT encoder built with dynamic_img_size=True, PAN sides divisible by 128 (padded for it).
ARCH_ENCODERS = {
    'Unet': ('resnet18', dict(decoder_channels=(16, 16, 16, 16, 16))),
    'UnetPlusPlus': ('mobilenet_v2', dict(decoder_channels=(16, 16, 16, 16, 16))),
    'MAnet': ('efficientnet-b0', dict(decoder_channels=(16, 16, 16, 16, 16),
                                      decoder_pab_channels=16)),
    'Linknet': ('tu-resnet10t', {}),
    'FPN': ('tu-mobilenetv3_small_050', dict(decoder_pyramid_channels=32,
                                             decoder_segmentation_channels=32)),
    'PSPNet': ('resnet18', dict(psp_out_channels=16)),
    'DeepLabV3': ('tu-resnet10t', dict(decoder_channels=16)),
    'DeepLabV3Plus': ('efficientnet-b0', dict(decoder_channels=16)),
    'PAN': ('resnet18', dict(decoder_channels=16)),
    'UPerNet': ('tu-convnext_atto', dict(decoder_channels=16)),
    'Segformer': ('mit_b0', dict(decoder_segmentation_channels=16)),
    'DPT': ('tu-vit_tiny_patch16_224', dict(dynamic_img_size=True, decoder_readout='cat',
                                            decoder_intermediate_channels=(16, 16, 16, 16),
                                            decoder_fusion_channels=16)),
}


def test_the_table_covers_every_installed_smp_architecture():
    assert set(ARCH_ENCODERS) == set(SMP_ARCHS)


@pytest.mark.parametrize('arch', sorted(ARCH_ENCODERS))
def test_architecture_trains_and_predicts_with_head_dropout(arch):
    encoder, kwargs = ARCH_ENCODERS[arch]
    torch.manual_seed(0)
    model = SMPSegmentor(arch=arch, encoder_name=encoder, num_classes=NUM_CLASSES,
                         dropout=0.3, model_kwargs=kwargs).train()
    head_dropout = model.net.segmentation_head[0]
    assert isinstance(head_dropout, nn.Dropout2d) and head_dropout.p == 0.3
    calls = []
    head_dropout.register_forward_hook(lambda mod, args, out: calls.append(mod.training))

    batch = model.data_preprocessor(make_data([(64, 128)] * 2, NUM_CLASSES), True)
    losses = model(**batch, mode='loss')
    sum(losses.values()).backward()
    assert calls == [True]  # the dropout layer is in the forward path
    assert all(torch.isfinite(v) for v in losses.values())
    head_grads = [p.grad for p in model.net.segmentation_head.parameters()]
    assert head_grads and all(g is not None and torch.isfinite(g).all() for g in head_grads)
    assert any(g.abs().sum() > 0 for g in head_grads)

    model.eval()
    batch = model.data_preprocessor(make_data([(64, 128)] * 2, NUM_CLASSES), False)
    preds = model(**batch, mode='predict')
    assert [p.pred_sem_seg.data.shape for p in preds] == [(1, 64, 128)] * 2
    assert calls == [True, False]


def test_head_dropout_changes_training_outputs_only():
    torch.manual_seed(0)
    model = SMPSegmentor(arch='FPN', encoder_name='resnet18', num_classes=NUM_CLASSES,
                         dropout=0.5, model_kwargs=ARCH_ENCODERS['FPN'][1])
    inputs = torch.randn(1, 3, 64, 128)
    model.train()
    assert not torch.allclose(model(inputs), model(inputs))
    model.eval()
    torch.testing.assert_close(model(inputs), model(inputs))


def test_dropout_zero_adds_no_layer():
    model = SMPSegmentor(arch='Unet', encoder_name='resnet18', num_classes=NUM_CLASSES)
    assert not any(isinstance(m, nn.Dropout2d) for m in model.modules())
    assert isinstance(model.net.segmentation_head, smp.base.SegmentationHead)


def test_unknown_architecture_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model.arch 'Unett'") as err:
        build_network('Unett', encoder_name='resnet18')
    for arch in ('Unet', 'DeepLabV3Plus', 'Segformer', 'DPT'):
        assert f"'{arch}'" in str(err.value)
    assert 'custom_imports' in str(err.value)


def test_unknown_smp_encoder_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown model.encoder_name 'resnet19'") as err:
        build_network('Unet', encoder_name='resnet19')
    message = str(err.value)
    assert all(f"'{name}'" in message for name in smp.encoders.get_encoder_names())
    assert 'close matches' in message and 'tu-' in message


def test_unknown_timm_encoder_suggests_close_timm_names():
    with pytest.raises(ValueError, match="unknown timm encoder 'tu-convnext_tiy'") as err:
        build_network('Unet', encoder_name='tu-convnext_tiy')
    assert "'convnext_tiny'" in str(err.value) and 'timm.list_models' in str(err.value)


def test_timm_encoder_weights_other_than_imagenet_are_refused():
    with pytest.raises(ValueError, match="encoder_weights='ssl' for timm encoder"):
        build_network('Unet', encoder_name='tu-resnet18', encoder_weights='ssl')


def test_aux_classification_head_is_refused():
    with pytest.raises(ValueError, match='aux_params'):
        build_network('Unet', encoder_name='resnet18', aux_params=dict(classes=3))


def test_registered_network_is_built_and_dropout_needs_a_segmentation_head():
    net = build_network('TestPointwiseNet', classes=3, dropout=0.1)
    assert isinstance(net.segmentation_head[0], nn.Dropout2d)
    assert net.segmentation_head[1].out_channels == 3
    with pytest.raises(ValueError, match='dropout=0.1 needs a network with a `segmentation_head`'):
        build_network('TestHeadlessNet', dropout=0.1)


@MODELS.register_module(name='TestHeadlessNet')
class HeadlessNet(nn.Conv2d):
    """A user's network that is one convolution, with no ``segmentation_head`` to drop out."""

    def __init__(self, encoder_name=None, encoder_weights=None, in_channels=3, classes=19):
        super().__init__(in_channels, classes, 1)


def test_unknown_model_kwarg_names_the_arch_the_key_and_the_accepted_keys():
    # smp itself hands the misspelled key to its resnet18 encoder, which drops it: the network
    # silently gets the default 256-channel decoder.
    silent = smp.create_model('Unet', encoder_name='resnet18', encoder_weights=None,
                              decoder_chanels=(16, 16, 16, 16, 16))
    assert silent.decoder.blocks[0].conv1[0].out_channels == 256
    with pytest.raises(ValueError) as err:
        build_network('Unet', encoder_name='resnet18', decoder_chanels=(16, 16, 16, 16, 16))
    message = str(err.value)
    assert "model.model_kwargs ['decoder_chanels'] are not arguments of smp Unet" in message
    accepted = message[message.index('Unet takes'):]
    assert "'decoder_channels'" in accepted and "'decoder_attention_type'" in accepted
    assert "'classes'" not in accepted and "'aux_params'" not in accepted


def test_wrongly_typed_model_kwarg_names_arch_encoder_and_kwargs():
    # U-Net's per-stage decoder_channels given to DeepLabV3Plus, which takes one int: smp dies
    # in torch with "unsupported operand type(s) for %: 'tuple' and 'int'".
    cfg = dict(type='SMPSegmentor', arch='DeepLabV3Plus', encoder_name='resnet18',
               num_classes=NUM_CLASSES, model_kwargs=dict(decoder_channels=(64, 32, 16, 16, 16)))
    with pytest.raises(ValueError) as err:
        MODELS.build(cfg)
    message = str(err.value)
    assert "model.arch='DeepLabV3Plus'" in message and "model.encoder_name='resnet18'" in message
    assert "model.model_kwargs={'decoder_channels': (64, 32, 16, 16, 16)}" in message
    assert "smp's defaults for them: {'decoder_channels': 256}" in message
    assert "TypeError: unsupported operand type(s) for %: 'tuple' and 'int'" in message
    assert isinstance(err.value.__cause__, TypeError)


def test_keyword_for_a_timm_encoder_goes_to_timm_and_its_failure_is_named():
    # Undeclared keywords reach timm.create_model (DPT's dynamic_img_size in ARCH_ENCODERS
    # builds), so only timm can refuse one; its TypeError is wrapped with the config.
    with pytest.raises(ValueError, match=r"model.arch='Unet' with model.encoder_name="
                                         r"'tu-resnet10t' from model.model_kwargs="
                                         r"\{'decoder_chanels': 16\}") as err:
        build_network('Unet', encoder_name='tu-resnet10t', decoder_chanels=16)
    assert "unexpected keyword argument 'decoder_chanels'" in str(err.value)


def test_deprecated_keywords_smp_pops_are_accepted_and_listed_per_architecture():
    # The table must follow smp: the keywords each constructor pops from its **kwargs.
    popped = {}
    for cls in smp.MODEL_ARCHITECTURES_MAPPING.values():
        names = re.findall(r'kwargs\.pop\("(\w+)"', inspect.getsource(cls.__init__))
        if names:
            popped[cls.__name__] = tuple(names)
    assert popped == SMP_DEPRECATED_KWARGS
    with pytest.warns(DeprecationWarning, match='decoder_use_batchnorm'):
        net = build_network('Unet', encoder_name='resnet18', decoder_use_batchnorm=False,
                            decoder_channels=(16, 16, 16, 16, 16))
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.decoder.modules())


@pytest.mark.parametrize('dropout', [-0.5, 1.5, '0.1'])
def test_dropout_outside_zero_one_is_refused(dropout):
    # A negative dropout used to be skipped silently, a string to fail in a comparison.
    with pytest.raises(ValueError, match=rf'model.dropout must be a probability in \[0, 1\], '
                                         rf'got {re.escape(repr(dropout))}'):
        build_network('TestPointwiseNet', dropout=dropout)
