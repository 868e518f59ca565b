"""Two parameter groups, decoder and encoder, with the encoder at a fraction of the base lr."""
from __future__ import annotations

from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapper
from torch import nn

from cityseg.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS
from cityseg.utils.errors import CitysegKeyError


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class EncoderDecoderOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """Build the optimizer with a ``'decoder'`` group (every parameter outside
    ``model.encoder``, at the base lr) and an ``'encoder'`` group at ``encoder_lr_mult`` x lr.

    Both groups exist from the first iteration, so parameter schedulers (which scale each
    group's own initial lr) keep the ratio for the whole run, and the encoder's lr takes effect
    whenever :class:`~cityseg.engine.hooks.EncoderUnfreezeHook` lets it train. The decoder group
    comes first, so the ``lr`` that mmengine logs (the first group's) is the base lr; the hook
    logs ``encoder_lr``. mmengine's ``paramwise_cfg=dict(custom_keys={'net.encoder':
    dict(lr_mult=0.1)})`` gives the same rates but one group per parameter, the encoder's first.

    Config::

        optim_wrapper = dict(constructor='EncoderDecoderOptimWrapperConstructor',
                             paramwise_cfg=dict(encoder_lr_mult=0.1), optimizer=...)
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: dict | None = None) -> None:
        paramwise_cfg = dict(paramwise_cfg or {})
        self.encoder_lr_mult = float(paramwise_cfg.pop('encoder_lr_mult', 0.1))
        if paramwise_cfg:
            raise CitysegKeyError(
                f'EncoderDecoderOptimWrapperConstructor takes only encoder_lr_mult '
                f'in paramwise_cfg, got {sorted(paramwise_cfg)}')
        if self.encoder_lr_mult < 0:
            raise ValueError(f'encoder_lr_mult must be >= 0, got {self.encoder_lr_mult}')
        super().__init__(optim_wrapper_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapper:
        model = getattr(model, 'module', model)
        encoder = getattr(model, 'encoder', None)
        if not isinstance(encoder, nn.Module):
            raise AttributeError(f'{type(model).__name__} has no `encoder` module to give its '
                                 f'own learning rate')
        if self.base_lr is None:
            raise CitysegKeyError(
                'optim_wrapper.optimizer needs an explicit lr for encoder_lr_mult')
        encoder_params = list(encoder.parameters())
        encoder_ids = {id(p) for p in encoder_params}
        # a teacher (SemiSegmentor) never trains: its weights follow the student's (EMA)
        teacher = getattr(model, 'teacher', None)
        excluded = encoder_ids | {id(p) for p in (teacher.parameters() if teacher else ())}
        decoder_params = [p for p in model.parameters() if id(p) not in excluded]
        groups = [dict(params=decoder_params, name='decoder'),
                  dict(params=encoder_params, name='encoder',
                       lr=self.base_lr * self.encoder_lr_mult)]
        optimizer = OPTIMIZERS.build({**self.optimizer_cfg, 'params': groups})
        wrapper_cfg = {'type': 'OptimWrapper', **self.optim_wrapper_cfg}
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))
