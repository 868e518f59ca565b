"""Keep BatchNorm statistics identical on every rank whenever they can be observed."""
from __future__ import annotations

from mmengine.dist import all_reduce_params, is_distributed
from mmengine.hooks import SyncBuffersHook

from cityseg.registry import HOOKS


@HOOKS.register_module()
class SyncBuffersEveryIterHook(SyncBuffersHook):
    """mmengine's ``SyncBuffersHook``, plus an all-reduce (mean) of the buffers after every
    train iteration (its own name, so that ``SyncBuffersHook`` keeps meaning mmengine's).

    Each rank updates its BatchNorm running statistics from its own batches. mmengine's hook
    averages them at epoch ends and before validation, but an iteration-based loop saves its
    checkpoint *before* validating, so the checkpoint held rank 0's statistics while validation
    used the average: the validated weights were not the saved ones. Averaging after every
    iteration, ahead of ``CheckpointHook`` (priority ``ABOVE_NORMAL``), makes the saved,
    validated and tested models the same. The buffers are a few KB, so the cost is one small
    all-reduce per iteration.
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if is_distributed():
            all_reduce_params(runner.model.buffers(), op='mean')
