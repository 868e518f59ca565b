"""FixMatch, UniMatch, DACS and MIC: each a :class:`SemiSegmentor` with its published
defaults and its own steps.

A new method is a subclass too: its ``SEMI_CFG`` (the base's plus its own keys, with its
defaults) and the steps it changes (:meth:`~SemiSegmentor.strong_views`,
:meth:`~SemiSegmentor.pseudo_label`, :meth:`~SemiSegmentor.mix_partners`,
:meth:`~SemiSegmentor.mix`, :meth:`~SemiSegmentor.loss_unsupervised`,
:meth:`~SemiSegmentor.loss_pseudo`), registered in ``MODELS``.
"""
from __future__ import annotations

import torch

from cityseg.registry import MODELS

from .perturbations import block_keep_masks, feature_perturbed_logits
from .segmentor import MixSource, PseudoLabels, SemiSegmentor

# UniMatch's CutMix box (its obtain_cutmix_box): p 0.5, 2-40 % of the image, aspect 0.3-1/0.3
_UNIMATCH_CUTMIX = dict(type='CutMix', prob=0.5, area=(0.02, 0.4), aspect=(0.3, 1 / 0.3))


@MODELS.register_module()
class FixMatch(SemiSegmentor):
    """FixMatch for segmentation as UniMatch's baseline (LiheYoung/UniMatch ``fixmatch.py``):
    pseudo-labels of the weak view above confidence 0.95 train the student on the strong view,
    CutMixed with another unlabelled image (its mix partner) and that image's pseudo-labels;
    ``loss = (loss_x + loss_u) / 2``: ``sup_weight`` and ``unsup_weight`` 0.5.

    Sohn et al., "FixMatch: Simplifying Semi-Supervised Learning with Consistency and
    Confidence", NeurIPS 2020.
    """

    SEMI_CFG = {**SemiSegmentor.SEMI_CFG, 'threshold': 0.95, 'pixel_weight': 'threshold',
                'sup_weight': 0.5, 'unsup_weight': 0.5, 'mix': _UNIMATCH_CUTMIX,
                'mix_with': 'unlabelled'}


@MODELS.register_module()
class UniMatch(FixMatch):
    """UniMatch (LiheYoung/UniMatch ``unimatch.py``): FixMatch with two strong views, each
    CutMixed with the mix partner's by a box of its own, and a feature perturbation: the weak
    view through the student with ``Dropout2d(p)`` on the encoder features, trained on the
    same pseudo-labels (``loss_fp``). ``loss = (loss_x + 0.25 loss_s1 + 0.25 loss_s2 +
    0.5 loss_fp) / 2``: ``sup_weight`` 0.5, ``unsup_weight`` 0.25 on the mean of the two
    views, ``feature_perturbation.weight`` 0.25.

    Yang et al., "Revisiting Weak-to-Strong Consistency in Semi-Supervised Semantic
    Segmentation", CVPR 2023.
    """

    SEMI_CFG = {**FixMatch.SEMI_CFG, 'unsup_weight': 0.25,
                'second_strong_branch': 'unsup_strong2',
                'feature_perturbation': dict(p=0.5, weight=0.25)}

    def strong_views(self) -> list[str]:
        return [self.semi_cfg['strong_branch'], self.semi_cfg['second_strong_branch']]

    def loss_unsupervised(self, inputs: dict[str, torch.Tensor], pseudo: PseudoLabels,
                          partners: dict[str, MixSource] | None) -> dict:
        losses = super().loss_unsupervised(inputs, pseudo, partners)
        fp = self.semi_cfg['feature_perturbation']
        logits = feature_perturbed_logits(self.student.net, inputs[self.semi_cfg['weak_branch']],
                                          fp['p'])
        losses['loss_fp'] = fp['weight'] * self.loss_pseudo(logits, pseudo.labels,
                                                            pseudo.weights)
        return losses


@MODELS.register_module()
class DACS(SemiSegmentor):
    """DACS self-training as DAFormer runs it (lhoyer/DAFormer ``mmseg/models/uda/dacs.py``):
    the EMA teacher's pseudo-labels of the target image, ClassMix of half the classes of a
    source (labelled) image, with their labels, into it; every target pixel weighs the share
    of the image's pixels with confidence >= 0.968, source pixels weigh 1; ``loss =
    loss_source + loss_mix``.

    Tranheden et al., "DACS: Domain Adaptation via Cross-domain Mixed Sampling", WACV 2021;
    Hoyer et al., "DAFormer", CVPR 2022.
    """

    SEMI_CFG = {**SemiSegmentor.SEMI_CFG, 'threshold': 0.968,
                'pixel_weight': 'confident_share', 'sup_weight': 1.0, 'unsup_weight': 1.0,
                'mix': dict(type='ClassMix'), 'mix_with': 'labelled'}


@MODELS.register_module()
class MIC(DACS):
    """MIC on DACS (lhoyer/MIC ``masking_consistent_module.py``): besides DACS' losses, the
    target's strong view with a random ``ratio`` of its ``block_size`` blocks masked is
    trained on the pseudo-labels of the whole image, with their weights (``loss_masked``,
    ``weight`` 1; MIC's blocks: 64 px of 1024x1024 crops, ratio 0.7).

    Hoyer et al., "MIC: Masked Image Consistency for Context-Enhanced Domain Adaptation",
    CVPR 2023.
    """

    SEMI_CFG = {**DACS.SEMI_CFG,
                'masked_consistency': dict(block_size=64, ratio=0.7, weight=1.0)}

    def loss_unsupervised(self, inputs: dict[str, torch.Tensor], pseudo: PseudoLabels,
                          partners: dict[str, MixSource] | None) -> dict:
        losses = super().loss_unsupervised(inputs, pseudo, partners)
        masked = self.semi_cfg['masked_consistency']
        strong = inputs[self.semi_cfg['strong_branch']]
        keep = block_keep_masks(strong.shape, int(masked['block_size']), masked['ratio'],
                                strong.device)
        logits = self.student(strong * keep, mode='tensor')
        losses['loss_masked'] = masked['weight'] * self.loss_pseudo(logits, pseudo.labels,
                                                                    pseudo.weights)
        return losses
