"""The one way cityseg builds and runs an mmengine Runner.

``tools/train.py``, ``tools/test.py``, ``tools/analysis_tools/robustness.py`` and the Python API
(``cityseg.apis.build_runner`` / ``cityseg.apis.train``) all come through here, so a Runner
built in a notebook or a user's own script gets the same checks, work-dir lock and fixes as the
command-line tools:

- the config checks of :func:`~cityseg.utils.config.prepare_config` (cityseg's modules and its
  safe checkpoint loader registered, misspelled hook / loop arguments and class-count
  mismatches refused), also for a config that did not come through ``load_config``;
- for training, before anything slow starts: missing dataset folders named
  (:func:`~cityseg.utils.dataset_roots.check_dataset_roots`), a resume checkpoint of another
  class count refused, and the work dir claimed for the run
  (:func:`~cityseg.utils.work_dir.claim_work_dir`);
- the launcher (gloo on CPU-only machines, :func:`~cityseg.utils.launch.apply_launcher`) and
  ``cfg.compile`` applied to the network only (:mod:`cityseg.utils.compile`);
- ``cfg.runner_type`` honoured, as mmengine's own tools do, so a registered Runner subclass is
  built through ``RUNNERS``.
"""
from __future__ import annotations

import os
import os.path as osp

from mmengine.config import Config
from mmengine.model import is_model_wrapper
from mmengine.registry import RUNNERS
from mmengine.runner import Runner, find_latest_checkpoint
from torch import nn

from cityseg.utils.checkpoint_loading import check_resume_classes
from cityseg.utils.cli import interruption
from cityseg.utils.compile import compile_network, pop_compile_options
from cityseg.utils.config import prepare_config, resolve_work_dir
from cityseg.utils.dataset_roots import check_dataset_roots
from cityseg.utils.errors import CitysegRuntimeError
from cityseg.utils.launch import apply_launcher, end_distributed
from cityseg.utils.work_dir import WorkDirBusyError, claim_work_dir, is_main_launch_process

UNNAMED = 'the config'  # a Config built from a dict has no file name


class RunRefusedError(CitysegRuntimeError):
    """A run refused before anything slow started; the message says why and what to do."""


class TrainingInterrupted(KeyboardInterrupt):
    """A Ctrl-C during a training, with what was kept and how to resume in its message."""


def build_runner(cfg: Config, config_path: str | None = None, *,
                 launcher: str = 'none', runner_class: type[Runner] = Runner) -> Runner:
    """The Runner of ``cfg``, after cityseg's config checks, with the launcher and
    ``cfg.compile`` applied.

    Args:
        cfg: the config (``load_config``'s, or ``Config.fromfile``'s: it is checked here too).
        config_path: the config file, for messages; default ``cfg.filename``.
        launcher: ``'none'``, ``'pytorch'`` (torchrun), ``'slurm'`` or ``'mpi'``.
        runner_class: the class built when ``cfg`` sets no ``runner_type``
            (e.g. :class:`EvaluationRunner`).
    """
    config_path = _config_path(cfg, config_path)
    prepare_config(cfg, config_path)
    apply_launcher(cfg, launcher)
    # cfg.compile (e.g. --cfg-options compile=True) compiles the network, not train_step.
    compile_options = pop_compile_options(cfg)
    runner = RUNNERS.build(cfg) if 'runner_type' in cfg else runner_class.from_cfg(cfg)
    if compile_options is not None:
        compile_network(runner.model, compile_options)
    return runner


class EvaluationRunner(Runner):
    """The Runner of an evaluation (tools/test.py, robustness.py): its config copy goes into
    its log dir, ``<work_dir>/<timestamp>/``, beside its ``metrics.json``.

    mmengine's Runner writes it to ``<work_dir>/<config name>.py`` (compat assumption 9), the
    name under which a training run in the same work dir saved the config it trained with: an
    evaluation there would replace that copy with its own, ``--cfg-options`` and all.
    """

    def dump_config(self) -> None:
        name = osp.basename(self.cfg.filename) if self.cfg.filename else 'config.py'
        self.cfg.dump(osp.join(self.log_dir, name))


