"""Where a model config holds its segmentor's settings: ``model`` itself, or ``model.student``.

A supervised config's ``model`` is an ``SMPSegmentor`` config: ``num_classes``,
``encoder_weights``, ``pretrained`` are its keys. A self-training config's ``model`` is a
``SemiSegmentor`` whose network settings are the student's (``model.student.*``; the teacher
is the student's copy). Config checks and tools that read or change those settings find them
through :func:`segmentor_cfg`, so that both kinds get the same checks and the same offline
loading.
"""
from __future__ import annotations

from collections.abc import Mapping, MutableMapping

from mmengine.config import Config


def segmentor_cfg(model_cfg: Mapping) -> tuple[str, MutableMapping]:
    """``(key, section)``: the segmentor section of ``model_cfg`` (``cfg.model``) and its
    dotted key for messages: ``('model.student', model_cfg['student'])`` for a self-training
    model, else ``('model', model_cfg)``. The section is the stored one: change it in place."""
    student = model_cfg.get('student')
    if isinstance(student, MutableMapping):
        return 'model.student', student
    return 'model', model_cfg


def drop_encoder_weights(cfg: Config) -> None:
    """Set the segmentor's ``encoder_weights`` to None (in place), for a model whose every
    weight comes from elsewhere (a checkpoint, an ONNX file) or does not matter (FLOPs,
    speed): the ImageNet weights it replaces are then not downloaded, which also fails
    offline. A section without the key is left alone (the segmentor's default is None)."""
    _, section = segmentor_cfg(cfg.model)
    if 'encoder_weights' in section:
        section['encoder_weights'] = None
