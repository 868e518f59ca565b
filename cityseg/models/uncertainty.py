"""Per-pixel anomaly scores of a closed-set segmenter, computed from its logits.

Every score is oriented the same way: **higher means more anomalous** (less confident), so one
threshold direction serves every metric and picture. With logits ``z`` (``C x H x W``, already
divided by the model's temperature) and ``p = softmax(z)``:

- ``msp``: ``1 - max_c p_c`` (maximum softmax probability, Hendrycks & Gimpel, ICLR 2017);
- ``maxlogit``: ``-max_c z_c`` (Hendrycks et al., ICML 2022);
- ``entropy``: ``-sum_c p_c log p_c``, in nats;
- ``energy``: ``-logsumexp_c z_c`` (Liu et al., NeurIPS 2020, at temperature 1);
- ``sml``: ``-(max_c z_c - mu_k) / sigma_k`` with ``k`` the predicted class and ``mu``/``sigma``
  the mean and standard deviation of the max logit over the pixels predicted as ``k`` in a
  reference split (standardised max logits, Jung et al., ICCV 2021; :class:`SMLStats`).

Each score is a function registered in :data:`cityseg.registry.ANOMALY_SCORES` under its name,
so a new one is a function and a decorator, usable at once through ``model.test_cfg.scores``
(in a module a config lists in ``custom_imports``)::

    @register_score('margin', bounds=lambda num_classes: (0.0, 1.0))
    def margin(inputs: ScoreInputs) -> torch.Tensor:
        top2 = inputs.probs.topk(2, dim=-3).values
        return 1 - (top2[..., 0, :, :] - top2[..., 1, :, :])
"""
from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import torch

from cityseg.registry import ANOMALY_SCORES

ScoreBounds = Callable[[int], tuple[float, float]]


@dataclass(frozen=True)
class SMLStats:
    """Per-class mean and standard deviation of the max logit, for the ``sml`` score."""

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def from_sums(cls, count: torch.Tensor, total: torch.Tensor,
                  total_sq: torch.Tensor) -> SMLStats:
        """From per-class pixel counts, sums and sums of squares of the max logit.

        A class never predicted gets mean 0 and std 1 (its pixels do not exist, so they are
        never scored with it); a class predicted with one constant value gets std 1.
        """
        count = count.double()
        mean = torch.where(count > 0, total.double() / count.clamp(min=1), 0.0)
        var = torch.where(count > 1, total_sq.double() / count.clamp(min=1) - mean ** 2, 1.0)
        std = var.clamp(min=0).sqrt()
        return cls(mean.float(), torch.where(std > 1e-6, std, 1.0).float())

    def to_dict(self) -> dict:
        return dict(mean=self.mean.tolist(), std=self.std.tolist())

    @classmethod
    def from_file(cls, path: str, num_classes: int | None = None) -> SMLStats:
        """Read what ``tools/analysis_tools/anomaly.py`` writes (``sml_stats.json``)."""
        try:
            with open(path) as f:
                data = json.load(f)
            mean, std = torch.tensor(data['mean']), torch.tensor(data['std'])
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ValueError(f'{path} is not an sml statistics file ({{"mean": [...], "std": '
                             f'[...]}}, one value per class): {err}') from err
        if mean.ndim != 1 or mean.shape != std.shape or (
                num_classes is not None and len(mean) != num_classes):
            raise ValueError(f'{path} holds {len(mean)} means and {len(std)} stds; the model '
                             f'has {num_classes} classes')
        return cls(mean, std)


def max_logit_sums(logits: torch.Tensor, num_classes: int) -> torch.Tensor:
    """``3 x C`` (count, sum, sum of squares) of the max logit by predicted class.

    ``logits`` is ``C x H x W`` (or ``N x C x H x W``); summed on its device, so a GPU pass
    copies only the small table.
    """
    top = logits.float().max(-3)
    pred, value = top.indices.flatten(), top.values.flatten().double()
    return torch.stack([torch.bincount(pred, minlength=num_classes).double(),
                        torch.bincount(pred, value, minlength=num_classes),
                        torch.bincount(pred, value * value, minlength=num_classes)])


