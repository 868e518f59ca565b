"""Move the teacher towards the student after every training step (mean teacher)."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from cityseg.models.semi.ema import ema_update
from cityseg.registry import HOOKS


@HOOKS.register_module()
class MeanTeacherHook(Hook):
    """``teacher = m * teacher + (1 - m) * student`` after every ``interval`` iterations, as
    mmdetection's hook of the same name (whose ``momentum`` is our ``1 - m``).

    ``momentum`` is the share the teacher keeps (DAFormer / DACS: 0.999; 0 makes the teacher
    the student, UniMatch's setting). With ``warmup`` the share is ``min(1 - 1 / (iter + 1),
    momentum)`` as in DAFormer, so the first update copies the student and the teacher is not
    an average dominated by the random initial weights. The factor depends only on the
    iteration, and the teacher is part of the model's state dict, so ``--resume`` continues
    bit-exactly with nothing of the hook's own to save. Before the first iteration of a fresh
    run the teacher is set to the student, whatever happened to the weights after the model
    was built (``load_from``, weight initialisation).

    Args:
        momentum: the teacher's keep share per update, in [0, 1].
        interval: update every ``interval`` iterations.
        warmup: DAFormer's ramp of the share over the first iterations.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW): checkpoints hold the updated teacher

    def __init__(self, momentum: float = 0.999, interval: int = 1, warmup: bool = True) -> None:
        if not 0 <= momentum <= 1:
            raise ValueError(f'MeanTeacherHook momentum must be in [0, 1], got {momentum}')
        if interval < 1:
            raise ValueError(f'MeanTeacherHook interval must be >= 1, got {interval}')
        self.momentum, self.interval, self.warmup = momentum, interval, warmup

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not all(hasattr(model, name) for name in ('teacher', 'student')):
            raise TypeError(f'MeanTeacherHook needs a model with `teacher` and `student` '
                            f'(SemiSegmentor), got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if runner.iter == 0:
            ema_update(model.teacher, model.student, 0.0)

    def momentum_at(self, iteration: int) -> float:
        """The keep share after 0-based ``iteration``."""
        if self.warmup:
            return min(1 - 1 / (iteration + 1), self.momentum)
        return self.momentum

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if (runner.iter + 1) % self.interval:
            return
        model = self._model(runner)
        ema_update(model.teacher, model.student, self.momentum_at(runner.iter))
