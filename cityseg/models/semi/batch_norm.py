"""BatchNorm that normalises a batch by its own statistics and leaves the running ones: for the
teacher's pseudo-labels and the student's unlabelled passes."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm


@contextmanager
def batch_statistics(module: nn.Module) -> Iterator[nn.Module]:
    """Within the block, every BatchNorm layer of ``module`` normalises with the statistics of
    the batch it is given and leaves its running statistics (and ``num_batches_tracked``) as
    they are; the rest of ``module`` keeps its mode (a teacher in eval mode: no dropout).

    Why: a network trained from scratch changes faster than its running statistics follow,
    and a student's running statistics also average its strong and mixed views; UniMatch's
    pseudo-labels (its student in train mode) and DAFormer's EMA teacher (kept in train mode)
    both normalise the unlabelled batch by its own statistics. PyTorch's BatchNorm in training
    mode with ``track_running_stats=False`` does exactly that and updates nothing.
    """
    norms = [m for m in module.modules() if isinstance(m, _BatchNorm)]
    saved = [(m.training, m.track_running_stats) for m in norms]
    for norm in norms:
        norm.training, norm.track_running_stats = True, False
    try:
        yield module
    finally:
        for norm, (training, track) in zip(norms, saved):
            norm.training, norm.track_running_stats = training, track
