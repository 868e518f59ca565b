"""Mixed precision that also works on CPU.

mmengine's ``AmpOptimWrapper`` asserts a CUDA/NPU/MLU device. This wrapper, registered under
the same name in cityseg's scope (so ``--amp`` and ``type='AmpOptimWrapper'`` pick it), runs
float16 with a dynamic loss scaler or bfloat16 on CUDA, and bfloat16 autocast with no scaler on
CPU (bfloat16 has float32's exponent range, so its gradients do not underflow).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper
from torch import nn

from cityseg.registry import OPTIM_WRAPPERS

_DTYPES = {'float16': torch.float16, 'bfloat16': torch.bfloat16}


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(OptimWrapper):
    """Autocast forward passes and, for float16, scale the loss.

    Args:
        dtype: ``'float16'`` or ``'bfloat16'``; default float16 on CUDA, bfloat16 on CPU.
        loss_scale: ``'dynamic'``, an initial scale (float) or ``GradScaler`` kwargs (dict);
            used only with float16.
        device_type: ``'cuda'`` or ``'cpu'``; default CUDA when available.
        **kwargs: passed to :class:`mmengine.optim.OptimWrapper` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).
    """

    def __init__(self, dtype: str | None = None, loss_scale: str | float | dict = 'dynamic',
                 device_type: str | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.device_type = device_type or ('cuda' if torch.cuda.is_available() else 'cpu')
        if dtype is None:
            dtype = 'float16' if self.device_type == 'cuda' else 'bfloat16'
        if dtype not in _DTYPES:
            raise ValueError(f"AmpOptimWrapper dtype must be one of {list(_DTYPES)}, got {dtype!r}")
        if self.device_type == 'cpu' and dtype == 'float16':
            raise ValueError("float16 autocast on CPU is slow and needs loss scaling; "
                             "use dtype='bfloat16' on CPU")
        self.cast_dtype = _DTYPES[dtype]
        self.loss_scaler = None
        self._scale_update_param = None
        if self.cast_dtype == torch.float16:
            if isinstance(loss_scale, dict):
                self.loss_scaler = torch.amp.GradScaler(self.device_type, **loss_scale)
            elif isinstance(loss_scale, float):
                self._scale_update_param = loss_scale
                self.loss_scaler = torch.amp.GradScaler(self.device_type, init_scale=loss_scale)
            elif loss_scale == 'dynamic':
                self.loss_scaler = torch.amp.GradScaler(self.device_type)
            else:
                raise ValueError(f"loss_scale must be 'dynamic', a float or a dict, "
                                 f'got {loss_scale!r}')

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        if self.loss_scaler is not None:
            loss = self.loss_scaler.scale(loss)
        loss.backward(**kwargs)
        self._inner_count += 1

    def step(self, **kwargs) -> None:
        if self.loss_scaler is None:
            super().step(**kwargs)
            return
        if self.clip_grad_kwargs:
            self.loss_scaler.unscale_(self.optimizer)
            self._clip_grad()
        self.loss_scaler.step(self.optimizer, **kwargs)
        self.loss_scaler.update(self._scale_update_param)

    def state_dict(self) -> dict:
        state = super().state_dict()
        if self.loss_scaler is not None:
            state['loss_scaler'] = self.loss_scaler.state_dict()
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        scaler_state = state_dict.pop('loss_scaler', None)
        if scaler_state is not None and self.loss_scaler is not None:
            self.loss_scaler.load_state_dict(scaler_state)
        super().load_state_dict(state_dict)

    @contextmanager
    def optim_context(self, model: nn.Module):
        with super().optim_context(model), torch.autocast(self.device_type,
                                                          dtype=self.cast_dtype):
            yield
