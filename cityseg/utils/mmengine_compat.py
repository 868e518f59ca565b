"""Every reliance of cityseg on an mmengine internal, in one place.

cityseg extends mmengine at its extension points (hooks, registries, optim wrappers, file
backends, checkpoint loaders). A few of those extensions also depend on *how* mmengine does
something, which no public API promises. Each such assumption is named below, reached only
through this module where it needs code, and checked by one test of
``tests/test_utils/test_mmengine_compat.py`` named after it: an mmengine upgrade that breaks one
fails that test, not a training run hours in. setup.py's mmengine range is the one these tests
passed on.

1. ``history_buffer_statistics``: a ``HistoryBuffer`` pickles its statistics methods by name:
   ``min``, ``max``, ``current`` and ``mean`` (which each instance registers) and those in
   ``HistoryBuffer._statistics_methods``
   (:mod:`cityseg.utils.checkpoint_loading` allows exactly those in a checkpoint).
2. ``train_loop_iterator``: ``IterBasedTrainLoop`` draws its batches from its
   ``dataloader_iterator`` attribute, and on resume it draws and discards the ``runner.iter``
   batches already trained on from it, after ``before_train`` and before the first
   ``before_train_iter`` (:class:`~cityseg.engine.hooks.RNGStateHook` replays them without
   touching the random streams).
3. ``validates_after``: ``IterBasedTrainLoop`` validates after iteration ``i`` exactly when
   ``i >= val_begin`` and (``i % val_interval == 0`` or ``i == max_iters``)
   (:class:`~cityseg.engine.hooks.ResumeValidationHook` marks checkpoints saved before one).
4. checkpoint removal order: ``CheckpointHook`` removes the oldest kept and the previous best
   checkpoint through the file backend *before* ``Runner.save_checkpoint`` writes the new one,
   and every ``get_file_backend`` call builds a new backend instance
   (:mod:`cityseg.engine.checkpoint_backend` defers the removals, in a module-level list).
5. test-loop order: ``TestLoop`` hands a batch's outputs to the evaluator before the
   ``after_test_iter`` hooks run (:class:`~cityseg.engine.hooks.WorstImagesHook` reads the
   metric's newest results there).
6. ``amp_optim_wrapper_init``: ``mmengine.optim.AmpOptimWrapper.__init__`` refuses a machine
   without an accelerator through the module-level ``is_cuda_available`` (and npu/mlu/musa)
   functions, and builds its loss scaler with the module-level ``GradScaler`` (CUDA's)
   (:class:`~cityseg.engine.optimizers.AmpOptimWrapper` builds it for the CPU as well).
7. distributed on CPU: ``Runner`` skips ``init_dist`` when a process group already exists,
   and its default DDP wrapper passes ``device_ids=[LOCAL_RANK]`` unless
   ``model_wrapper_cfg`` says otherwise (:func:`cityseg.utils.launch.apply_launcher`).
8. ``ENV_CFG_KEYS``: ``Runner.setup_env`` reads exactly these keys of ``env_cfg``
   (:func:`cityseg.utils.config.check_env_cfg` refuses any other, a typo).
9. ``dump_config``: ``Runner.__init__`` writes its config copy only through
   ``self.dump_config()``, once ``log_dir`` exists, and that writes
   ``<work_dir>/<config file name>`` (:class:`~cityseg.engine.runtime.EvaluationRunner`
   overrides it to write into its log dir instead).
10. ``config_base_files``: ``Config._get_base_files(path)`` lists the ``_base_`` entries of a
    config file as written, and ``Config._get_cfg_path(entry, path)`` resolves one to the file
    ``Config.fromfile`` reads for it (:mod:`cityseg.utils.config_file` walks the inheritance
    with them to name an ``_base_`` cycle, which mmengine follows until ``RecursionError``).
11. ``training_iteration``: during a training step the current ``MessageHub``'s ``iter`` info
    is ``runner.iter``, the 0-based iteration being trained (``RuntimeInfoHook`` sets it in
    ``before_train_iter``; mmdetection's BoxInst reads it the same way)
    (:meth:`cityseg.models.semi.SemiSegmentor.in_burn_in`).
"""
from __future__ import annotations

import importlib
import os.path as osp
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner import IterBasedTrainLoop

ENV_CFG_KEYS = ('cudnn_benchmark', 'mp_cfg', 'dist_cfg', 'resource_limit')
AMP_WRAPPER_MODULE = 'mmengine.optim.optimizer.amp_optimizer_wrapper'


HISTORY_BUFFER_DEFAULT_STATISTICS = frozenset({'min', 'max', 'current', 'mean'})


def history_buffer_statistics() -> frozenset[str]:
    """Assumption 1: the statistics methods a pickled ``HistoryBuffer`` may name."""
    return HISTORY_BUFFER_DEFAULT_STATISTICS | set(HistoryBuffer._statistics_methods)


def train_loop_iterator(loop: IterBasedTrainLoop) -> Iterator:
    """Assumption 2: the iterator ``loop`` draws its training batches from."""
    return loop.dataloader_iterator


def set_train_loop_iterator(loop: IterBasedTrainLoop, iterator: Iterator) -> None:
    """Assumption 2: make ``loop`` draw its training batches from ``iterator``."""
    loop.dataloader_iterator = iterator


def validates_after(loop: object, iteration: int) -> bool:
    """Assumption 3: whether ``loop`` (an ``IterBasedTrainLoop``; any other loop: False)
    validates once ``iteration`` is trained."""
    if not isinstance(loop, IterBasedTrainLoop):
        return False
    return iteration >= loop.val_begin and (iteration % loop.val_interval == 0
                                            or iteration == loop.max_iters)


def config_base_files(path: str) -> list[str]:
    """Assumption 10: the files that the config file ``path`` names in its ``_base_``, in
    order, as ``Config.fromfile`` resolves them (next to ``path``, or in an installed
    package for ``'pkg::...'``)."""
    path = osp.abspath(path)
    return [Config._get_cfg_path(entry, path)[0] for entry in Config._get_base_files(path)]


@contextmanager
def amp_optim_wrapper_init(device_type: str, enabled: bool) -> Iterator[None]:
    """Assumption 6: while this context is open, ``mmengine.optim.AmpOptimWrapper.__init__``
    accepts any device and builds ``torch.amp.GradScaler(device_type, enabled=enabled)``.

    mmengine's wrapper asserts CUDA/NPU/MLU/MUSA and uses the deprecated, CUDA-only
    ``torch.cuda.amp.GradScaler``; torch's device-generic scaler works on the CPU as well.
    """
    def scaler(**kwargs) -> torch.amp.GradScaler:
        return torch.amp.GradScaler(device_type, **{'enabled': enabled, **kwargs})

    module = importlib.import_module(AMP_WRAPPER_MODULE)
    saved = module.is_cuda_available, module.GradScaler
    module.is_cuda_available = lambda: True
    module.GradScaler = scaler
    try:
        yield
    finally:
        module.is_cuda_available, module.GradScaler = saved


def training_iteration() -> int | None:
    """The 0-based training iteration a model's training step belongs to, None outside a
    Runner's training loop (assumption 11)."""
    return MessageHub.get_current_instance().get_info('iter')
