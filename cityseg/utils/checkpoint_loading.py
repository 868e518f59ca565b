"""Load checkpoints safely and strictly.

:func:`load_model_weights` is the one way a tool or the API puts a checkpoint's weights into a
model: every parameter must fit, and a checkpoint of another class count is named as such.

The rest lets ``torch.load(weights_only=True)`` read mmengine checkpoints, and nothing more.

Since torch 2.6, ``torch.load`` unpickles only allowlisted globals by default. mmengine 0.10.7
stores its ``MessageHub`` state in every checkpoint: ``HistoryBuffer`` objects holding numpy
arrays and scalars, whose pickled state references ``HistoryBuffer.min``/``max``/``mean``/
``current`` through ``getattr``. So ``Runner.resume`` and ``load_checkpoint`` fail.

Allowlisting these trusted types keeps the safe loader. ``getattr`` itself is not allowlisted:
the name ``builtins.getattr`` is bound to :func:`_history_buffer_method`, which resolves only
HistoryBuffer's registered statistics methods. A checkpoint whose pickle names any other global
is still refused with ``UnpicklingError``, whose message (see :func:`safe_torch_load`, used by
:func:`load_local_checkpoint`, mmengine's loader for local paths, and for encoder weights)
names the file and the global instead of torch's advice to allowlist it.
"""
from __future__ import annotations

import hashlib
import io
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import IO

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.model import is_model_wrapper
from mmengine.runner import CheckpointLoader
from torch import nn

from .errors import CitysegError, CitysegRuntimeError
from .mmengine_compat import history_buffer_statistics
from .segmentor_cfg import segmentor_cfg

_NUMPY_SCALAR_DTYPES = ('bool', 'int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32',
                        'uint64', 'float16', 'float32', 'float64')


def _history_buffer_method(obj: object, name: str) -> object:
    """``getattr`` restricted to what mmengine's pickles use it for."""
    if obj is HistoryBuffer and name in history_buffer_statistics():
        return getattr(HistoryBuffer, name)
    raise pickle.UnpicklingError(f'checkpoint asks for getattr({obj!r}, {name!r}); only '
                                 f'HistoryBuffer statistics methods are allowed')


class UnreadableCheckpointError(CitysegError, pickle.UnpicklingError):
    """A file that ``torch.load`` cannot read, or must not: named, with the reason."""


def trusted_checkpoint_globals() -> list:
    """The globals that mmengine's own checkpoints reference (numpy 1.x and 2.x names)."""
    multiarray = np._core.multiarray
    return [
        HistoryBuffer, np.ndarray, np.dtype,
        *(type(np.dtype(t)) for t in _NUMPY_SCALAR_DTYPES),
        multiarray._reconstruct, multiarray.scalar,
        (multiarray._reconstruct, 'numpy.core.multiarray._reconstruct'),
        (multiarray.scalar, 'numpy.core.multiarray.scalar'),
        (_history_buffer_method, '__builtin__.getattr'),
        (_history_buffer_method, 'builtins.getattr'),
    ]


def safe_torch_load(filename: str | IO[bytes], map_location=None, what: str = 'checkpoint',
                    mmap: bool = False, name: str | None = None) -> object:
    """``torch.load(weights_only=True)``, the one way cityseg unpickles a file.

    ``weights_only`` is passed explicitly because torch honours
    ``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` only when the caller leaves it unset: no environment
    variable can bring back full unpickling (and a tampered file's code) here. A refused global
    is reported naming ``what`` (the kind of file), the file and the global, instead of
    torch's advice to allowlist it or to pass ``weights_only=False``: advice that runs the
    pickle's code if the file was tampered with. ``mmap=True`` maps the tensors instead of
    reading them: for callers that only look at the metadata. A legacy-format file (saved with
    ``_use_new_zipfile_serialization=False``) cannot be mapped, so it is read instead.
    ``filename`` may be a binary file object (never mapped); ``name`` then names it.
    """
    mmap = mmap and isinstance(filename, str) and zipfile.is_zipfile(filename)  # zip files only
    try:
        return torch.load(filename, map_location=map_location, weights_only=True, mmap=mmap)
    except OSError:
        raise  # a missing or unreadable file: the error names it
    except Exception as exc:  # torch.load's other errors are about the file, which they do not name
        found = re.search(r'GLOBAL (\S+)|(getattr\(.*?\))', str(exc))
        if found is None:  # not a refused global: a truncated file, or not a PyTorch one
            size = f' ({os.path.getsize(filename)} bytes)' if isinstance(filename, str) else ''
            raise UnreadableCheckpointError(
                f'{what} {name or filename}{size} cannot be read by torch.load '
                f'({_torch_load_reason(exc)}): it may be truncated (an interrupted copy or '
                'download) or not a PyTorch file') from None
        raise UnreadableCheckpointError(
            f'Refusing to load {what} {name or filename}: its pickle references '
            f'{found.group(1) or found.group(2)}, which is '
            f'not among the globals mmengine checkpoints use (tensors, numpy arrays, '
            f'HistoryBuffer). The file may have been tampered with, or written by other code; '
            f'load it with weights_only=False only if you trust where it came from.') from None


def _torch_load_reason(exc: Exception) -> str:
    """The gist of torch.load's error: the unpickler's complaint, else its first sentence
    (torch's own text goes on about weights_only and filing issues)."""
    text = ' '.join(str(exc).split())
    found = re.search(r'WeightsUnpickler error: (.+?)(?: Check the documentation|$)', text)
    return found.group(1) if found else f'{type(exc).__name__}: {text.split(". ")[0]}'.rstrip(': ')


