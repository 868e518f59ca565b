"""A student segmentor and its EMA teacher: the base of every self-training method."""
from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from operator import attrgetter
from typing import TYPE_CHECKING, ClassVar, NamedTuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from cityseg.registry import MODELS
from cityseg.structures import SegDataSample, partner_branch
from cityseg.utils.errors import CitysegTypeError
from cityseg.utils.mmengine_compat import training_iteration

from .batch_norm import batch_statistics
from .config_check import check_semi_config
from .data_preprocessor import MultiBranchDataPreprocessor
from .mixing import mix
from .pseudo_labels import pixel_weights, pseudo_labels, weighted_cross_entropy
from .semi_cfg import BASE_SEMI_CFG, CLASS_BALANCED, SELF_ADAPTIVE, parse_semi_cfg
from .thresholds import SelfAdaptiveThreshold, class_balanced_thresholds

if TYPE_CHECKING:
    from ..segmentor import SMPSegmentor


class PseudoLabels(NamedTuple):
    """The teacher's labels of a batch of unlabelled images (each N x H x W)."""

    labels: torch.Tensor      # the class of each pixel, ignore_index on the batch padding
    weights: torch.Tensor     # how much each pixel's loss counts (semi_cfg.pixel_weight)
    confident: torch.Tensor   # the share of the images' pixels above the threshold (a scalar)


class MixSource(NamedTuple):
    """Images with their labels and pixel weights: what mixing pastes, and what it gives."""

    images: torch.Tensor
    labels: torch.Tensor
    weights: torch.Tensor


