"""The network a model predicts with: what every test-time tool reads, sets and exports.

A plain :class:`~cityseg.models.SMPSegmentor` predicts with itself. A self-training model
(:class:`~cityseg.models.SemiSegmentor`) holds two of them, and predicts with the one its
``semi_cfg.predict_on`` names (``model.predictor``, the student or the EMA teacher). Tools that
export, publish, compile or calibrate the network, or set its test-time settings, go through
:func:`predicting_segmentor`, so that any model kind reaches them by one rule and none of them
reads a self-training model's attributes.
"""
from __future__ import annotations

from mmengine.model import is_model_wrapper
from torch import nn

from cityseg.utils.errors import CitysegTypeError

from .segmentor import SMPSegmentor


def predicting_segmentor(model: nn.Module) -> SMPSegmentor:
    """The :class:`~cityseg.models.SMPSegmentor` that ``model`` predicts with.

    ``model`` may be wrapped (DDP, mmengine's wrappers): the wrapped model is taken. A model
    with a ``predictor`` (a :class:`~cityseg.models.SemiSegmentor`: its student or teacher,
    as ``semi_cfg.predict_on`` says) gives that; an ``SMPSegmentor`` gives itself.

    Raises:
        TypeError: the model predicts with something else, naming its class: the tools need
            the segmentor's network (``net``), preprocessor and test-time settings.
    """
    model = _unwrapped(model)
    predictor = getattr(model, 'predictor', model)
    if not isinstance(predictor, SMPSegmentor):
        raise CitysegTypeError(
            f'{type(model).__name__} predicts with a {type(predictor).__name__}, '
            'not an SMPSegmentor: the tools need its network (net), data '
            'preprocessor and test_cfg')
    return predictor


def segmentor_key(model: nn.Module) -> str:
    """The config section holding the settings of ``model``'s predicting segmentor, for
    messages: ``'model'``, or ``'model.student'`` for a self-training model (its teacher is
    the student's copy), as :func:`~cityseg.utils.segmentor_cfg.segmentor_cfg` finds it."""
    model = _unwrapped(model)
    return 'model' if predicting_segmentor(model) is model else 'model.student'


def _unwrapped(model: nn.Module) -> nn.Module:
    return model.module if is_model_wrapper(model) else model
