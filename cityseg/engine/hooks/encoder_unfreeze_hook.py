"""Keep the encoder frozen for the first part of training, then let it learn."""
from __future__ import annotations

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from cityseg.registry import HOOKS
from cityseg.utils.errors import CitysegKeyError


def set_encoder_frozen(encoder: nn.Module, frozen: bool, training: bool = True) -> None:
    """Freeze (no gradients, BatchNorm statistics fixed) or release the encoder.

    Frozen BatchNorm layers are put in eval mode, so they normalise with, and no longer update,
    their running statistics; released, they follow ``training``.
    """
    encoder.requires_grad_(not frozen)
    for module in encoder.modules():
        if isinstance(module, _BatchNorm):
            module.train(training and not frozen)


@HOOKS.register_module()
class EncoderUnfreezeHook(Hook):
    """Train only the decoder and head for the first ``unfreeze_at`` fraction of training.

    A pretrained encoder is frozen while the randomly initialised decoder settles, so that the
    decoder's large early gradients do not wreck its features; afterwards it trains at its own
    lr, ``encoder_lr_mult`` x the base lr, from the ``'encoder'`` parameter group that
    :class:`~cityseg.engine.optimizers.EncoderDecoderOptimWrapperConstructor` builds (required:
    without it the encoder would silently train at the base lr). The schedulers scale that
    group like every other, and ``encoder_lr`` is logged every iteration.

    Whether the encoder is frozen is decided from ``runner.iter`` / ``runner.epoch`` before
    every iteration, so the state survives ``--resume`` with nothing to save, and BatchNorm
    stays frozen although the loops call ``model.train()`` after each validation.

    Args:
        unfreeze_at: fraction of training (``0 <= unfreeze_at < 1``) during which the encoder
            is frozen; 0 never freezes it.
        by_epoch: count the fraction in epochs (unfreeze at an epoch boundary) or iterations;
            default: epochs for an ``EpochBasedTrainLoop``.
    """

    priority = 'NORMAL'

    def __init__(self, unfreeze_at: float = 0.05, by_epoch: bool | None = None) -> None:
        if not 0 <= unfreeze_at < 1:
            raise ValueError(f'unfreeze_at must be a fraction in [0, 1), got {unfreeze_at}')
        self.unfreeze_at = unfreeze_at
        self.by_epoch = by_epoch
        self._frozen: bool | None = None

    def before_train(self, runner) -> None:
        if self.by_epoch is None:
            self.by_epoch = isinstance(runner.train_loop, EpochBasedTrainLoop)
        total = runner.max_epochs if self.by_epoch else runner.max_iters
        self.unfreeze_step = round(self.unfreeze_at * total)
        names = [g.get('name') for g in runner.optim_wrapper.param_groups]
        if 'encoder' not in names:
            raise CitysegKeyError(
                "EncoderUnfreezeHook needs an 'encoder' parameter group: set "
                "optim_wrapper.constructor='EncoderDecoderOptimWrapperConstructor' "
                "(paramwise_cfg=dict(encoder_lr_mult=...))")
        self._encoder_group = runner.optim_wrapper.param_groups[names.index('encoder')]
        unit = 'epoch' if self.by_epoch else 'iteration'
        runner.logger.info(f'Encoder frozen until {unit} {self.unfreeze_step}')

    def before_train_iter(self, runner, batch_idx: int, data_batch=None) -> None:
        step = runner.epoch if self.by_epoch else runner.iter
        frozen = step < self.unfreeze_step
        if frozen or self._frozen is not False:  # re-freeze every iteration, release once
            model = runner.model.module if is_model_wrapper(runner.model) else runner.model
            set_encoder_frozen(model.encoder, frozen, model.training)
        if self._frozen and not frozen:
            runner.logger.info(f'Encoder unfrozen at iteration {runner.iter + 1}, '
                               f'lr {self._encoder_group["lr"]:.3g}')
        self._frozen = frozen

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        runner.message_hub.update_scalar('train/encoder_lr', self._encoder_group['lr'])
