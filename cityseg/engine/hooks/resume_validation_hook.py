"""Re-run on ``--resume`` a validation that an interruption cut short."""
from __future__ import annotations

from mmengine.hooks import Hook

from cityseg.registry import HOOKS
from cityseg.utils.mmengine_compat import validates_after


@HOOKS.register_module()
class ResumeValidationHook(Hook):
    """Run the validation of the resumed iteration first when the run stopped before it ended.

    mmengine's ``CheckpointHook`` saves ``iter_N.pth`` in ``after_train_iter``, before the
    validation of iteration N. Ctrl-C or a kill during that validation loses it: ``--resume``
    continues from ``iter_N.pth`` with iteration N+1, so the best-checkpoint choice never sees
    iteration N. This hook marks a checkpoint saved in that window with
    ``meta['validation_pending'] = N`` (the re-save after a finished validation, which records
    the best checkpoint, carries no mark), and when a run resumes from a marked checkpoint at
    iteration N it runs ``runner.val_loop.run()`` before training continues.

    Priority ``LOWEST``: its ``after_train_iter`` ends the checkpoint window after
    ``CheckpointHook`` (``VERY_LOW``) saved, and its ``before_train`` validates once
    ``CheckpointHook`` and ``RNGStateHook`` have prepared the resumed run. Iteration-based
    training only (``IterBasedTrainLoop``); with other loops it does nothing.
    """

    priority = 'LOWEST'

    def __init__(self) -> None:
        self._in_train_iter = False
        self._pending: int | None = None

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        self._in_train_iter = True

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs=None) -> None:
        self._in_train_iter = False

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        if (self._in_train_iter and runner.val_loop is not None
                and validates_after(runner.train_loop, runner.iter + 1)):
            checkpoint.setdefault('meta', {})['validation_pending'] = runner.iter + 1

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._pending = (checkpoint.get('meta') or {}).get('validation_pending')

    def before_train(self, runner) -> None:
        pending, self._pending = self._pending, None
        if pending is None or pending != runner.iter or runner.val_loop is None:
            return
        runner.logger.info(f'The validation of iteration {pending} did not finish before the '
                           'run stopped: running it before training continues')
        runner.val_loop.run()

