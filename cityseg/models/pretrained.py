"""Whole pretrained networks: a folder written by smp's ``save_pretrained``, or a hub repo.

``model.pretrained`` names a network with its weights, not just an encoder's: the folder's
``config.json`` (``_model_class``, ``encoder_name``, ``classes`` and the other constructor
arguments smp's hub mixin records) says what to build, ``model.safetensors`` what to put in it.
Weights load only from safetensors, strictly, as checkpoints do: a pickle (``pytorch_model.bin``)
could run code, and a partial load would look pretrained while half the network is random.

A hub id is fetched through huggingface_hub's cache. Offline, huggingface_hub 2.x retries a
failed request for about a minute before giving up; cityseg asks the hub once, with a short
timeout and no retries, falls back to the cache, and otherwise raises
:class:`PretrainedUnavailableError`, which says how to pre-download or point at a folder.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import segmentation_models_pytorch as smp
from mmengine.logging import print_log
from torch import nn

from cityseg.utils.checkpoint_loading import load_safetensors
from cityseg.utils.errors import CitysegRuntimeError

from .networks import OWN_ARGS, check_arch

CONFIG_FILE = 'config.json'
WEIGHTS_FILE = 'model.safetensors'
# Seconds to wait for the hub's answer before falling back to the cache; HF_HUB_ETAG_TIMEOUT
# (huggingface_hub's own variable for this request) overrides it.
HUB_TIMEOUT_S = 5.0


class PretrainedUnavailableError(CitysegRuntimeError):
    """A hub id that cannot be fetched now (offline, hub unreachable) and is not cached."""


class _Unset:
    """Default of the network arguments that ``model.pretrained``'s config supplies."""

    def __repr__(self) -> str:
        return 'unset'


UNSET = _Unset()


@dataclass
class PretrainedSpec:
    """What a pretrained folder's ``config.json`` says to build, and where it came from."""

    source: str
    arch: str
    encoder_name: str
    num_classes: int
    in_channels: int
    model_kwargs: dict = field(default_factory=dict)


def is_local(pretrained: str) -> bool:
    """Whether ``pretrained`` names a folder on disk rather than a hub repo ``owner/name``."""
    path = os.path.expanduser(pretrained)
    return (os.path.isdir(path) or os.path.isabs(path) or pretrained.startswith(('.', '~'))
            or pretrained.endswith(('/', os.sep)) or pretrained.count('/') != 1)


def pretrained_file(pretrained: str, name: str, revision: str | None = None) -> Path:
    """``name`` (``config.json`` or ``model.safetensors``) of a local folder or a hub repo.

    Raises:
        FileNotFoundError: a folder that does not exist or lacks the file (a
            ``pytorch_model.bin`` is refused: unpickling it could run code), or a hub repo
            without it.
        PretrainedUnavailableError: a hub id while offline or the hub is unreachable, and
            the file is not in huggingface_hub's cache.
    """
    if not is_local(pretrained):
        return _hub_file(pretrained, name, revision)
    folder = Path(os.path.expanduser(pretrained))
    if not folder.is_dir():
        raise FileNotFoundError(f'model.pretrained={pretrained!r}: no such folder (a hub id '
                                'is "owner/name", e.g. "smp-hub/segformer-b0-1024x1024-city-160k")')
    if not (folder / name).is_file():
        pickled = ' (pytorch_model.bin is a pickle, which cityseg does not load)' \
            if name == WEIGHTS_FILE and (folder / 'pytorch_model.bin').is_file() else ''
        raise FileNotFoundError(
            f'model.pretrained folder {folder} has no {name}{pickled}: it must be written '
            "by smp's model.save_pretrained(folder) or tools/publish_model.py")
    return folder / name


