"""Capture and restore every random stream that training draws from in the main process.

mmengine seeds python's ``random``, numpy's global generator and torch (CPU and CUDA) once, when
the Runner is built, but does not save their states in checkpoints: a resumed run restarts them
from the seed and so draws different dropout masks and augmentations than an uninterrupted run.
The states captured here hold only ints, tuples and tensors/arrays, so they load under
``torch.load(weights_only=True)``.
"""
from __future__ import annotations

import random

import numpy as np
import torch


def capture_rng_state() -> dict:
    """The current state of python's, numpy's and torch's global generators."""
    state = dict(python=random.getstate(), numpy=np.random.get_state(),
                 torch=torch.get_rng_state())
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state['cuda'] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict) -> None:
    """Set the global generators to a state returned by :func:`capture_rng_state`."""
    random.setstate(state['python'])
    np.random.set_state(state['numpy'])
    torch.set_rng_state(state['torch'])
    if 'cuda' in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state['cuda'])

