"""Build the pixel-classification network: an smp architecture or a user's registered module.

Name checks run before anything is built, so that a typo is reported with the valid names
instead of as a ``KeyError`` deep inside smp or a ``RuntimeError('Unknown model')`` from timm.
"""
from __future__ import annotations

import difflib
import inspect
import math
import numbers

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

# The arguments build_network passes to every network itself, from keys of the model config.
OWN_ARGS = ('encoder_name', 'encoder_weights', 'in_channels', 'classes')
# Deprecated spellings smp 0.6's constructors pop from their **kwargs instead of declaring
# (they still work, with a DeprecationWarning); a test checks this table against smp's source.
SMP_DEPRECATED_KWARGS = {
    'Unet': ('decoder_use_batchnorm',), 'UnetPlusPlus': ('decoder_use_batchnorm',),
    'MAnet': ('decoder_use_batchnorm',), 'Linknet': ('decoder_use_batchnorm',),
    'PSPNet': ('psp_use_batchnorm',), 'PAN': ('upscale_mode',)}


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
            ``aux_params`` (a classification head cityseg has no loss for), a keyword argument
            the smp architecture does not take (see :func:`check_model_kwargs`), any other
            argument smp fails to build from (the message names the architecture, the
            encoder and the keyword arguments), ``dropout`` outside [0, 1], or ``dropout > 0``
            for a network without ``segmentation_head``.
        RuntimeError: pretrained weights could not be downloaded.
    """
    if 'aux_params' in kwargs:
        raise ValueError('model_kwargs.aux_params adds an image-classification head, which '
                         'cityseg has no labels or loss for; remove it')
    check_dropout(dropout)
    args = dict(encoder_name=encoder_name, encoder_weights=encoder_weights,
                in_channels=in_channels, classes=classes, **kwargs)
    if arch in MODELS.module_dict:
        net = MODELS.build(dict(type=arch, **args))
    else:
        check_arch(arch)
        check_encoder_name(encoder_name)
        check_model_kwargs(arch, encoder_name, kwargs)
        if encoder_name.startswith('tu-') and encoder_weights is not None:
            args['encoder_weights'] = _timm_weights(encoder_name, encoder_weights)
        with wrap_download_errors(encoder_name, encoder_weights):
            net = _create_smp_model(arch, args, kwargs)
    return add_head_dropout(net, dropout, arch)


def check_dropout(dropout: float) -> None:
    """Raise ValueError unless ``dropout`` is a probability."""
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
            or not 0 <= dropout <= 1:
        raise ValueError(f'model.dropout must be a probability in [0, 1], got {dropout!r}')


def add_head_dropout(net: nn.Module, dropout: float, arch: str) -> nn.Module:
    """Put a ``Dropout2d(dropout)`` in front of ``net.segmentation_head`` when ``dropout > 0``.

    It is added after any weights are loaded (it renames the head's parameters) and has none
    of its own, so removing it (:func:`strip_head_dropout`) gives back the plain network.
    """
    if dropout > 0:
        if not isinstance(getattr(net, 'segmentation_head', None), nn.Module):
            raise ValueError(f'dropout={dropout} needs a network with a `segmentation_head` '
                             f'module; {arch} has none')
        net.segmentation_head = nn.Sequential(nn.Dropout2d(dropout), net.segmentation_head)
    return net


def strip_head_dropout(net: nn.Module) -> nn.Module:
    """Undo :func:`add_head_dropout` in place: the network as smp builds it."""
    head = getattr(net, 'segmentation_head', None)
    if isinstance(head, nn.Sequential) and len(head) == 2 and isinstance(head[0], nn.Dropout2d):
        net.segmentation_head = head[1]
    return net


def _create_smp_model(arch: str, args: dict, model_kwargs: dict) -> nn.Module:
    """``smp.create_model(arch, **args)``, its argument errors wrapped to name the config.

    A value of the wrong kind fails deep inside smp or torch: U-Net's tuple of
    ``decoder_channels`` given to DeepLabV3Plus ends as ``TypeError: unsupported operand
    type(s) for %: 'tuple' and 'int'``. The wrapped error names the architecture, the encoder,
    the ``model_kwargs`` passed and the architecture's defaults for those keys.
    """
    encoder_name = args['encoder_name']
    try:
        return smp.create_model(arch, **args)
    except (TypeError, ValueError, AssertionError) as err:
        params = _smp_parameters(arch)
        defaults = {key: params[key].default for key in model_kwargs
                    if key in params and params[key].default is not inspect.Parameter.empty}
        hint = f" (smp's defaults for them: {defaults})" if defaults else ''
        raise ValueError(
            f'smp could not build model.arch={arch!r} with model.encoder_name={encoder_name!r} '
            f'from model.model_kwargs={model_kwargs!r}{hint}: {type(err).__name__}: {err}'
        ) from err


def _smp_parameters(arch: str) -> dict[str, inspect.Parameter]:
    """The named parameters of smp's ``arch`` constructor, without ``self`` and ``**kwargs``."""
    cls = smp.MODEL_ARCHITECTURES_MAPPING[arch.lower()]
    named = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {name: p for name, p in inspect.signature(cls.__init__).parameters.items()
            if p.kind in named and name != 'self'}


def smp_model_kwargs(arch: str) -> list[str]:
    """The ``model_kwargs`` keys smp's ``arch`` takes: its constructor's parameters (and
    deprecated spellings) less those build_network sets itself and the refused ``aux_params``."""
    cls_name = smp.MODEL_ARCHITECTURES_MAPPING[arch.lower()].__name__
    own = (*OWN_ARGS, 'aux_params')
    return ([name for name in _smp_parameters(arch) if name not in own]
            + list(SMP_DEPRECATED_KWARGS.get(cls_name, ())))


def check_model_kwargs(arch: str, encoder_name: str, kwargs: dict) -> None:
    """Refuse ``model_kwargs`` keys that smp's ``arch`` does not take.

    smp hands every undeclared keyword to the encoder: a timm (``tu-``) encoder passes it on to
    ``timm.create_model`` (``dynamic_img_size=True`` for ViTs), but smp's own encoders drop it,
    so a misspelled ``decoder_chanels`` would silently build the default decoder. Keys starting
    with ``_`` are smp's config-loading markers, which it removes itself.
    """
    if _is_timm_encoder(encoder_name):
        return
    accepted = smp_model_kwargs(arch)
    unknown = [key for key in kwargs if key not in accepted and not key.startswith('_')]
    if unknown:
        raise ValueError(
            f'model.model_kwargs {unknown} are not arguments of smp {arch} with encoder '
            f'{encoder_name!r}; {arch} takes {accepted} (a timm encoder, "tu-<name>", also '
            'takes the keyword arguments of its timm model)')


def _is_timm_encoder(name: str) -> bool:
    """Whether smp builds encoder ``name`` through timm (``tu-`` and its ``timm-`` aliases)."""
    return name.startswith('tu-') or smp.encoders.is_equivalent_to_timm_universal(name)


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