def check_training_run(cfg: Config, config_path: str | None = None) -> None:
    """Refuse, with :class:`RunRefusedError`, a training whose dataset folders are missing or
    whose resume checkpoint has another class count: before the Runner builds the model,
    which may download encoder weights first, or fails late on a tensor shape."""
    config_path = _config_path(cfg, config_path)
    try:
        check_dataset_roots(cfg)
    except FileNotFoundError as err:
        raise RunRefusedError(str(err)) from None
    resume_from = ((cfg.get('load_from') or find_latest_checkpoint(cfg.work_dir))
                   if cfg.get('resume') else None)
    if resume_from and osp.isfile(resume_from):
        try:
            check_resume_classes(resume_from, cfg.model, config_path)
        except ValueError as err:
            raise RunRefusedError(str(err)) from None
    if not cfg.get('resume') and not cfg.get('allow_existing_work_dir'):
        _refuse_other_runs_checkpoints(cfg.get('work_dir'))


def _refuse_other_runs_checkpoints(work_dir: str | None) -> None:
    """A new run writes ``iter_N.pth`` / ``best_*.pth`` under the names a finished run used:
    its checkpoints would be overwritten and the folder would mix two runs."""
    if not work_dir or not osp.isdir(work_dir):
        return
    found = sorted(f for f in os.listdir(work_dir) if f.endswith('.pth'))
    if found:
        shown = ', '.join(found[:3]) + (', ...' if len(found) > 3 else '')
        raise RunRefusedError(
            f'work dir {work_dir} holds another run\'s checkpoints ({shown}): a new training '
            'would overwrite them. Continue that run with --resume, train into another '
            '--work-dir, or pass --allow-existing-work-dir (cfg.allow_existing_work_dir=True) '
            'to train there anyway')


def train(cfg: Config, config_path: str | None = None, *, launcher: str = 'none') -> nn.Module:
    """Train ``cfg`` as ``tools/train.py`` does and return the trained model (unwrapped).

    :func:`check_training_run` first; then rank 0 holds the work dir (default
    ``work_dirs/<config name>``) for the run, so a second run there stops at once, and the
    operating system frees it if the process dies. The process group of a distributed run is
    ended once training is done.

    Raises:
        RunRefusedError: the run was refused before it started (nothing was written).
        TrainingInterrupted: a Ctrl-C stopped it (also one that a library turned into another
            exception, as mmengine's config formatting does while a checkpoint is saved); the
            message names the latest checkpoint and how to resume.
    """
    config_path = _config_path(cfg, config_path)
    if not cfg.get('work_dir') and config_path == UNNAMED:
        raise RunRefusedError('set cfg.work_dir: this config has no file name to name the '
                              'default work_dirs/<config name> after')
    cfg.work_dir = resolve_work_dir(cfg, config_path)
    check_training_run(cfg, config_path)
    try:
        lock = claim_work_dir(cfg.work_dir) if is_main_launch_process() else None
    except WorkDirBusyError as err:
        raise RunRefusedError(str(err)) from None
    try:
        runner = build_runner(cfg, config_path, launcher=launcher)
        runner.train()
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        del runner  # its DDP wrapper holds the process group that end_distributed ends
        end_distributed()
        return model
    except BaseException as err:
        if interruption(err) is None:
            raise
        raise TrainingInterrupted(_resume_note(cfg.work_dir)) from err
    finally:
        if lock is not None:
            lock.release()


def _resume_note(work_dir: str) -> str:
    """What an interrupted training kept in ``work_dir`` and how to go on from it."""
    latest = find_latest_checkpoint(work_dir)
    if latest is None:
        return (f'training stopped before its first checkpoint; nothing to resume in {work_dir}'
                ': run the same command again to start over')
    return (f'training stopped; its latest checkpoint is {latest}: resume with the same '
            'command plus --resume (in Python: cfg.resume = True)')


def _config_path(cfg: Config, config_path: str | None) -> str:
    return config_path or getattr(cfg, 'filename', None) or UNNAMED
