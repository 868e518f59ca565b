"""Save the random generators' states in checkpoints and restore them on resume."""
from __future__ import annotations

from collections.abc import Iterator

from mmengine.hooks import Hook
from mmengine.runner import IterBasedTrainLoop

from cityseg.registry import HOOKS
from cityseg.utils.errors import CitysegRuntimeError
from cityseg.utils.mmengine_compat import set_train_loop_iterator, train_loop_iterator

from ..rng_state import capture_rng_state, restore_rng_state


class _ReplayWithoutRNG:
    """Wraps a train loop's ``dataloader_iterator``: its first ``count`` batches are drawn
    without changing the global random streams (they are restored after the last of them).

    mmengine's ``IterBasedTrainLoop`` resumes the data order by drawing, and discarding, the
    ``runner.iter`` batches already trained on, right before it draws the first new one; no hook
    runs in between. With ``num_workers=0`` those draws run the pipeline in the main process,
    and every dataloader restart draws a seed from torch's generator, so the streams restored
    from the checkpoint would otherwise be ``runner.iter`` batches off.
    """

    def __init__(self, iterator: Iterator, count: int) -> None:
        self.iterator, self.remaining = iterator, count
        self._state: dict | None = None

    def __iter__(self) -> _ReplayWithoutRNG:
        return self

    def __next__(self):
        if self.remaining == 0:
            return next(self.iterator)
        if self._state is None:
            self._state = capture_rng_state()
        batch = next(self.iterator)
        self.remaining -= 1
        if self.remaining == 0:
            restore_rng_state(self._state)
        return batch


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make ``--resume`` draw the same random numbers an uninterrupted run would have drawn.

    - Each checkpoint stores ``checkpoint['rng_state']`` (python, numpy, torch, CUDA).
    - On resume (a checkpoint loaded with ``runner.iter > 0``), the state is restored just
      before training continues. A checkpoint loaded with ``load_from`` for fine-tuning
      (iteration 0) keeps the fresh seed.
    - mmengine's ``IterBasedTrainLoop`` replays the data order on resume by drawing the batches
      already trained on (:mod:`cityseg.utils.mmengine_compat`, assumption 2). ``before_train``
      wraps its batch iterator so that this replay
      leaves the restored streams as they were (see :class:`_ReplayWithoutRNG`); the first
      ``before_train_iter`` puts the loop's own iterator back and checks that exactly the
      ``runner.iter`` replayed batches went through the wrapper, so a change in how mmengine
      replays is an error, not a silently different run.
    - Validation runs on a copy of the streams: it draws from them (the dataloader's base seed)
      but leaves them as they were, so the checkpoint saved before a validation holds the state
      the next training iteration starts from, and changing ``val_interval`` does not change
      the training trajectory.

    Resumed training thus matches straight training exactly with ``num_workers=0`` and in data
    order with workers (each worker replays its own stream as it did the first time).
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._loaded: dict | None = None
        self._before_val: dict | None = None
        self._replay: _ReplayWithoutRNG | None = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # The best checkpoint is saved during validation: store the pre-validation state.
        checkpoint['rng_state'] = self._before_val or capture_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get('rng_state', {})  # {}: a checkpoint without one

    def before_train(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is None or runner.iter == 0:
            return
        loop = runner.train_loop
        if isinstance(loop, IterBasedTrainLoop):
            self._replay = _ReplayWithoutRNG(train_loop_iterator(loop), runner.iter)
            set_train_loop_iterator(loop, self._replay)
        if not loaded:
            runner.logger.warning('The resumed checkpoint holds no rng_state: random draws '
                                  'will differ from an uninterrupted run')
            return
        restore_rng_state(loaded)
        runner.logger.info(f'Restored the random generators saved at iteration {runner.iter}')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        replay, self._replay = self._replay, None
        if replay is None:
            return
        set_train_loop_iterator(runner.train_loop, replay.iterator)
        if replay.remaining:
            raise CitysegRuntimeError(
                f'RNGStateHook: resuming at iteration {runner.iter}, mmengine\'s '
                f'{type(runner.train_loop).__name__} drew {runner.iter - replay.remaining} '
                f'batches, not {runner.iter}, to replay the data order before training; this '
                'mmengine version replays differently and the resumed run would not match an '
                'uninterrupted one')

    def before_val(self, runner) -> None:
        self._before_val = capture_rng_state()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            restore_rng_state(self._before_val)
            self._before_val = None
