"""A student segmentor and its EMA teacher: self-training from unlabelled images."""
from __future__ import annotations

import copy
import numbers
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from cityseg.registry import MODELS
from cityseg.structures import SegDataSample

from .data_preprocessor import MultiBranchDataPreprocessor
from .mixing import mix
from .perturbations import block_keep_masks, feature_perturbed_logits
from .pseudo_labels import PIXEL_WEIGHTS, pixel_weights, pseudo_labels, weighted_cross_entropy

# Every knob of the method, each a config key of model.semi_cfg.
SEMI_CFG_DEFAULTS = dict(
    threshold=0.95,              # pseudo-label confidence threshold (FixMatch / UniMatch 0.95)
    pixel_weight='threshold',    # 'threshold' (FixMatch) | 'confident_share' (DACS)
    unsup_weight=1.0,            # weight of the pseudo-label loss against the labelled loss
    mix=dict(type='CutMix'),     # CutMix | ClassMix config, or None
    mix_with='unlabelled',       # partner: another unlabelled image | 'labelled' (DACS: source)
    sup_branch='sup', weak_branch='unsup_weak', strong_branch='unsup_strong',
    # UniMatch: a second strong view (its branch name), mixed with its own mask; the two
    # views' losses are averaged into loss_unsup
    second_strong_branch=None,
    # UniMatch: dict(p=0.5, weight=0.5): the weak view through the student with dropout on
    # the encoder features, trained on the pseudo-labels (loss_fp)
    feature_perturbation=None,
    # MIC: dict(block_size=64, ratio=0.7, weight=1.0): the strong view with masked blocks,
    # trained on the pseudo-labels of the whole image (loss_masked)
    masked_consistency=None,
    predict_on='student',        # which network validation and test use: student | teacher
)
_EXTRA_KEYS = dict(feature_perturbation=dict(p=0.5, weight=0.5),
                   masked_consistency=dict(block_size=64, ratio=0.7, weight=1.0))