def load_local_checkpoint(filename: str, map_location=None) -> dict:
    """mmengine's local-file checkpoint loader, through :func:`safe_torch_load`."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'{filename} can not be found.')
    return safe_torch_load(filename, map_location)


def allow_mmengine_checkpoints() -> None:
    """Register :func:`trusted_checkpoint_globals` with torch's safe unpickler and
    :func:`load_local_checkpoint` as mmengine's loader for local paths (idempotent)."""
    torch.serialization.add_safe_globals(trusted_checkpoint_globals())
    CheckpointLoader.register_scheme(prefixes='', loader=load_local_checkpoint, force=True)


def load_safetensors(path: str | os.PathLike, what: str = 'weights file') -> dict:
    """``safetensors.torch.load_file(path)``, with a file that cannot be read (truncated by an
    interrupted copy or download, or not safetensors at all) named: safetensors' own error
    (``SafetensorError: Error while deserializing header: ...``) does not say which file.
    """
    from safetensors import SafetensorError
    from safetensors.torch import load_file
    try:
        return load_file(os.fspath(path))
    except SafetensorError as err:
        size = os.path.getsize(path)
        raise ValueError(f'{what} {os.fspath(path)} ({size} bytes) is not a readable '
                         f'safetensors file ({err}): it may be truncated, e.g. by an '
                         'interrupted copy or download; copy or save it again') from None


def read_checkpoint_once(checkpoint: str) -> tuple[dict, str]:
    """A local checkpoint's contents (read safely, :func:`safe_torch_load`) and the sha256 of
    its bytes, from one read of the file.

    The weights evaluated and the hash recorded are then of the same bytes, and a training
    still running in the same work dir may rotate the file away (``best_*.pth``,
    ``max_keep_ckpts``) or replace it while the evaluation runs: nothing reads it again.
    """
    with open(checkpoint, 'rb') as f:
        data = f.read()
    digest = hashlib.sha256(data).hexdigest()
    return safe_torch_load(io.BytesIO(data), map_location='cpu', name=checkpoint), digest


def load_model_weights(model: nn.Module, checkpoint: str, config: str | None = None,
                       state: dict | None = None) -> None:
    """Load ``checkpoint`` into ``model`` (unwrapped if DDP-wrapped); any mismatch is an error.

    A checkpoint trained on another number of classes is named as such, from the dataset
    metainfo that mmengine's Runner stores in it; any other missing, unexpected or reshaped
    parameter fails torch's strict loading, with checkpoint and config named. A partial load
    would evaluate or run a half-initialised model with only a warning (mmengine's default).
    A ``temperature`` in the checkpoint's ``meta`` (written by
    ``tools/analysis_tools/calibration.py --fit-temperature``) becomes the predicting
    segmentor's ``temperature`` (:func:`~cityseg.models.predicting_segmentor`), unless the
    config set ``model.temperature`` itself.

    Args:
        model: the model built from ``config``; its predicting segmentor's ``num_classes`` is
            checked.
        checkpoint: a path or URI that mmengine's ``CheckpointLoader`` reads (safely, see
            :func:`allow_mmengine_checkpoints`).
        config: the config file the model was built from, for the error messages.
        state: the checkpoint's contents, already read (:func:`read_checkpoint_once`);
            ``checkpoint`` then only names it.
    """
    config = config or 'the config'
    allow_mmengine_checkpoints()  # for callers that did not set cityseg up first
    ckpt = state if state is not None else CheckpointLoader.load_checkpoint(
        checkpoint, map_location='cpu')
    # imported here: cityseg.models imports this module
    from cityseg.models.predictor import predicting_segmentor, segmentor_key
    from cityseg.models.test_cfg import check_temperature
    model = model.module if is_model_wrapper(model) else model
    segmentor = predicting_segmentor(model)
    check_checkpoint_classes(ckpt, segmentor.num_classes, checkpoint, config,
                             segmentor_key(model))
    try:
        model.load_state_dict(ckpt.get('state_dict', ckpt), strict=True)
    except RuntimeError as err:
        raise CitysegRuntimeError(
            f'{checkpoint} does not fit the model built from {config}:\n{err}') \
            from err
    temperature = (ckpt.get('meta') or {}).get('temperature')
    if temperature is not None and segmentor.temperature_cfg is None:
        segmentor.temperature = check_temperature(temperature,
                                                  f"{checkpoint}: meta['temperature']")


def check_checkpoint_classes(ckpt: dict, num_classes: int | None, checkpoint: str,
                             config: str, key: str = 'model') -> None:
    """Raise ValueError when the checkpoint's ``dataset_meta`` classes are not ``num_classes``.

    Caught here, the mismatch is named as such instead of as a tensor shape deep in loading.
    ``key``: the config section holding ``num_classes``, for the message (``model``, or
    ``model.student`` for a self-training model).
    """
    classes = ckpt.get('meta', {}).get('dataset_meta', {}).get('classes')
    if classes is not None and num_classes is not None and len(classes) != num_classes:
        raise ValueError(f'{checkpoint} was trained on {len(classes)} classes but {config} '
                         f'builds a model with num_classes={num_classes}: use the config it '
                         f'was trained with, or set {key}.num_classes={len(classes)}')


def check_resume_classes(checkpoint: str, model_cfg: dict, config: str) -> None:
    """Refuse to ``--resume`` from a checkpoint of another class count than ``model_cfg``'s
    segmentor (:func:`~cityseg.utils.segmentor_cfg.segmentor_cfg`) before anything runs."""
    key, section = segmentor_cfg(model_cfg)
    ckpt = safe_torch_load(checkpoint, map_location='cpu', mmap=True)  # the Runner reads it
    check_checkpoint_classes(ckpt, section.get('num_classes'), checkpoint, config, key)
