"""Per-class confidence thresholds of the pseudo-labels, instead of one number tuned for one
training loss: FreeMatch's self-adaptive ones (they follow the teacher's confidence) and CBST's
class-balanced ones (each class keeps the same portion of its pixels)."""
from __future__ import annotations

import math

import torch
from mmengine.dist import all_reduce
from torch import nn


class SelfAdaptiveThreshold(nn.Module):
    """Per-class confidence thresholds that follow the teacher (FreeMatch's self-adaptive
    thresholding; Wang et al., "FreeMatch: Self-adaptive Thresholding for Semi-supervised
    Learning", ICLR 2023; microsoft/Semi-supervised-learning ``freematch.py``).

    Over the valid pixels of every unlabelled batch the teacher labels, two exponential moving
    averages with ``momentum`` m:

    - the global confidence ``tau <- m tau + (1 - m) mean(max_c p_c)``;
    - each class's mean probability ``q(c) <- m q(c) + (1 - m) mean(p_c)``.

    A pixel labelled ``c`` is confident when its top probability reaches
    ``tau * q(c) / max(q)``. Both averages start at ``1 / C`` (few pixels refused while the
    teacher is unsure), and a class the teacher rarely predicts gets a lower bar, so it keeps
    pseudo-labels instead of being drowned by the frequent ones.

    Why: a fixed threshold (FixMatch's 0.95, DACS' 0.968) is tuned for a teacher trained with
    cross-entropy. One trained with focal loss is far less confident: on CamVid 3-8 % of its
    pixels reach 0.95, and the pseudo-label loss all but vanishes.

    The averages are buffers, so checkpoints carry them and ``--resume`` continues exactly;
    each batch's statistics are averaged over the distributed ranks (``mmengine.dist``, a
    no-op on one process) so that every rank applies the same thresholds.
    """

    global_confidence: torch.Tensor
    class_confidence: torch.Tensor

    def __init__(self, num_classes: int, momentum: float = 0.999) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer('global_confidence', torch.tensor(1.0 / num_classes))
        self.register_buffer('class_confidence', torch.full((num_classes,), 1.0 / num_classes))

    @torch.no_grad()
    def update(self, probs: torch.Tensor, valid: torch.Tensor) -> None:
        """Move both averages towards the statistics of ``probs`` (N x C x H x W) over the
        ``valid`` pixels (N x H x W); a batch with no valid pixel leaves them."""
        pixels = probs.transpose(0, 1)[:, valid].float()  # C x P
        if pixels.shape[1] == 0:
            return
        stats = torch.cat([pixels.max(0).values.mean()[None], pixels.mean(1)])
        all_reduce(stats, op='mean')
        m = self.momentum
        self.global_confidence.mul_(m).add_((1 - m) * stats[0])
        self.class_confidence.mul_(m).add_((1 - m) * stats[1:])

    def class_thresholds(self) -> torch.Tensor:
        """The threshold of each class (C): ``tau * q(c) / max(q)``."""
        return self.global_confidence * self.class_confidence / self.class_confidence.max()

    def forward(self, labels: torch.Tensor) -> torch.Tensor:
        """The threshold of each pixel's pseudo-label (``labels``: N x H x W class indices)."""
        return self.class_thresholds()[labels]


def class_balanced_thresholds(confidence: torch.Tensor, labels: torch.Tensor,
                              valid: torch.Tensor, num_classes: int,
                              portion: float) -> torch.Tensor:
    """The threshold of each class (C) that keeps the most confident ``portion`` of the valid
    pixels (``valid``, N x H x W) the teacher labels with it (``labels``, ``confidence``:
    N x H x W): the confidence of its ``ceil(portion * n_c)``-th most confident pixel.
    A class no valid pixel is labelled with gets ``inf``.

    Class-balanced self-training (CBST: Zou et al., "Unsupervised Domain Adaptation for
    Semantic Segmentation via Class-Balanced Self-Training", ECCV 2018) ranks each class's
    pixels on its own, so every class keeps the same share of its pseudo-labels. Why: one
    threshold for all keeps the classes a teacher is surest of and drops the rest; a teacher
    trained with focal loss on CamVid reaches 0.95 on sky and road pixels alone, and the
    pseudo-label loss then teaches sky into building and tree (docs/camvid.md). CBST ranks a
    whole round of target images; here each batch is ranked as it is labelled (no state to
    checkpoint; in distributed training each rank ranks its own batch).
    """
    thresholds = confidence.new_full((num_classes,), math.inf)
    confidence, labels = confidence[valid], labels[valid]
    for cls in labels.unique().tolist():
        of_class = confidence[labels == cls]
        kept = math.ceil(portion * of_class.numel())
        thresholds[cls] = of_class.topk(kept, sorted=False).values.min()
    return thresholds
