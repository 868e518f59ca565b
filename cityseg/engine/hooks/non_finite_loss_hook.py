"""Stop training at the first NaN or infinite loss, before it can reach a checkpoint."""
from __future__ import annotations

import math

import torch
from mmengine.hooks import Hook

from cityseg.registry import HOOKS


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise ``FloatingPointError`` naming the iteration and the loss terms when a loss is not
    finite.

    mmengine's ``CheckInvalidLossHook`` checks only every ``interval`` iterations and fails with
    a bare assertion. This hook checks every iteration and runs before ``CheckpointHook``
    (priority ``ABOVE_NORMAL`` against its ``VERY_LOW``), so the weights the bad step produced
    are never saved: ``last_checkpoint`` keeps pointing at the last good checkpoint, from which
    ``--resume`` can continue (e.g. with a lower learning rate or gradient clipping).
    """

    priority = 'ABOVE_NORMAL'

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: dict | None = None) -> None:
        # .item(): the summed loss still requires grad, and float() of it warns.
        losses = {k: torch.as_tensor(v).item() for k, v in (outputs or {}).items() if 'loss' in k}
        if all(math.isfinite(v) for v in losses.values()):
            return
        terms = ', '.join(f'{k}={v}' for k, v in losses.items())
        last = runner.message_hub.get_info('last_ckpt')
        raise FloatingPointError(
            f'Non-finite loss at iteration {runner.iter + 1}: {terms}. Training stopped; the '
            f'last good checkpoint is {last or "none (no checkpoint saved yet)"}.')
