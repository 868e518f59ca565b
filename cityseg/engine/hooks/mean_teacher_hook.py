"""Move the teacher towards the student after every training step (mean teacher)."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cityseg.models.semi.ema import ema_update
from cityseg.registry import HOOKS
from cityseg.utils.errors import CitysegTypeError


@HOOKS.register_module()
class MeanTeacherHook(Hook):
    """``teacher = decay * teacher + (1 - decay) * student`` after every ``interval``
    iterations.

    ``decay`` is the share of its weights the teacher keeps at each update: DAFormer's and
    MIC's ``alpha`` (0.999), the ``decay`` of timm's and TensorFlow's EMAs; 0 makes the
    teacher the student itself (UniMatch, which has no separate teacher). mmdetection's hook
    of the same name takes ``momentum``, the *student's* share (``1 - decay``: its default
    0.001 is ``decay=0.999``), while this hook called the teacher's share ``momentum`` until
    it was renamed: a ``momentum`` argument could mean either, so it is refused, naming both
    conversions.

    With ``warmup`` the share is ``min(1 - 1 / (iter + 1), decay)`` as in DAFormer, so the
    first update copies the student and the teacher is not an average dominated by the random
    initial weights. The factor depends only on the iteration, and the teacher is part of the
    model's state dict, so ``--resume`` continues bit-exactly with nothing of the hook's own to
    save. Before the first iteration of a fresh run the teacher is set to the student,
    whatever happened to the weights after the model was built (``load_from``, weight
    initialisation).

    Args:
        decay: the teacher's keep share per update, in [0, 1].
        interval: update every ``interval`` iterations.
        warmup: DAFormer's ramp of the share over the first iterations.
        momentum: refused (see above); say ``decay``.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW): checkpoints hold the updated teacher

    def __init__(self, decay: float = 0.999, interval: int = 1, warmup: bool = True,
                 momentum: float | None = None) -> None:
        if momentum is not None:
            raise ValueError(
                f'MeanTeacherHook takes decay (the share the teacher keeps, e.g. 0.999), not '
                f'momentum={momentum}, which means opposite things: mmdetection\'s momentum is '
                f'the student\'s share (write decay={1 - momentum:g}), cityseg\'s former '
                f'momentum was the teacher\'s (write decay={momentum:g})')
        if not 0 <= decay <= 1:
            raise ValueError(f'MeanTeacherHook decay must be in [0, 1], got {decay}')
        if interval < 1:
            raise ValueError(f'MeanTeacherHook interval must be >= 1, got {interval}')
        self.decay, self.interval, self.warmup = decay, interval, warmup

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not all(hasattr(model, name) for name in ('teacher', 'student')):
            raise CitysegTypeError(
                f'MeanTeacherHook needs a model with `teacher` and `student` '
                f'(SemiSegmentor), got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if runner.iter == 0:
            ema_update(model.teacher, model.student, 0.0)

    def decay_at(self, iteration: int) -> float:
        """The keep share after 0-based ``iteration``."""
        if self.warmup:
            return min(1 - 1 / (iteration + 1), self.decay)
        return self.decay

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if (runner.iter + 1) % self.interval:
            return
        model = self._model(runner)
        ema_update(model.teacher, model.student, self.decay_at(runner.iter))
