"""``model.semi_cfg``: a method's settings, its defaults filled in and each value checked."""
from __future__ import annotations

import numbers
from collections.abc import Mapping

from .pseudo_labels import PIXEL_WEIGHTS

# model.semi_cfg.threshold that follows the teacher's confidence (SelfAdaptiveThreshold)
SELF_ADAPTIVE = 'self_adaptive'
# model.semi_cfg.threshold that keeps each class's most confident pixels (CBST)
CLASS_BALANCED = 'class_balanced'

# The settings of every self-training method (SemiSegmentor); a method class adds its own.
BASE_SEMI_CFG = dict(
    threshold=0.95,              # confidence threshold | 'self_adaptive' | 'class_balanced'
    threshold_momentum=0.999,    # 'self_adaptive': momentum of its averages (FreeMatch's)
    class_portion=0.2,           # 'class_balanced': share of each class's pixels kept (CBST's)
    pixel_weight='threshold',    # 'threshold' (FixMatch) | 'confident_share' (DACS)
    sup_weight=1.0,              # weight of the student's loss on the labelled images
    unsup_weight=1.0,            # weight of the pseudo-label loss (loss_unsup)
    mix=None,                    # CutMix | ClassMix config, or None
    mix_with='unlabelled',       # partner: another unlabelled image | 'labelled' (DACS: source)
    sup_branch='sup', weak_branch='unsup_weak', strong_branch='unsup_strong',
    predict_on='student',        # which network validation and test use: student | teacher
    teacher_norm='batch',        # BatchNorm of the pseudo-labelling teacher: batch | running
    unsup_running_stats=True,    # the student's unlabelled forward passes update BN statistics
    burn_in=0,                   # first iterations with the supervised loss alone
    pseudo_class_weight=False,   # weigh pseudo-labels by the student loss's class weights
)
_CHOICES = dict(pixel_weight=PIXEL_WEIGHTS, mix_with=('unlabelled', 'labelled'),
                predict_on=('student', 'teacher'), teacher_norm=('batch', 'running'))
_WEIGHTS = ('sup_weight', 'unsup_weight')
_SWITCHES = ('pseudo_class_weight', 'unsup_running_stats')


def parse_semi_cfg(defaults: Mapping, semi_cfg: Mapping | None, method: str) -> dict:
    """``semi_cfg`` over ``defaults`` (the ``method`` class's settings), checked.

    A setting whose default is a dict of numbers (UniMatch's ``feature_perturbation``, MIC's
    ``masked_consistency``) is merged key by key with it; so is ``mix`` (a registry config,
    ``type=...``) unless it names another type, which replaces the default whole. An unknown
    key, a number out of range or a choice not offered is a ValueError naming
    ``model.semi_cfg.<key>`` and ``method``.
    """
    semi_cfg = dict(semi_cfg or {})
    unknown = sorted(set(semi_cfg) - set(defaults))
    if unknown:
        raise ValueError(f'unknown model.semi_cfg keys {unknown} for {method}; valid: '
                         f'{list(defaults)}')
    cfg = {**defaults, **semi_cfg}
    for key, default in defaults.items():
        if isinstance(default, Mapping) and key != 'mix':
            cfg[key] = _merged(key, default, cfg[key], method)
    mix = cfg['mix']
    if isinstance(defaults['mix'], Mapping) and isinstance(mix, Mapping) and mix.get(
            'type', defaults['mix']['type']) == defaults['mix']['type']:
        cfg['mix'] = {**defaults['mix'], **mix}  # e.g. mix=dict(prob=1.0): the default's prob
    threshold = cfg['threshold']
    if threshold not in (SELF_ADAPTIVE, CLASS_BALANCED) and (
            not _number(threshold) or not 0 <= threshold <= 1):
        raise ValueError(f'model.semi_cfg.threshold must be a number in [0, 1], '
                         f'{SELF_ADAPTIVE!r} or {CLASS_BALANCED!r}, got {threshold!r}')
    portion = cfg['class_portion']
    if not _number(portion) or not 0 < portion <= 1:
        raise ValueError(f'model.semi_cfg.class_portion must be a number in (0, 1], got '
                         f'{portion!r}')
    momentum = cfg['threshold_momentum']
    if not _number(momentum) or not 0 <= momentum < 1:
        raise ValueError(f'model.semi_cfg.threshold_momentum must be a number in [0, 1), got '
                         f'{momentum!r}')
    for key in _WEIGHTS:
        if not _number(cfg[key]) or cfg[key] < 0:
            raise ValueError(f'model.semi_cfg.{key} must be a number >= 0, got {cfg[key]!r}')
    burn_in = cfg['burn_in']
    if not isinstance(burn_in, numbers.Integral) or isinstance(burn_in, bool) or burn_in < 0:
        raise ValueError(f'model.semi_cfg.burn_in must be a whole number of iterations >= 0, '
                         f'got {burn_in!r}')
    for key in _SWITCHES:
        if not isinstance(cfg[key], bool):
            raise ValueError(f'model.semi_cfg.{key} must be True or False, got {cfg[key]!r}')
    for key, allowed in _CHOICES.items():
        if cfg[key] not in allowed:
            raise ValueError(f'model.semi_cfg.{key} must be one of {allowed}, got {cfg[key]!r}')
    for key in (k for k in cfg if k.endswith('_branch')):
        if not isinstance(cfg[key], str) or not cfg[key]:
            raise ValueError(f'model.semi_cfg.{key} must be a branch name, got {cfg[key]!r}')
    if cfg['mix'] is not None and not (isinstance(cfg['mix'], Mapping) and 'type' in cfg['mix']):
        raise ValueError(f"model.semi_cfg.mix must be a dict (type='CutMix' | 'ClassMix') or "
                         f"None, got {cfg['mix']!r}")
    return cfg


def _merged(key: str, default: Mapping, value: object, method: str) -> dict:
    if not isinstance(value, Mapping) or set(value) - set(default):
        raise ValueError(f'model.semi_cfg.{key} of {method} must be a dict with keys '
                         f'{list(default)}, got {value!r}')
    merged = {**default, **value}
    bad = {k: v for k, v in merged.items() if not _number(v) or v < 0}
    if bad:
        raise ValueError(f'model.semi_cfg.{key} values must be numbers >= 0, got {bad}')
    return merged


def _number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)
