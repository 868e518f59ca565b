"""Save the random generators' states in checkpoints and restore them on resume."""
from __future__ import annotations

from mmengine.hooks import Hook

from cityseg.registry import HOOKS

from ..rng_state import capture_rng_state, restore_rng_state


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Make ``--resume`` draw the same random numbers an uninterrupted run would have drawn.

    - Each checkpoint stores ``checkpoint['rng_state']`` (python, numpy, torch, CUDA).
    - On resume (a checkpoint loaded with ``runner.iter > 0``), the state is restored just
      before training continues. A checkpoint loaded with ``load_from`` for fine-tuning
      (iteration 0) keeps the fresh seed.
    - Validation runs on a copy of the streams: it draws from them (the dataloader's base seed)
      but leaves them as they were, so the checkpoint saved before a validation holds the state
      the next training iteration starts from, and changing ``val_interval`` does not change
      the training trajectory.

    Together with cityseg's :class:`~cityseg.engine.loops.IterBasedTrainLoop`, which replays the
    data order without touching the streams, resumed training matches straight training
    exactly with ``num_workers=0`` and in data order with workers.
    """

    priority = 'VERY_HIGH'

    def __init__(self) -> None:
        self._loaded: dict | None = None
        self._before_val: dict | None = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # The best checkpoint is saved during validation: store the pre-validation state.
        checkpoint['rng_state'] = self._before_val or capture_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        self._loaded = checkpoint.get('rng_state', {})  # {}: a checkpoint without one

    def before_train(self, runner) -> None:
        loaded, self._loaded = self._loaded, None
        if loaded is None or runner.iter == 0:
            return
        if not loaded:
            runner.logger.warning('The resumed checkpoint holds no rng_state: random draws '
                                  'will differ from an uninterrupted run')
            return
        restore_rng_state(loaded)
        runner.logger.info(f'Restored the random generators saved at iteration {runner.iter}')

    def before_val(self, runner) -> None:
        self._before_val = capture_rng_state()

    def after_val(self, runner) -> None:
        if self._before_val is not None:
            restore_rng_state(self._before_val)
            self._before_val = None
