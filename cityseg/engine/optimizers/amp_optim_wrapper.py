"""Mixed precision on any device: mmengine's ``AmpOptimWrapper``, on the CPU as well.

mmengine's wrapper (autocast forward passes, a loss scaler for float16) refuses a machine
without an accelerator, builds CUDA's ``GradScaler`` and autocasts only bfloat16 on the CPU.
This subclass, registered under the same name in cityseg's scope (so ``--amp`` and
``type='AmpOptimWrapper'`` pick it), changes only that:

- the scaler is ``torch.amp.GradScaler(device_type)``, enabled for float16 only: bfloat16 has
  float32's exponent range, so its gradients do not underflow and need no scaling;
- autocast runs on ``device_type`` in the wrapper's dtype, float16 on the CPU included. That is
  slow (warned), but it lets a GPU recipe's AMP settings (float16, dynamic loss scaling) be
  checked end to end on a machine without a GPU;
- bfloat16 on a CPU where oneDNN has no fast bfloat16 kernels (x86 needs AVX512 or AMX; an
  AVX2-only AMD EPYC measured 4-20x slower than float32) is not autocast: the forward runs in
  float32, with a warning, so a config written on a recent Xeon stays fast elsewhere;
- a step the scaler skips because a gradient overflowed is counted and logged.

Backward, step, gradient clipping and the scaler's state in checkpoints are mmengine's.
"""
from __future__ import annotations

import logging
from contextlib import contextmanager

import torch
from mmengine.logging import print_log
from mmengine.optim import AmpOptimWrapper as MMEngineAmpOptimWrapper
from mmengine.optim import OptimWrapper
from torch import nn

from cityseg.registry import OPTIM_WRAPPERS
from cityseg.utils.mmengine_compat import amp_optim_wrapper_init

DTYPES = ('float16', 'bfloat16')


def cpu_has_native_bfloat16() -> bool:
    """Whether oneDNN (torch's CPU kernels) has fast bfloat16 kernels on this CPU."""
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@OPTIM_WRAPPERS.register_module()
class AmpOptimWrapper(MMEngineAmpOptimWrapper):
    """Autocast forward passes and, for float16, scale the loss, on CUDA or the CPU.

    Args:
        dtype: ``'float16'`` or ``'bfloat16'``; default float16 on CUDA, bfloat16 on CPU.
        loss_scale: ``'dynamic'``, an initial scale (float) or ``GradScaler`` kwargs (dict),
            as for mmengine's wrapper; used only with float16.
        device_type: ``'cuda'`` or ``'cpu'``; default CUDA when available.
        **kwargs: passed to :class:`mmengine.optim.OptimWrapper` (``optimizer``,
            ``accumulative_counts``, ``clip_grad``).

    Attributes:
        skipped_steps: optimizer steps skipped so far because a float16 gradient overflowed.
    """

    def __init__(self, dtype: str | None = None, loss_scale: str | float | dict = 'dynamic',
                 device_type: str | None = None, **kwargs) -> None:
        self.device_type = device_type or ('cuda' if torch.cuda.is_available() else 'cpu')
        if dtype is None:
            dtype = 'float16' if self.device_type == 'cuda' else 'bfloat16'
        if dtype not in DTYPES:
            raise ValueError(f'AmpOptimWrapper dtype must be one of {list(DTYPES)}, got {dtype!r}')
        if self.device_type == 'cpu' and dtype == 'float16':
            print_log('AmpOptimWrapper: float16 autocast on the CPU is several times slower than '
                      "float32; it is meant for checking a GPU recipe's AMP settings. Train on "
                      "the CPU with dtype='bfloat16'", logger='current', level=logging.WARNING)
        with amp_optim_wrapper_init(self.device_type, enabled=dtype == 'float16'):
            super().__init__(loss_scale=loss_scale, dtype=dtype, **kwargs)
        self.autocast_enabled = not (self.device_type == 'cpu' and dtype == 'bfloat16'
                                     and not cpu_has_native_bfloat16())
        if not self.autocast_enabled:
            print_log('AmpOptimWrapper: this CPU has no fast bfloat16 kernels (no AVX512 or AMX), '
                      'so bfloat16 autocast would be several times slower than float32; '
                      'training in float32 instead', logger='current', level=logging.WARNING)
        self.skipped_steps = 0
        self._stepped = False
        self.optimizer.register_step_pre_hook(self._note_step)

    def _note_step(self, optimizer, args, kwargs) -> None:
        self._stepped = True

    def step(self, **kwargs) -> None:
        """mmengine's step; a step the scaler skipped (inf/NaN gradient) is logged."""
        scale = self.loss_scaler.get_scale() if self.loss_scaler.is_enabled() else None
        self._stepped = False
        super().step(**kwargs)
        if scale is not None and not self._stepped:
            self.skipped_steps += 1
            print_log(f'optimizer step skipped: a float16 gradient overflowed (inf/NaN) at loss '
                      f'scale {scale:g}; the scale is now {self.loss_scaler.get_scale():g} '
                      f'({self.skipped_steps} skipped so far)', logger='current',
                      level=logging.WARNING)

    @contextmanager
    def optim_context(self, model: nn.Module):
        # OptimWrapper's context (no gradient sync while accumulating), with torch's autocast:
        # mmengine's own autocast allows only bfloat16 on the CPU.
        with OptimWrapper.optim_context(self, model), torch.autocast(
                self.device_type, dtype=self.cast_dtype, enabled=self.autocast_enabled):
            yield