@MODELS.register_module()
class SemiSegmentor(BaseModel):
    """Weak-to-strong self-training around an :class:`~cityseg.models.SMPSegmentor` student.

    The teacher is a copy of the student that never trains: :class:`MeanTeacherHook` moves it
    towards the student after every step (an exponential moving average; momentum 0 makes it
    the student itself, UniMatch's setting). Both are submodules, so the teacher's weights are
    in every checkpoint and ``--resume`` continues exactly. One training step:

    1. the student's own loss on the labelled branch (``sup``: labelled images, or the source
       domain);
    2. the teacher's pseudo-labels on the weak view of the unlabelled images, and their pixel
       weights (``threshold``, ``pixel_weight``);
    3. the strong view mixed with a partner (``mix``, ``mix_with``): with CutMix another
       unlabelled image and its pseudo-label (FixMatch / UniMatch), with ClassMix the labelled
       image and its label (DACS: source pixels pasted into the target). Image, label and
       weight take the same mask;
    4. ``loss_unsup = unsup_weight * weighted cross-entropy`` of the student on the mixed
       strong view (the mean over two views with ``second_strong_branch``, UniMatch);
    5. optionally ``loss_fp`` (UniMatch's feature perturbation: the weak view with dropout on
       the encoder features) and ``loss_masked`` (MIC: the strong view with masked blocks),
       both on the same pseudo-labels and weights.

    Logged besides the losses: ``pseudo_confident``, the share of unlabelled pixels above the
    threshold.

    Args:
        student: config of the segmentor that learns (``type='SMPSegmentor'``, ...). Its data
            preprocessor preprocesses every branch.
        semi_cfg: the method's settings, :data:`SEMI_CFG_DEFAULTS` key by key.
        test_cfg: merged into the student's ``test_cfg`` (and so the teacher's): ``--tta``,
            ``--calibration``, uncertainty scores and slide windows set ``model.test_cfg`` for
            either segmentor alike.
        temperature: the student's (and teacher's) ``temperature``.
    """

    def __init__(self, student: dict, semi_cfg: dict | None = None,
                 test_cfg: dict | None = None, temperature: float | None = None,
                 init_cfg: dict | None = None) -> None:
        student = MODELS.build(_with_test_settings(student, test_cfg, temperature))
        super().__init__(data_preprocessor=MultiBranchDataPreprocessor(student.data_preprocessor),
                         init_cfg=init_cfg)
        self.student = student
        self.teacher = copy.deepcopy(student)
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        self.semi_cfg = parse_semi_cfg(semi_cfg)
        mix_cfg = self.semi_cfg['mix']
        self.mixer = None if mix_cfg is None else MODELS.build(dict(mix_cfg))

    # What hooks, tools and the optimizer constructor read from a segmentor: the student's.
    @property
    def encoder(self) -> nn.Module:
        return self.student.encoder

    @property
    def loss_module(self) -> nn.Module:
        return self.student.loss_module

    @property
    def num_classes(self) -> int:
        return self.student.num_classes

    @property
    def ignore_index(self) -> int:
        return self.student.ignore_index

    @property
    def predictor(self) -> nn.Module:
        """The network validation and test use (``semi_cfg.predict_on``)."""
        return self.teacher if self.semi_cfg['predict_on'] == 'teacher' else self.student

    # What the test-time tools read and set (test.py --tta / --calibration, calibration.py,
    # anomaly.py, infer.py --uncertainty, a checkpoint's temperature): the predictor's.
    @property
    def test_cfg(self) -> dict:
        return self.predictor.test_cfg

    @property
    def temperature_cfg(self) -> float | None:
        return self.predictor.temperature_cfg

    @property
    def temperature(self) -> float:
        return self.predictor.temperature

    @temperature.setter
    def temperature(self, value: float) -> None:
        self.predictor.temperature = value

    @property
    def sml_stats(self):
        return self.predictor.sml_stats

    @sml_stats.setter
    def sml_stats(self, value) -> None:
        self.predictor.sml_stats = value

    def train(self, mode: bool = True) -> SemiSegmentor:
        """The teacher always predicts in eval mode (BatchNorm statistics, no dropout)."""
        super().train(mode)
        self.teacher.eval()
        return self

    def forward(self, inputs, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return self.predictor(inputs, data_samples, mode=mode)

    def loss(self, inputs: dict[str, torch.Tensor],
             data_samples: dict[str, Sequence[SegDataSample]]) -> dict:
        cfg = self.semi_cfg
        missing = [cfg[k] for k in ('sup_branch', 'weak_branch') if cfg[k] not in inputs]
        if missing:
            raise ValueError(f'the training batch has no {missing} branch (it holds '
                             f'{sorted(inputs)}): the labelled and unlabelled pipelines must end '
                             f'with MultiBranch giving semi_cfg.sup_branch / weak_branch, and '
                             f'the sampler must draw both (MultiSourceSampler)')
        losses = dict(self.student.loss(inputs[cfg['sup_branch']],
                                        data_samples[cfg['sup_branch']]))
        weak = inputs[cfg['weak_branch']]
        views = [cfg['strong_branch']] + ([cfg['second_strong_branch']]
                                          if cfg['second_strong_branch'] else [])
        strongs = [inputs.get(view, weak) for view in views]
        for view, strong in zip(views, strongs):
            if strong.shape != weak.shape:
                raise ValueError(f'weak view {tuple(weak.shape)} and strong view {view} '
                                 f'{tuple(strong.shape)} differ: strong branches must only '
                                 'change colours (put crops and flips before MultiBranch)')
        with torch.no_grad():
            valid = _valid_pixels(data_samples[cfg['weak_branch']], weak)
            confidence, pseudo = pseudo_labels(self._teacher_probs(weak))
            weights = pixel_weights(confidence, valid, cfg['threshold'], cfg['pixel_weight'])
            pseudo = pseudo.masked_fill(~valid, self.ignore_index)
            confident = (confidence >= cfg['threshold'])[valid].float().mean()
        unsup = []
        for strong in strongs:
            mixed = (strong, pseudo, weights)
            if self.mixer is not None:
                with torch.no_grad():
                    mixed = self._mix(strong, pseudo, weights, inputs, data_samples)
            unsup.append(weighted_cross_entropy(self.student(mixed[0], mode='tensor'),
                                                mixed[1], mixed[2], self.ignore_index))
        losses['loss_unsup'] = cfg['unsup_weight'] * sum(unsup) / len(unsup)
        if cfg['feature_perturbation']:
            fp = cfg['feature_perturbation']
            logits = feature_perturbed_logits(self.student.net, weak, fp['p'])
            losses['loss_fp'] = fp['weight'] * weighted_cross_entropy(
                logits, pseudo, weights, self.ignore_index)
        if cfg['masked_consistency']:
            mc = cfg['masked_consistency']
            keep = block_keep_masks(strongs[0].shape, mc['block_size'], mc['ratio'],
                                    strongs[0].device)
            logits = self.student(strongs[0] * keep, mode='tensor')
            losses['loss_masked'] = mc['weight'] * weighted_cross_entropy(
                logits, pseudo, weights, self.ignore_index)
        losses['pseudo_confident'] = confident
        return losses

    def _teacher_probs(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.teacher(images, mode='tensor')
        if logits.shape[-2:] != images.shape[-2:]:
            logits = F.interpolate(logits, size=images.shape[-2:], mode='bilinear',
                                   align_corners=False)
        return logits.float().softmax(1)

    def _mix(self, strong: torch.Tensor, pseudo: torch.Tensor, weights: torch.Tensor,
             inputs: dict, data_samples: dict) -> tuple[torch.Tensor, ...]:
        """Each unlabelled sample mixed with its partner: the next unlabelled sample, or a
        labelled one (cycled when the batch holds fewer)."""
        if self.semi_cfg['mix_with'] == 'unlabelled':
            images, labels, partner_weights = (t.roll(1, 0) for t in (strong, pseudo, weights))
        else:
            sup = self.semi_cfg['sup_branch']
            order = torch.arange(len(strong)) % len(inputs[sup])
            images = inputs[sup][order]
            labels = torch.cat([s.gt_sem_seg.data for s in data_samples[sup]]).long()[order]
            if images.shape != strong.shape:
                raise ValueError(f'labelled images {tuple(images.shape[1:])} and unlabelled '
                                 f'{tuple(strong.shape[1:])} differ in size: mixing them '
                                 '(mix_with=labelled) needs the same crop size in both '
                                 'pipelines')
            partner_weights = torch.ones_like(weights)
        mask = self.mixer.masks(labels)
        return mix(mask, images, strong), mix(mask, labels, pseudo), \
            mix(mask, partner_weights, weights)


def _with_test_settings(student: Mapping, test_cfg: dict | None,
                        temperature: float | None) -> dict:
    """The student's config with the segmentor-level ``test_cfg`` merged into its own and
    ``temperature`` set, so that ``model.test_cfg`` / ``model.temperature`` mean the same for a
    SemiSegmentor as for the SMPSegmentor it holds (the teacher is the student's copy)."""
    if not isinstance(student, Mapping):
        raise TypeError(f'SemiSegmentor student must be a config dict (type=SMPSegmentor, ...), '
                        f'got {type(student).__name__}')
    student = dict(student)
    if test_cfg:
        student['test_cfg'] = {**(student.get('test_cfg') or {}), **test_cfg}
    if temperature is not None:
        student['temperature'] = temperature
    return student


def _valid_pixels(samples: Sequence[SegDataSample], images: torch.Tensor) -> torch.Tensor:
    """True on each image's own pixels, False on the batch padding (N x H x W)."""
    n, _, h, w = images.shape
    valid = torch.zeros((n, h, w), dtype=torch.bool, device=images.device)
    for i, sample in enumerate(samples):
        ih, iw = sample.metainfo.get('img_shape', (h, w))
        valid[i, :ih, :iw] = True
    return valid


def parse_semi_cfg(semi_cfg: Mapping | None) -> dict:
    """``semi_cfg`` with defaults filled in; an unknown key or a bad value is an error naming
    ``model.semi_cfg.<key>``."""
    cfg = {**SEMI_CFG_DEFAULTS, **(semi_cfg or {})}
    unknown = sorted(set(cfg) - set(SEMI_CFG_DEFAULTS))
    if unknown:
        raise ValueError(f'unknown model.semi_cfg keys {unknown}; valid: '
                         f'{list(SEMI_CFG_DEFAULTS)}')
    for key in ('threshold', 'unsup_weight'):
        value = cfg[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0 or (
                key == 'threshold' and value > 1):
            raise ValueError(f'model.semi_cfg.{key} must be a number '
                             f'{"in [0, 1]" if key == "threshold" else ">= 0"}, got {value!r}')
    choices = dict(pixel_weight=PIXEL_WEIGHTS, mix_with=('unlabelled', 'labelled'),
                   predict_on=('student', 'teacher'))
    for key, allowed in choices.items():
        if cfg[key] not in allowed:
            raise ValueError(f'model.semi_cfg.{key} must be one of {allowed}, got {cfg[key]!r}')
    for key, defaults in _EXTRA_KEYS.items():
        if cfg[key] is None:
            continue
        if not isinstance(cfg[key], Mapping) or set(cfg[key]) - set(defaults):
            raise ValueError(f'model.semi_cfg.{key} must be None or a dict with keys '
                             f'{list(defaults)}, got {cfg[key]!r}')
        cfg[key] = {**defaults, **cfg[key]}
    if cfg['mix'] is not None and not isinstance(cfg['mix'], Mapping):
        raise ValueError(f"model.semi_cfg.mix must be a dict (type='CutMix' | 'ClassMix') or "
                         f"None, got {cfg['mix']!r}")
    return cfg