@MODELS.register_module()
class SemiSegmentor(BaseModel):
    """Weak-to-strong self-training around an :class:`~cityseg.models.SMPSegmentor` student,
    the base of :class:`FixMatch`, :class:`UniMatch`, :class:`DACS` and :class:`MIC` (as
    mmdetection's ``SemiBaseDetector`` is of its semi-supervised detectors).

    The teacher is a copy of the student that never trains: :class:`MeanTeacherHook` moves it
    towards the student after every step (``decay=0`` makes it the student itself, UniMatch's
    setting), and a config without the hook is refused. Both are submodules, so the teacher's
    weights are in every checkpoint and ``--resume`` continues exactly. A checkpoint of a plain
    segmentor (``load_from`` a supervised ``SMPSegmentor``) loads into both.

    One training step (:meth:`loss`) is a sequence of steps a method overrides; during the
    first ``burn_in`` iterations (:meth:`in_burn_in`) only the first:

    1. :meth:`loss_supervised`: the student's own loss on the labelled branch, times
       ``sup_weight``;
    2. :meth:`pseudo_label`: the teacher's labels of the weak view and their pixel weights
       (``threshold``: a number; ``'self_adaptive'``, FreeMatch's per-class thresholds
       that follow the teacher's confidence, :class:`SelfAdaptiveThreshold`; or
       ``'class_balanced'``, CBST's, which keep the most confident ``class_portion`` of each
       class's pixels in the batch, :func:`class_balanced_thresholds`; ``pixel_weight``);
       its BatchNorm layers normalise the weak batch by its own statistics
       (``teacher_norm='batch'``, as UniMatch and DAFormer) or by their running statistics
       (``'running'``);
    3. :meth:`mix_partners` and :meth:`mix`: each strong view (:meth:`strong_views`) mixed
       with a partner (``mix``, ``mix_with``): with ``'unlabelled'`` the sample's mix partner,
       another unlabelled image (``MultiSourceSampler(mix_partners=True)``) whose strong view
       is pasted with the teacher's labels of its weak view; with ``'labelled'`` a labelled
       image and its label (DACS). Image, label and weight take the same mask;
    4. :meth:`loss_unsupervised`: ``loss_unsup = unsup_weight x`` :meth:`loss_pseudo` (the
       weighted cross-entropy) of the student on the mixed strong views, averaged over them.
       Methods add their own terms here. With ``unsup_running_stats=False`` these forward
       passes normalise by their batch's statistics as always but leave the student's
       BatchNorm running statistics to the labelled images: else the strong, mixed views
       (colour-jittered, grey, blurred) make up about half of them, the EMA teacher takes
       them over, and clean frames are normalised with them at test time (on CamVid 1/8,
       ``False`` gave FixMatch +1.2 / +1.9 val mIoU and UniMatch +1.4 / +1.8, seeds 0 / 1).

    Logged besides the losses: ``pseudo_confident``, the share of unlabelled pixels above the
    threshold, and with ``threshold='self_adaptive'`` ``pseudo_threshold``, its global
    confidence (the threshold of the class the teacher is surest of).

    Args:
        student: config of the segmentor that learns (``type='SMPSegmentor'``, ...). Its data
            preprocessor preprocesses every branch.
        semi_cfg: the method's settings, :attr:`SEMI_CFG` key by key.
        test_cfg: merged into the student's ``test_cfg`` (and so the teacher's): ``--tta``,
            ``--calibration``, uncertainty scores and slide windows set ``model.test_cfg`` for
            either segmentor alike.
        temperature: the student's (and teacher's) ``temperature``.
    """

    #: The method's settings and their defaults, each a key of ``model.semi_cfg``; a method
    #: class states its published ones (and adds its own keys) here.
    SEMI_CFG: ClassVar[dict] = BASE_SEMI_CFG

    def __init__(self, student: dict, semi_cfg: dict | None = None,
                 test_cfg: dict | None = None, temperature: float | None = None,
                 init_cfg: dict | None = None) -> None:
        self.semi_cfg = self.parse_semi_cfg(semi_cfg)
        student = MODELS.build(_with_test_settings(student, test_cfg, temperature))
        super().__init__(data_preprocessor=MultiBranchDataPreprocessor(student.data_preprocessor),
                         init_cfg=init_cfg)
        self.student = student
        self.teacher = copy.deepcopy(student)
        self.teacher.requires_grad_(False)
        self.teacher.eval()
        mix_cfg = self.semi_cfg['mix']
        self.mixer = None if mix_cfg is None else MODELS.build(dict(mix_cfg))
        self.adaptive_threshold = (
            SelfAdaptiveThreshold(student.num_classes, self.semi_cfg['threshold_momentum'])
            if self.semi_cfg['threshold'] == SELF_ADAPTIVE else None)

    @classmethod
    def parse_semi_cfg(cls, semi_cfg: Mapping | None) -> dict:
        """``semi_cfg`` with this method's defaults filled in, checked (ValueError naming
        ``model.semi_cfg.<key>``)."""
        return parse_semi_cfg(cls.SEMI_CFG, semi_cfg, cls.__name__)

    @classmethod
    def check_config(cls, cfg: Mapping, path: str) -> None:
        """Refuse, before anything is built, a config this method cannot train right
        (:func:`~cityseg.models.semi.config_check.check_semi_config`)."""
        check_semi_config(cls, cfg, path)

    # The one seam through which training code reaches the student: the optimizer
    # constructor and EncoderUnfreezeHook read `encoder`, ClassWeightHook `loss_module`, the
    # checkpoint loader's class-count check `num_classes`.
    encoder = property(attrgetter('student.encoder'))
    loss_module = property(attrgetter('student.loss_module'))
    num_classes = property(attrgetter('student.num_classes'))

    @property
    def predictor(self) -> SMPSegmentor:
        """The network validation and test use (``semi_cfg.predict_on``)."""
        return self.teacher if self.semi_cfg['predict_on'] == 'teacher' else self.student

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
        """One self-training step's losses, from its overridable steps (class docstring)."""
        self.check_branches(inputs)
        cfg = self.semi_cfg
        losses = self.loss_supervised(inputs[cfg['sup_branch']], data_samples[cfg['sup_branch']])
        if self.in_burn_in():
            return losses
        with torch.no_grad():
            pseudo = self.pseudo_label(inputs[cfg['weak_branch']],
                                       data_samples[cfg['weak_branch']])
            partners = None if self.mixer is None else self.mix_partners(inputs, data_samples)
        with (nullcontext() if cfg['unsup_running_stats'] else batch_statistics(self.student)):
            losses.update(self.loss_unsupervised(inputs, pseudo, partners))
        losses['pseudo_confident'] = pseudo.confident
        if self.adaptive_threshold is not None:
            losses['pseudo_threshold'] = self.adaptive_threshold.global_confidence.clone()
        return losses

    def in_burn_in(self) -> bool:
        """Whether the training iteration (mmengine's ``MessageHub`` ``iter``,
        :func:`~cityseg.utils.mmengine_compat.training_iteration`) is one of the first
        ``semi_cfg.burn_in``: the student then learns from the labels alone, as in Unbiased
        Teacher's burn-in stage, so that a network trained from scratch is not taught its own
        first guesses; the teacher keeps following it (MeanTeacherHook)."""
        burn_in = self.semi_cfg['burn_in']
        if not burn_in:
            return False
        iteration = training_iteration()
        if iteration is None:
            raise RuntimeError('model.semi_cfg.burn_in needs the training iteration, which '
                               "mmengine's RuntimeInfoHook puts in the MessageHub ('iter'): "
                               'train through a Runner')
        return iteration < burn_in

    def strong_views(self) -> list[str]:
        """The branches of the strong views the student learns the pseudo-labels on."""
        return [self.semi_cfg['strong_branch']]

    def partner_branches(self) -> list[str]:
        """The mix partners' branches a training batch must hold: their weak view and strong
        views, when unlabelled images are mixed with each other."""
        if self.mixer is None or self.semi_cfg['mix_with'] != 'unlabelled':
            return []
        return [partner_branch(b) for b in (self.semi_cfg['weak_branch'], *self.strong_views())]

    def check_branches(self, inputs: Mapping[str, torch.Tensor]) -> None:
        """A ValueError naming what the batch lacks: a branch a ``semi_cfg`` key names (a
        misspelt one is not replaced by another view), or the mix partners; and a view whose
        size is not the weak view's."""
        cfg = self.semi_cfg
        views = [*self.strong_views(), *self.partner_branches()]
        missing = [b for b in (cfg['sup_branch'], cfg['weak_branch'], *views) if b not in inputs]
        named = {k: v for k, v in cfg.items() if k.endswith('_branch') and v in missing}
        if named:
            raise ValueError(f'the training batch has no {sorted(named.values())} branch '
                             f'(model.semi_cfg {named}; the batch holds {sorted(inputs)}): the '
                             'pipelines must end with MultiBranch packing these branches, and '
                             'the sampler must draw labelled and unlabelled samples '
                             '(MultiSourceSampler)')
        if missing:
            raise ValueError(
                f'{type(self).__name__} mixes each unlabelled image with another one '
                f'(mix_with=unlabelled) but the batch holds no mix partners {missing}: set '
                'train_dataloader.sampler.mix_partners=True (MultiSourceSampler)')
        weak = inputs[cfg['weak_branch']]
        for view in views:
            if inputs[view].shape != weak.shape:
                raise ValueError(f'weak view {tuple(weak.shape)} and {view} '
                                 f'{tuple(inputs[view].shape)} differ: strong views and mix '
                                 'partners must have the weak view\'s size (crop every '
                                 'unlabelled image to one size, before MultiBranch)')

    def loss_supervised(self, images: torch.Tensor,
                        samples: Sequence[SegDataSample]) -> dict:
        """The student's own losses on the labelled images, times ``sup_weight``."""
        weight = self.semi_cfg['sup_weight']
        return {name: value * weight if 'loss' in name else value
                for name, value in self.student.loss(images, samples).items()}

    def pseudo_label(self, images: torch.Tensor,
                     samples: Sequence[SegDataSample]) -> PseudoLabels:
        """The teacher's labels of ``images`` (weak views) and their pixel weights."""
        cfg = self.semi_cfg
        valid = _valid_pixels(samples, images)
        probs = self._teacher_probs(images)
        confidence, labels = pseudo_labels(probs)
        threshold = cfg['threshold']
        if self.adaptive_threshold is not None:  # updated by every batch the teacher labels
            self.adaptive_threshold.update(probs, valid)
            threshold = self.adaptive_threshold(labels)
        elif threshold == CLASS_BALANCED:
            threshold = class_balanced_thresholds(confidence, labels, valid,
                                                  self.student.num_classes,
                                                  cfg['class_portion'])[labels]
        weights = pixel_weights(confidence, valid, threshold, cfg['pixel_weight'])
        confident = (confidence >= threshold)[valid].float().mean()
        return PseudoLabels(labels.masked_fill(~valid, self.student.ignore_index), weights,
                            confident)

    def mix_partners(self, inputs: dict[str, torch.Tensor],
                     data_samples: dict[str, Sequence[SegDataSample]]) -> dict[str, MixSource]:
        """What each strong view is mixed with, view by view: the mix partners' strong views
        with the teacher's labels of their weak views (``mix_with='unlabelled'``), or the
        labelled images with their labels and weight 1, cycled when there are fewer."""
        cfg, views = self.semi_cfg, self.strong_views()
        if cfg['mix_with'] == 'unlabelled':
            weak = partner_branch(cfg['weak_branch'])
            pseudo = self.pseudo_label(inputs[weak], data_samples[weak])
            return {view: MixSource(inputs[partner_branch(view)], pseudo.labels, pseudo.weights)
                    for view in views}
        sup, strong = cfg['sup_branch'], inputs[views[0]]
        order = torch.arange(len(strong)) % len(inputs[sup])
        images = inputs[sup][order]
        labels = torch.cat([s.gt_sem_seg.data for s in data_samples[sup]]).long()[order]
        if images.shape != strong.shape:
            raise ValueError(f'labelled images {tuple(images.shape[1:])} and unlabelled '
                             f'{tuple(strong.shape[1:])} differ in size: mixing them '
                             '(mix_with=labelled) needs the same crop size in both pipelines')
        partner = MixSource(images, labels.to(strong.device),
                            torch.ones(labels.shape, device=strong.device))
        return dict.fromkeys(views, partner)

    def mix(self, strong: torch.Tensor, pseudo: PseudoLabels, partner: MixSource) -> MixSource:
        """``strong`` with the partner's pixels pasted where the mixer's mask holds (masks
        drawn from the partner's labels), and the labels and weights of the pixels pasted."""
        mask = self.mixer.masks(partner.labels)
        return MixSource(mix(mask, partner.images, strong), mix(mask, partner.labels,
                                                                 pseudo.labels),
                         mix(mask, partner.weights, pseudo.weights))

    def loss_unsupervised(self, inputs: dict[str, torch.Tensor], pseudo: PseudoLabels,
                          partners: dict[str, MixSource] | None) -> dict:
        """``loss_unsup``: :meth:`loss_pseudo` of the student on each strong view, mixed
        with its partner, averaged over the views, times ``unsup_weight``."""
        losses = []
        for view in self.strong_views():
            mixed = MixSource(inputs[view], pseudo.labels, pseudo.weights)
            if partners is not None:
                with torch.no_grad():
                    mixed = self.mix(inputs[view], pseudo, partners[view])
            losses.append(self.loss_pseudo(self.student(mixed.images, mode='tensor'),
                                           mixed.labels, mixed.weights))
        return dict(loss_unsup=self.semi_cfg['unsup_weight'] * sum(losses) / len(losses))

    def loss_pseudo(self, logits: torch.Tensor, labels: torch.Tensor,
                    weights: torch.Tensor) -> torch.Tensor:
        """The loss of the student's ``logits`` on pseudo-labels: each pixel's cross-entropy
        times its weight, over the labelled pixels (UniMatch's and DACS' normalisation); with
        ``pseudo_class_weight`` also times its class's weight in the student's loss
        (:meth:`pseudo_class_weight`)."""
        return weighted_cross_entropy(logits, labels, weights, self.student.ignore_index,
                                      self.pseudo_class_weight())

    def pseudo_class_weight(self) -> torch.Tensor | None:
        """The class weights of the pseudo-label loss: with ``semi_cfg.pseudo_class_weight``,
        those of the student's loss (``ClassWeightHook`` or its ``FocalLoss`` config sets
        them), else None.

        Why: the supervised focal loss weighs the rare classes up; a pseudo-label loss
        without the same weights, often as large as it, trains the frequent classes back up
        (on CamVid, building over tree and fence). A ValueError if the student's loss has none.
        """
        if not self.semi_cfg['pseudo_class_weight']:
            return None
        weight = getattr(self.loss_module, 'class_weight', None)
        if weight is None:
            raise ValueError(
                f'model.semi_cfg.pseudo_class_weight=True takes the class weights of the '
                f"student's loss ({type(self.loss_module).__name__}), which has none: add "
                "ClassWeightHook to custom_hooks or set class_weight in its FocalLoss")
        return weight

    def _teacher_probs(self, images: torch.Tensor) -> torch.Tensor:
        norm = (batch_statistics(self.teacher) if self.semi_cfg['teacher_norm'] == 'batch'
                else nullcontext())
        with norm:
            logits = self.teacher(images, mode='tensor')
        if logits.shape[-2:] != images.shape[-2:]:
            logits = F.interpolate(logits, size=images.shape[-2:], mode='bilinear',
                                   align_corners=False)
        return logits.float().softmax(1)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict,
                              strict: bool, missing_keys: list, unexpected_keys: list,
                              error_msgs: list) -> None:
        """A plain segmentor's weights (no ``student.`` / ``teacher.`` key: ``load_from`` a
        supervised ``SMPSegmentor`` checkpoint) go into the student and the teacher alike,
        as mmdetection's ``SemiBaseDetector`` does: otherwise they would match no key and
        training would silently start from scratch."""
        own = [k for k in state_dict if k.startswith(prefix)]
        if own and not any(k.startswith((f'{prefix}student.', f'{prefix}teacher.'))
                           for k in own):
            for key in own:
                value = state_dict.pop(key)
                for net in ('student', 'teacher'):
                    state_dict[f'{prefix}{net}.{key[len(prefix):]}'] = value
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict,
                                      missing_keys, unexpected_keys, error_msgs)


