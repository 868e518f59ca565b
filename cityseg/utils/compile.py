"""torch.compile for cityseg: the network alone, not mmengine's whole ``train_step``.

Given ``cfg.compile``, mmengine's Runner compiles ``model.train_step``: data preprocessing, the
loss and the optimizer step included. Dynamo then guards on values that change every iteration
(the ids of each data sample's metainfo strings, deep-copied by the preprocessor; the optimizer's
float learning rate, which the poly schedule changes every step), so it recompiles every
iteration until its cache limit and then silently runs eagerly. Compiling only the network
(``model.net``) keeps the convolutions compiled and leaves the hooks (class weights, encoder
unfreezing), AMP's autocast and the optimizer in eager Python, where they change freely.

Shapes are static unless ``dynamic`` is given: training crops have one size and validation
images another, so each gets its own graph once. Left to dynamo's automatic dynamic shapes, the
train graph recompiled after the first validation as shape-generic, and inductor (torch 2.14,
CPU, bf16) failed on its backward ("Cannot convert expression to float").
"""
from __future__ import annotations

from mmengine.config import Config
from mmengine.model import is_model_wrapper
from torch import nn

from cityseg.utils.errors import CitysegTypeError


def pop_compile_options(cfg: Config) -> dict | None:
    """Remove ``cfg.compile`` (so that the Runner does not compile ``train_step``) and return
    the ``torch.compile`` keyword arguments it asks for: ``True`` -> ``{}``, a dict as is, and
    ``None`` when it is absent or ``False``."""
    options = cfg.pop('compile', None)
    if options is None or options is False:
        return None
    if options is True:
        return {}
    if not isinstance(options, dict):
        raise CitysegTypeError(
            f'cfg.compile must be True, False or a dict of torch.compile '
            f'arguments, got {options!r}')
    return dict(options)


def compile_network(model: nn.Module, options: dict) -> None:
    """Compile the network (``net``, in place) of every segmentor ``model`` holds with
    ``torch.compile``: the model's own, or a self-training model's student and teacher. The
    network it predicts with (:func:`~cityseg.models.predicting_segmentor`) is one of them,
    and the other runs in every training step too (the student learns, the teacher
    pseudo-labels)."""
    from cityseg.models import SMPSegmentor, predicting_segmentor  # cityseg.models imports utils
    model = model.module if is_model_wrapper(model) else model
    predicting_segmentor(model)  # a model without one is named
    for segmentor in model.modules():
        if isinstance(segmentor, SMPSegmentor):
            segmentor.net.compile(**{'dynamic': False, **options})
