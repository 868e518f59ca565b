"""Build the pixel-classification network: an smp architecture or a user's registered module.

Name checks run before anything is built, so that a typo is reported with the valid names
instead of as a ``KeyError`` deep inside smp or a ``RuntimeError('Unknown model')`` from timm.
"""
from __future__ import annotations

import difflib
import math

import segmentation_models_pytorch as smp
import timm
from torch import nn

from cityseg.registry import MODELS

from .encoder_weights import wrap_download_errors

SMP_ARCHS = tuple(a.__name__ for a in smp.MODEL_ARCHITECTURES_MAPPING.values())

# Decoders that downsample the deepest encoder feature further: PAN's feature pyramid attention
# max-pools the stride-16 (or 32) map three more times, so its input sides must be multiples
# of 8 x the encoder's output stride (128 by default), which smp's own check does not know.
_DECODER_DOWNSAMPLING = {'PAN': 8}


def build_network(arch: str, encoder_name: str | None = None,
                  encoder_weights: str | None = None, in_channels: int = 3, classes: int = 19,
                  dropout: float = 0.0, **kwargs) -> nn.Module:
    """A network registered in cityseg's ``MODELS`` under ``arch``, else smp's architecture.

    Registering an ``nn.Module`` whose constructor takes smp's arguments (``encoder_name``,
    ``encoder_weights``, ``in_channels``, ``classes``) is all it takes to train a new network.
    With ``dropout > 0``, a ``Dropout2d`` is put in front of the network's
    ``segmentation_head`` (smp's own ``dropout`` only reaches its optional classification head,
    so a head dropout would otherwise be silently absent).

    Raises:
        ValueError: unknown architecture or encoder (the message lists the valid names),
            ``aux_params`` (a classification head cityseg has no loss for), or ``dropout > 0``
            for a network without ``segmentation_head``.
        RuntimeError: pretrained weights could not be downloaded.
    """
    if 'aux_params' in kwargs:
        raise ValueError('model_kwargs.aux_params adds an image-classification head, which '
                         'cityseg has no labels or loss for; remove it')
    args = dict(encoder_name=encoder_name, encoder_weights=encoder_weights,
                in_channels=in_channels, classes=classes, **kwargs)
    if arch in MODELS.module_dict:
        net = MODELS.build(dict(type=arch, **args))
    else:
        check_arch(arch)
        check_encoder_name(encoder_name)
        if encoder_name.startswith('tu-') and encoder_weights is not None:
            args['encoder_weights'] = _timm_weights(encoder_name, encoder_weights)
        with wrap_download_errors(encoder_name, encoder_weights):
            net = smp.create_model(arch, **args)
    if dropout > 0:
        if not isinstance(getattr(net, 'segmentation_head', None), nn.Module):
            raise ValueError(f'dropout={dropout} needs a network with a `segmentation_head` '
                             f'module; {arch} has none')
        net.segmentation_head = nn.Sequential(nn.Dropout2d(dropout), net.segmentation_head)
    return net


def network_divisor(net: nn.Module) -> int:
    """The number the input height and width must be multiples of for ``net`` to run.

    smp models declare it through ``requires_divisible_input_shape`` and their encoder's
    ``output_stride``; a user's network may follow the same protocol, otherwise it gets 1.
    """
    if not getattr(net, 'requires_divisible_input_shape', False):
        return 1
    stride = int(net.encoder.output_stride)
    return stride * _DECODER_DOWNSAMPLING.get(type(net).__name__, 1)


def combine_divisors(configured: int | None, required: int) -> int:
    """The smallest padding multiple that honours both the config's divisor and the network's."""
    return required if configured is None else math.lcm(int(configured), required)


def check_arch(arch: str) -> None:
    """Raise ValueError naming the smp architectures when ``arch`` is none of them."""
    if arch.lower() not in smp.MODEL_ARCHITECTURES_MAPPING:
        raise ValueError(
            f'unknown model.arch {arch!r}: smp architectures are {list(SMP_ARCHS)}; a network of '
            "your own must be registered in cityseg.registry.MODELS (load its module with "
            "custom_imports) before the model is built")


def check_encoder_name(name: str | None) -> None:
    """Raise ValueError naming the valid encoders when ``name`` is neither smp's nor timm's."""
    if isinstance(name, str) and name.startswith('tu-'):
        if not timm.is_model(name[3:]):
            close = difflib.get_close_matches(name[3:], timm.list_models(), n=5, cutoff=0.6)
            raise ValueError(
                f'unknown timm encoder {name!r}: {name[3:]!r} is not a timm model'
                f'{f"; close matches: {close}" if close else ""}. `timm.list_models("*pattern*")`'
                ' lists the valid names; prefix one with "tu-"')
        return
    if isinstance(name, str) and (name in smp.encoders.get_encoder_names()
                                  or smp.encoders.is_equivalent_to_timm_universal(name)):
        return
    names = smp.encoders.get_encoder_names()
    close = difflib.get_close_matches(str(name), names, n=5, cutoff=0.6)
    raise ValueError(
        f'unknown model.encoder_name {name!r}'
        f'{f" (close matches: {close})" if close else ""}: smp encoders are {names}, and any '
        'timm model works as "tu-<timm name>" (e.g. "tu-convnext_tiny")')


def _timm_weights(encoder_name: str, encoder_weights: str) -> bool:
    """timm encoders choose their pretrained weights by tag in the name, not by a string."""
    if encoder_weights != 'imagenet':
        raise ValueError(
            f'encoder_weights={encoder_weights!r} for timm encoder {encoder_name!r}: timm weights '
            "are chosen by the name's tag (e.g. 'tu-resnet50.a1_in1k'); use encoder_weights="
            "'imagenet' for the tagged (or default) weights, None, or a local file")
    return True
