"""Stop training at the first NaN or infinite loss, naming a checkpoint that is safe to resume."""
from __future__ import annotations

import math
import os
import os.path as osp
import shutil
import statistics
from collections import deque

import torch
from mmengine.hooks import Hook

from cityseg.registry import HOOKS
from cityseg.utils.fileio import atomic_output


@HOOKS.register_module()
class NonFiniteLossHook(Hook):
    """Raise ``FloatingPointError`` naming the iteration, the loss terms, the recent loss
    history and the newest checkpoint that is safe to resume from, when a loss is not finite.

    mmengine's ``CheckInvalidLossHook`` checks only every ``interval`` iterations and fails with
    a bare assertion. This hook checks every iteration and runs before ``CheckpointHook``
    (priority ``ABOVE_NORMAL`` against its ``VERY_LOW``), so the weights the bad step produced
    are never saved. A finite loss does not make a checkpoint good, though: a diverging run
    (e.g. a learning rate of 1e10) saves weights of 1e10 one step before its loss turns NaN.
    So a checkpoint counts as safe only if its weights are finite and at most
    ``max_abs_weight`` and the next loss (the first its weights produce) is at most
    ``explode_factor`` times the median of the plausible (not exploding) ones among the
    ``history`` losses before it. A finite loss above that bar for 3 iterations in a row is
    warned about, and so is a run that ends that way.

    Args:
        history: how many recent losses to keep (for the median and the message).
        explode_factor: a loss above this multiple of the earlier median is exploding.
        max_abs_weight: a saved weight above this magnitude marks the checkpoint unsafe.
    """

    priority = 'ABOVE_NORMAL'

    def __init__(self, history: int = 20, explode_factor: float = 10.0,
                 max_abs_weight: float = 1e6) -> None:
        self.losses: deque[tuple[int, float]] = deque(maxlen=history)
        self.explode_factor = explode_factor
        self.max_abs_weight = max_abs_weight
        self._exploding = ''  # why the latest finite loss is suspect, '' when it is not
        self._seen_ckpt: str | None = None
        self._seen_best: set[str] = set()  # best checkpoints already judged
        self.safe_ckpt: str | None = None
        self._pending: str | None = None  # saved, finite weights, awaiting its weights' loss
        self._kept_ckpt: str | None = None  # the safe checkpoint last_good.pth holds
        self.unsafe_ckpts: list[str] = []
        self._diverging = 0  # consecutive exploding losses, to warn while still finite
        # The median's losses: the plausible ones only. With every loss in it, lr=1e3's first
        # jump (4 -> 3e7) became the median at once and no later loss counted as exploding.
        self._plausible: deque[float] = deque(maxlen=history)

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        """File the checkpoint being saved as safe or unsafe.

        CheckpointHook names a periodic save in ``last_ckpt`` and a best one in ``best_ckpt``
        (``best_ckpt_<metric>`` for several) before writing it. Weights that are not finite or
        above ``max_abs_weight`` make either unsafe: the reason goes into the checkpoint's
        ``meta['unsafe_weights']`` and into the stop message, and a best checkpoint is warned
        about, since CheckpointHook keeps it as best by its score alone (a diverged network
        can still score). Finite, bounded periodic ones wait for the next loss.
        """
        hub = runner.message_hub
        path = hub.get_info('last_ckpt')
        best = sorted(v for k, v in hub.runtime_info.items()
                      if k.startswith('best_ckpt') and v and v not in self._seen_best)
        if path and path != self._seen_ckpt:
            self._seen_ckpt = path
        elif best:
            path = best[-1]
            self._seen_best.add(path)
        else:
            return
        largest = max((v.detach().abs().max().item() for v in checkpoint['state_dict'].values()
                       if v.is_floating_point() and v.numel()), default=0.0)
        if not math.isfinite(largest):
            reason = 'non-finite weights'
        elif largest > self.max_abs_weight:
            reason = f'weights up to {largest:.3g} > max_abs_weight={self.max_abs_weight:g}'
        else:
            if path not in self._seen_best:
                self._pending = path  # judged by the next loss, the first its weights give
            return
        checkpoint.setdefault('meta', {})['unsafe_weights'] = reason
        self.unsafe_ckpts.append(f'{path} ({reason})')
        if path in self._seen_best:
            runner.logger.warning(
                f'The best checkpoint {path} has {reason}: CheckpointHook keeps it as best by '
                'its validation score alone, but it is not safe to resume from or publish '
                "(its meta['unsafe_weights'] says so); lower optim_wrapper.optimizer.lr.")

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: dict | None = None) -> None:
        # .item(): the summed loss still requires grad, and float() of it warns.
        losses = {k: torch.as_tensor(v).item() for k, v in (outputs or {}).items() if 'loss' in k}
        total = losses.get('loss', sum(losses.values()))
        iteration = runner.iter + 1
        if all(math.isfinite(v) for v in losses.values()):
            median = statistics.median(self._plausible) if self._plausible else math.inf
            self._exploding = (f'loss {total:.4g} > {self.explode_factor:g} x median {median:.4g}'
                               if total > self.explode_factor * median else '')
            self.losses.append((iteration, total))
            if not self._exploding:  # an exploding loss must not raise the bar for the next
                self._plausible.append(total)
            self._judge_pending()
            self._diverging = self._diverging + 1 if self._exploding else 0
            if self._diverging == 3:
                runner.logger.warning(
                    f'The loss is diverging: {self._exploding} for 3 iterations in a row '
                    f'(iteration {iteration}); lower optim_wrapper.optimizer.lr; '
                    f'{self._safe_message()}.')
            return
        self.losses.append((iteration, total))
        if self._pending:  # finite, bounded weights; a NaN straight after may be the data's
            self.safe_ckpt, self._pending = self._pending, None
            self._keep_last_good()
        terms = ', '.join(f'{k}={v}' for k, v in losses.items())
        history = ', '.join(f'{i}: {loss:.4g}' for i, loss in self.losses)
        raise FloatingPointError(
            f'Non-finite loss at iteration {iteration}: {terms}. Training stopped; '
            f'{self._safe_message()}. Loss history (iteration: loss): {history}.')

    def after_train(self, runner) -> None:
        """A run that ends while its loss is diverging says so last, where it is read."""
        if self._diverging >= 3:
            runner.logger.warning(
                f'Training ended with the loss diverging ({self._exploding}, for the last '
                f'{self._diverging} iterations): the final weights are not to be trusted; '
                f'lower optim_wrapper.optimizer.lr; {self._safe_message()}.')

    def _judge_pending(self) -> None:
        """The loss just computed came from the pending checkpoint's weights: plausible (not
        above ``explode_factor`` x the earlier median) makes it the safe one, kept at once."""
        path, self._pending = self._pending, None
        if not path:
            return
        if self._exploding:
            self.unsafe_ckpts.append(f'{path} (its weights give {self._exploding})')
        else:
            self.safe_ckpt = path
            self._keep_last_good()

    def _keep_last_good(self) -> None:
        """Hard-link (or copy) the newest safe checkpoint, on disk by now, to
        ``last_good.pth`` beside it, so ``max_keep_ckpts`` rotating ``iter_N.pth`` away
        (after unsafe saves) does not lose the one checkpoint worth resuming from."""
        path = self.safe_ckpt
        if not path or path == self._kept_ckpt or not osp.isfile(path):
            return
        with atomic_output(self._last_good_path(path)) as tmp:
            try:
                os.link(path, tmp)
            except OSError:  # a file system without hard links
                shutil.copyfile(path, tmp)
        self._kept_ckpt = path

    @staticmethod
    def _last_good_path(path: str) -> str:
        return osp.join(osp.dirname(path), 'last_good.pth')

    def _safe_message(self) -> str:
        unsafe = f' (not safe: {"; ".join(self.unsafe_ckpts)})' if self.unsafe_ckpts else ''
        if self.safe_ckpt:
            named = self.safe_ckpt
            if not osp.isfile(named) and self._kept_ckpt == named:
                named = (f'{self._last_good_path(named)} (a copy of '
                         f'{osp.basename(named)}, which max_keep_ckpts removed)')
            return ('the last checkpoint saved while the loss was finite and not exploding is '
                    f'{named}{unsafe}')
        return f'no checkpoint of this run is safe to resume from{unsafe}'