@dataclass
class ScoreInputs:
    """What a score function may read about a batch of pixels (class axis ``-3``).

    Attributes:
        logits: class logits, float, temperature already applied.
        sml_stats: max-logit class statistics, when the model has them (``sml``).
        given_probs: class probabilities other than ``softmax(logits)`` (TTA averages
            probabilities), if any.
    """

    logits: torch.Tensor
    sml_stats: SMLStats | None = None
    given_probs: torch.Tensor | None = None

    @cached_property
    def probs(self) -> torch.Tensor:
        """The class probabilities: ``given_probs``, else ``softmax(logits)`` (computed once,
        when a score asks)."""
        if self.given_probs is not None:
            return self.given_probs.float()
        return self.logits.softmax(-3)


def register_score(name: str, bounds: ScoreBounds | None = None
                   ) -> Callable[[Callable[[ScoreInputs], torch.Tensor]],
                                 Callable[[ScoreInputs], torch.Tensor]]:
    """Register a function ``ScoreInputs -> ... x H x W`` map (higher = more anomalous) as
    the anomaly score ``name``.

    Args:
        name: what ``model.test_cfg.scores`` (and ``tools/infer.py --uncertainty``) call it.
        bounds: ``num_classes -> (low, high)``, the values the score cannot leave, when it has
            such bounds: score pictures of every image then share that scale
            (:mod:`cityseg.visualization.score_maps`); else each picture spans its own range.
    """
    def register(fn: Callable[[ScoreInputs], torch.Tensor]) -> Callable[[ScoreInputs],
                                                                         torch.Tensor]:
        fn.score_bounds = bounds
        ANOMALY_SCORES.register_module(name=name, module=fn)
        return fn
    return register


@register_score('msp', bounds=lambda num_classes: (0.0, 1.0 - 1.0 / num_classes))
def msp(inputs: ScoreInputs) -> torch.Tensor:
    return 1 - inputs.probs.max(-3).values


@register_score('maxlogit')
def maxlogit(inputs: ScoreInputs) -> torch.Tensor:
    return -inputs.logits.max(-3).values


@register_score('entropy', bounds=lambda num_classes: (0.0, math.log(num_classes)))
def entropy(inputs: ScoreInputs) -> torch.Tensor:
    p = inputs.probs
    return -(p * p.clamp(min=1e-30).log()).sum(-3)


@register_score('energy')
def energy(inputs: ScoreInputs) -> torch.Tensor:
    return -inputs.logits.logsumexp(-3)


@register_score('sml')
def sml(inputs: ScoreInputs) -> torch.Tensor:
    if inputs.sml_stats is None:
        raise ValueError("the 'sml' score needs class statistics of the max logit: run "
                         'tools/analysis_tools/anomaly.py (it computes them on --sml-split) '
                         'or give --sml-stats FILE')
    logits = inputs.logits
    top = logits.max(-3)
    mean = inputs.sml_stats.mean.to(logits.device)[top.indices]
    std = inputs.sml_stats.std.to(logits.device)[top.indices]
    return -(top.values - mean) / std


# The scores cityseg ships; registered ones join them in score_names().
SCORES = ('msp', 'maxlogit', 'entropy', 'energy', 'sml')


def score_names() -> tuple[str, ...]:
    """Every registered score: :data:`SCORES` and those registered since."""
    return tuple(ANOMALY_SCORES.module_dict)


def anomaly_score(name: str, logits: torch.Tensor, sml_stats: SMLStats | None = None,
                  probs: torch.Tensor | None = None) -> torch.Tensor:
    """The ``name`` score of every pixel of ``logits`` (``... x C x H x W`` -> ``... x H x W``).

    Args:
        name: a registered score (:func:`score_names`).
        logits: class logits on the class axis ``-3`` (temperature already applied).
        sml_stats: required for ``'sml'``.
        probs: the class probabilities when the caller has other ones than
            ``softmax(logits)`` (TTA averages probabilities); used by ``msp`` and ``entropy``.
    """
    (name,) = check_scores([name])
    return ANOMALY_SCORES.get(name)(ScoreInputs(logits.float(), sml_stats, probs))


def score_range(name: str, num_classes: int) -> tuple[float, float] | None:
    """The bounds a score cannot leave (for fixed-scale pictures), or None when unbounded."""
    (name,) = check_scores([name])
    bounds = getattr(ANOMALY_SCORES.get(name), 'score_bounds', None)
    return None if bounds is None else bounds(num_classes)


def check_scores(names: Sequence[str]) -> tuple[str, ...]:
    """``names`` as a tuple, each a registered score, else an error naming it."""
    names = (names, ) if isinstance(names, str) else tuple(names)
    known = score_names()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f'unknown anomaly scores {unknown}; choose from {list(known)}, or '
                         'register one (cityseg.models.uncertainty.register_score)')
    return names
