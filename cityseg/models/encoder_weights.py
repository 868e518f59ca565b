"""Encoder weights from smp's / timm's download, nowhere, or a local file checked key by key."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager, suppress

from mmengine.logging import print_log
from torch import nn

from cityseg.utils.checkpoint_loading import load_safetensors, safe_torch_load
from cityseg.utils.errors import CitysegRuntimeError

LOCAL_SUFFIXES = ('.pth', '.pt', '.bin', '.safetensors')
_MAX_KEYS_SHOWN = 10


def resolve_encoder_weights(encoder_weights: str | None) -> tuple[str | None, str | None]:
    """Split ``encoder_weights`` into (what smp downloads, local file to load afterwards)."""
    if encoder_weights is None:
        return None, None
    if encoder_weights.endswith(LOCAL_SUFFIXES) or os.sep in encoder_weights:
        if not os.path.isfile(encoder_weights):
            raise FileNotFoundError(f'encoder_weights file not found: {encoder_weights}')
        return None, encoder_weights
    return encoder_weights, None


@contextmanager
def wrap_download_errors(encoder_name: str | None, encoder_weights: str | bool | None
                         ) -> Iterator[None]:
    """Turn a failed weight download into an error that says how to train without network.

    smp downloads through huggingface_hub, timm through huggingface_hub or torch.hub. Offline
    they fail (after about a minute of retries, or at once with ``HF_HUB_OFFLINE=1``) with
    ``LocalEntryNotFoundError``, ``OfflineModeIsEnabled`` or ``URLError``: all ``OSError``s whose
    messages talk about the Hub's cache rather than the config key to change. An smp encoder's
    hub files are first asked for once, with a short timeout and no retries (the probe
    ``model.pretrained`` uses), so an unreachable hub is reported in seconds.
    """
    if encoder_weights is None:
        yield
        return
    from .pretrained import PretrainedUnavailableError
    try:
        _probe_smp_encoder_files(encoder_name, encoder_weights)
        yield
    except (OSError, PretrainedUnavailableError) as err:
        # the probe's own advice is about model.pretrained; its cause is the network's answer
        cause = (err.__cause__ or err) if isinstance(err, PretrainedUnavailableError) else err
        raise CitysegRuntimeError(
            f'could not download encoder_weights={encoder_weights!r} for encoder '
            f'{encoder_name!r} (no network?): {type(cause).__name__}: {cause}\n'
            'Train without a download by setting model.encoder_weights=None (random init) '
            'or to the path of a local .pth / .safetensors file holding the encoder\'s '
            'state dict, saved on a machine with '
            "network by `torch.save(model.net.encoder.state_dict(), 'encoder.pth')`. Set "
            'HF_HUB_OFFLINE=1 to use only weights already in the Hugging Face cache without '
            'asking the network') from cause


def _probe_smp_encoder_files(encoder_name: str | None, encoder_weights: str | bool) -> None:
    """Fetch an encoder's hub files into the cache before smp or timm asks for them.

    Their own ``hf_hub_download`` retries an unreachable hub for about a minute (timm twice:
    for ``model.safetensors``, then ``pytorch_model.bin``); the probe asks once and raises
    :class:`~cityseg.models.pretrained.PretrainedUnavailableError` at once when the files are
    neither reachable nor cached. Weights that are not on the hub (a timm encoder with only a
    URL) and unknown weight names are left to smp and timm, which name them themselves.
    """
    from .pretrained import pretrained_file
    if (encoder_name or '').startswith('tu-'):
        repo_id = _timm_hub_repo(encoder_name[3:])
        if repo_id is not None:
            repo_id, _, revision = repo_id.partition('@')
            with suppress(FileNotFoundError):  # the hub answered: timm picks another file
                pretrained_file(repo_id, 'model.safetensors', revision or None)
        return
    import segmentation_models_pytorch as smp
    settings = smp.encoders.encoders.get(encoder_name or '', {}).get('pretrained_settings', {})
    if not isinstance(encoder_weights, str) or encoder_weights not in settings:
        return
    repo_id, revision = settings[encoder_weights]['repo_id'], settings[encoder_weights]['revision']
    for name in ('config.json', 'model.safetensors'):
        pretrained_file(repo_id, name, revision)


def _timm_hub_repo(model_name: str) -> str | None:
    """The hub repo timm downloads ``model_name``'s default weights from, if any."""
    import timm
    # None for a name timm does not know: timm names it itself when smp builds the encoder
    return getattr(timm.models.get_pretrained_cfg(model_name), 'hf_hub_id', None) or None


def load_encoder_weights(encoder: nn.Module, path: str) -> None:
    """Load a state dict saved from an encoder of the same kind; every key must match.

    A partial load would train from a half-random encoder while looking pretrained, so any
    missing, unexpected or differently shaped key is an error that names the keys.
    """
    if path.endswith('.safetensors'):
        state = load_safetensors(path, 'encoder_weights')
    else:
        state = safe_torch_load(path, map_location='cpu', what='encoder_weights')
        state = state.get('state_dict', state)
    own = encoder.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [f'{k}: file {tuple(state[k].shape)} vs encoder {tuple(own[k].shape)}'
                  for k in sorted(set(own) & set(state)) if own[k].shape != state[k].shape]
    if missing or unexpected or mismatched:
        raise ValueError(
            f'encoder_weights {path} does not fit the {type(encoder).__name__} encoder: '
            f'{_listing("missing keys", missing)}; {_listing("unexpected keys", unexpected)}; '
            f'{_listing("shape mismatches", mismatched)}. Was it saved from the same '
            'encoder_name (the state dict of model.net.encoder)?')
    encoder.load_state_dict(state)
    print_log(f'Loaded encoder weights from {path}', logger='current')


def _listing(what: str, keys: list[str]) -> str:
    shown = keys[:_MAX_KEYS_SHOWN]
    more = f' and {len(keys) - len(shown)} more' if len(keys) > len(shown) else ''
    return f'{len(keys)} {what} {shown}{more}'