def _hub_file(repo_id: str, filename: str, revision: str | None) -> Path:
    """One file of a hub repo: asked for once with a short timeout, else from the cache."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_download, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    timeout = float(os.environ.get('HF_HUB_ETAG_TIMEOUT') or HUB_TIMEOUT_S)
    try:
        get_hf_file_metadata(hf_hub_url(repo_id, filename, revision=revision), timeout=timeout)
    except HfHubHTTPError as err:  # the hub answered: no such repo, file or revision, or denied
        raise FileNotFoundError(f'model.pretrained={repo_id!r}: the hub has no {filename} '
                                f'there{_at(revision)}: {err}') from err
    except Exception as network_err:  # offline mode, DNS, refused, timeout (httpx or OSError)
        try:
            return Path(hf_hub_download(repo_id, filename, revision=revision,
                                        local_files_only=True))
        except LocalEntryNotFoundError:
            raise PretrainedUnavailableError(
                f'model.pretrained={repo_id!r}{_at(revision)}: cannot reach the Hugging Face '
                f'hub ({type(network_err).__name__}: {network_err}) and {filename} is not in '
                "huggingface_hub's cache. On a machine with network, pre-download it with\n"
                f'  hf download {repo_id} {CONFIG_FILE} {WEIGHTS_FILE}\n'
                '(the cache, ~/.cache/huggingface or $HF_HOME, can be copied here), or save it '
                f'to a folder with smp.from_pretrained({repo_id!r}).save_pretrained(FOLDER) and '
                'set model.pretrained=FOLDER') from network_err
    return Path(hf_hub_download(repo_id, filename, revision=revision, etag_timeout=timeout))


def _at(revision: str | None) -> str:
    return f' at revision {revision!r}' if revision else ''


def read_spec(pretrained: str, config_file: Path) -> PretrainedSpec:
    """Parse smp's ``config.json``: the architecture and its constructor arguments."""
    config = json.loads(config_file.read_text())
    arch = config.pop('_model_class', None)
    if not isinstance(arch, str):
        raise ValueError(f'{config_file} (model.pretrained={pretrained!r}) has no "_model_class"'
                         ": it is not a config written by smp's save_pretrained")
    check_arch(arch)
    if config.get('aux_params') is not None:
        raise ValueError(f'{config_file} sets aux_params (an image-classification head), which '
                         'cityseg has no labels or loss for')
    kwargs = {k: v for k, v in config.items() if k not in OWN_ARGS and not k.startswith('_')}
    return PretrainedSpec(source=pretrained, arch=arch, encoder_name=config['encoder_name'],
                          num_classes=int(config['classes']),
                          in_channels=int(config.get('in_channels', 3)), model_kwargs=kwargs)


def check_spec(spec: PretrainedSpec, arch: object = UNSET, encoder_name: object = UNSET,
               num_classes: object = UNSET, in_channels: int = 3,
               model_kwargs: dict | None = None) -> None:
    """Refuse a model config that contradicts the pretrained network, naming both values.

    Keys the config leaves unset are taken from the pretrained config; stated ones must agree
    (architecture names case-insensitively, sequences whatever their type).
    """
    stated = dict(arch=arch, encoder_name=encoder_name, num_classes=num_classes,
                  in_channels=in_channels)
    found = dict(arch=spec.arch, encoder_name=spec.encoder_name, num_classes=spec.num_classes,
                 in_channels=spec.in_channels)
    clashes = [f'model.{key}={stated[key]!r} but the pretrained config has {found[key]!r}'
               for key in stated if stated[key] is not UNSET and not _same(key, stated[key],
                                                                           found[key])]
    for key, value in (model_kwargs or {}).items():
        if key not in spec.model_kwargs:
            clashes.append(f'model.model_kwargs.{key}={value!r} but the pretrained config '
                           'does not set it')
        elif _plain(value) != _plain(spec.model_kwargs[key]):
            clashes.append(f'model.model_kwargs.{key}={value!r} but the pretrained config has '
                           f'{spec.model_kwargs[key]!r}')
    if clashes:
        raise ValueError(f'model.pretrained={spec.source!r} contradicts the model config: '
                         + '; '.join(clashes) + '. Remove those keys (the pretrained config '
                         'supplies them) or make them agree')


def _same(key: str, stated: object, found: object) -> bool:
    if key == 'arch' and isinstance(stated, str):
        return stated.lower() == found.lower()
    return stated == found


def _plain(value: object) -> object:
    """JSON's view of a value: tuples are lists."""
    return json.loads(json.dumps(value))


def build_pretrained_network(spec: PretrainedSpec, weights_file: Path) -> nn.Module:
    """smp's network from ``spec`` (no encoder download), with every weight from the file."""
    net = smp.create_model(spec.arch, encoder_name=spec.encoder_name, encoder_weights=None,
                           in_channels=spec.in_channels, classes=spec.num_classes,
                           **spec.model_kwargs)
    try:
        net.load_state_dict(load_safetensors(weights_file, 'model.pretrained weights'),
                            strict=True)
    except RuntimeError as err:
        raise CitysegRuntimeError(
            f'{weights_file} (model.pretrained={spec.source!r}) does not fit '
            f'the {spec.arch} its config.json describes:\n{err}') from err
    print_log(f'Loaded the whole {spec.arch} / {spec.encoder_name} network '
              f'({spec.num_classes} classes) from {spec.source}', logger='current')
    return net


def load_pretrained(pretrained: str, revision: str | None = None, **stated) -> \
        tuple[nn.Module, PretrainedSpec]:
    """Fetch, check against the model config's ``stated`` values (see :func:`check_spec`)
    and build the pretrained network."""
    spec = read_spec(pretrained, pretrained_file(pretrained, CONFIG_FILE, revision))
    check_spec(spec, **stated)  # before fetching the (large) weights
    weights_file = pretrained_file(pretrained, WEIGHTS_FILE, revision)
    return build_pretrained_network(spec, weights_file), spec
