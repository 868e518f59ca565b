"""Encoder weights from smp's download, nowhere, or a local file."""
from __future__ import annotations

import os

import torch
from mmengine.logging import print_log
from torch import nn

LOCAL_SUFFIXES = ('.pth', '.pt', '.bin', '.safetensors')


def resolve_encoder_weights(encoder_weights: str | None) -> tuple[str | None, str | None]:
    """Split ``encoder_weights`` into (what smp downloads, local file to load afterwards)."""
    if encoder_weights is None:
        return None, None
    if encoder_weights.endswith(LOCAL_SUFFIXES) or os.sep in encoder_weights:
        if not os.path.isfile(encoder_weights):
            raise FileNotFoundError(f'encoder_weights file not found: {encoder_weights}')
        return None, encoder_weights
    return encoder_weights, None


def load_encoder_weights(encoder: nn.Module, path: str) -> None:
    """Load a state dict saved from an encoder of the same kind; every key must match."""
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        state = load_file(path)
    else:
        state = torch.load(path, map_location='cpu', weights_only=True)
        state = state.get('state_dict', state)
    own = encoder.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = sorted(k for k in set(own) & set(state) if own[k].shape != state[k].shape)
    if missing or unexpected or mismatched:
        raise ValueError(
            f'encoder_weights {path} does not fit the encoder: {len(missing)} missing keys '
            f'{missing[:5]}, {len(unexpected)} unexpected keys {unexpected[:5]}, '
            f'{len(mismatched)} shape mismatches {mismatched[:5]}')
    encoder.load_state_dict(state)
    print_log(f'Loaded encoder weights from {path}', logger='current')