def _with_test_settings(student: Mapping, test_cfg: dict | None,
                        temperature: float | None) -> dict:
    """The student's config with the segmentor-level ``test_cfg`` merged into its own and
    ``temperature`` set, so that ``model.test_cfg`` / ``model.temperature`` mean the same for a
    SemiSegmentor as for the SMPSegmentor it holds (the teacher is the student's copy)."""
    if not isinstance(student, Mapping):
        raise CitysegTypeError(
            f'SemiSegmentor student must be a config dict (type=SMPSegmentor, ...), '
            f'got {type(student).__name__}')
    student = dict(student)
    if test_cfg:
        student['test_cfg'] = {**(student.get('test_cfg') or {}), **test_cfg}
    if temperature is not None:
        student['temperature'] = temperature
    return student


def _valid_pixels(samples: Sequence[SegDataSample], images: torch.Tensor) -> torch.Tensor:
    """True on each image's own pixels, False on the batch padding and on the padding of its
    crop (``ignore_mask``, which the pipeline's ``Albu`` keeps for unlabelled images) (N x H x
    W)."""
    n, _, h, w = images.shape
    valid = torch.zeros((n, h, w), dtype=torch.bool, device=images.device)
    for i, sample in enumerate(samples):
        ih, iw = sample.metainfo.get('img_shape', (h, w))
        if 'ignore_mask' in sample:
            valid[i, :ih, :iw] = sample.ignore_mask.data[0].to(images.device) == 0
        else:
            valid[i, :ih, :iw] = True
    return valid
