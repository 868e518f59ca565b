"""The exponential moving average that makes a teacher out of a student's past weights."""
from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def ema_update(teacher: nn.Module, student: nn.Module, decay: float) -> None:
    """``teacher = decay * teacher + (1 - decay) * student``, parameter by parameter and for
    floating buffers (BatchNorm statistics); integer buffers (``num_batches_tracked``) are
    copied. ``decay=0`` copies the student.

    Raises:
        ValueError: ``decay`` outside [0, 1], or the two modules' parameters differ in number
            or shape (the teacher must be a copy of the student).
    """
    if not 0 <= decay <= 1:
        raise ValueError(f'EMA decay must be in [0, 1], got {decay}')
    pairs = [*zip(teacher.parameters(), student.parameters()),
             *zip(teacher.buffers(), student.buffers())]
    if (len(list(teacher.parameters())) != len(list(student.parameters()))
            or any(t.shape != s.shape for t, s in pairs)):
        raise ValueError('the teacher is not a copy of the student: their parameters differ')
    for t, s in pairs:
        if t.dtype.is_floating_point:
            t.mul_(decay).add_(s.detach(), alpha=1 - decay)
        else:
            t.copy_(s)
