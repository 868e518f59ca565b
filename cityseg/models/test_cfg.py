"""A segmentor's test-time settings (``model.test_cfg``, ``model.temperature``), checked when
the model is built, so that a wrong key or value is named before any image is read."""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

from .uncertainty import check_scores

TEST_CFG_DEFAULTS = dict(mode='whole', crop_size=None, stride=None, flip=False, scales=(1.0,),
                         scores=(), sml_stats=None, return_logits=False)


def check_temperature(value: object, where: str) -> float:
    """``value`` as a positive finite float, else an error naming ``where`` it came from."""
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not math.isfinite(value) or value <= 0):
        raise ValueError(f'{where} must be a positive number, got {value!r}')
    return float(value)


def _is_size(value: object) -> bool:
    """Whether ``value`` is a ``(height, width)`` pair of positive integers."""
    return (isinstance(value, (list, tuple)) and len(value) == 2
            and all(isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
                    for v in value))


def check_slide_windows(crop_size: Sequence[int], stride: Sequence[int]) -> None:
    """Refuse windows that leave gaps: a pixel no window covers would have NaN logits (0 / 0),
    which ``argmax`` silently turns into class 0 (mmsegmentation refuses such strides too)."""
    for dim, crop, step in zip(('height', 'width'), crop_size, stride):
        if step > crop:
            raise ValueError(
                f'test_cfg.stride {tuple(stride)} is larger than test_cfg.crop_size '
                f'{tuple(crop_size)} in {dim} ({step} > {crop}): slide windows taken every '
                'stride would leave pixels covered by no window; use stride <= crop_size')


def parse_test_cfg(test_cfg: dict | None) -> dict:
    """``test_cfg`` with defaults filled in; a wrong key or value is an error naming it."""
    if test_cfg is not None and not isinstance(test_cfg, Mapping):
        raise ValueError(f'test_cfg must be a dict, got {test_cfg!r}')
    cfg = {**TEST_CFG_DEFAULTS, **(test_cfg or {})}
    unknown = sorted(set(cfg) - set(TEST_CFG_DEFAULTS))
    if unknown:
        raise ValueError(f'unknown test_cfg keys {unknown}; valid: {list(TEST_CFG_DEFAULTS)}')
    if cfg['mode'] not in ('whole', 'slide'):
        raise ValueError(f"test_cfg.mode must be 'whole' or 'slide', got {cfg['mode']!r}")
    for key in ('crop_size', 'stride'):
        if cfg[key] is not None and not _is_size(cfg[key]):
            raise ValueError(f'test_cfg.{key} must be (height, width) of positive ints, '
                             f'got {cfg[key]!r}')
    if cfg['mode'] == 'slide' and cfg['crop_size'] is None:
        raise ValueError("test_cfg.mode='slide' needs test_cfg.crop_size=(height, width)")
    if cfg['crop_size'] is not None and cfg['stride'] is not None:
        check_slide_windows(cfg['crop_size'], cfg['stride'])
    cfg['scores'] = check_scores(cfg['scores'])
    if not isinstance(cfg['return_logits'], bool):
        raise ValueError(f'test_cfg.return_logits must be True or False, got '
                         f'{cfg["return_logits"]!r}')
    if not isinstance(cfg['flip'], bool):
        raise ValueError(f'test_cfg.flip must be True or False, got {cfg["flip"]!r}')
    scales = cfg['scales']
    if (not isinstance(scales, (list, tuple)) or not scales
            or not all(isinstance(s, numbers.Real) and not isinstance(s, bool) and s > 0
                       for s in scales)):
        raise ValueError(f'test_cfg.scales must be positive factors, got {scales!r}')
    return cfg
