"""An iteration-based training loop whose resume does not perturb the random streams."""
from __future__ import annotations

import logging

from mmengine.logging import print_log
from mmengine.runner import IterBasedTrainLoop as MMEngineIterBasedTrainLoop

from cityseg.registry import LOOPS

from .rng_state import preserved_rng_state


@LOOPS.register_module()
class IterBasedTrainLoop(MMEngineIterBasedTrainLoop):
    """mmengine's ``IterBasedTrainLoop``, registered under the same name in cityseg's scope.

    On resume mmengine restores the data order by drawing (and discarding) the batches already
    trained on. With ``num_workers=0`` those draws run the augmentations in the main process and
    so advance numpy's and torch's global generators; the random state restored from the
    checkpoint by :class:`~cityseg.engine.hooks.RNGStateHook` would then be off by ``k``
    batches of augmentation. Here the replay runs inside :func:`preserved_rng_state`. Dataloader
    workers replay their own streams as they did the first time, so the data seen after resume
    is the data an uninterrupted run would have seen, with or without workers.
    """

    def run(self):
        self.runner.call_hook('before_train')
        self.runner.call_hook('before_train_epoch')
        if self._iter > 0:
            print_log(f'Advance dataloader {self._iter} steps to skip data that has already '
                      'been trained', logger='current', level=logging.WARNING)
            with preserved_rng_state():
                for _ in range(self._iter):
                    next(self.dataloader_iterator)
        while self._iter < self._max_iters and not self.stop_training:
            self.runner.model.train()
            data_batch = next(self.dataloader_iterator)
            self.run_iter(data_batch)
            self._decide_current_val_interval()
            if (self.runner.val_loop is not None and self._iter >= self.val_begin
                    and (self._iter % self.val_interval == 0 or self._iter == self._max_iters)):
                self.runner.val_loop.run()
        self.runner.call_hook('after_train_epoch')
        self.runner.call_hook('after_train')
        return self.runner.model
