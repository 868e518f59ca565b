"""Reading a config file, every way it can fail to be a config named.

mmengine's ``Config.fromfile`` reports a file that is not a config without naming it: a
``SyntaxError`` at ``<unknown>`` line 1 for text that is not Python, a bare
``UnicodeDecodeError`` for a binary file, and a ``RecursionError`` after thousands of lines of
traceback for an ``_base_`` cycle. :func:`read_config_file` checks the file and everything it
inherits first, so each of these is a :class:`~cityseg.utils.errors.ConfigFileError` naming the
file (and the cycle), and only then lets mmengine read it.
"""
from __future__ import annotations

import ast
import os.path as osp
import traceback

import mmengine
import yaml
from mmengine.config import Config

from .errors import ConfigFileError
from .mmengine_compat import config_base_files

CONFIG_SUFFIXES = ('.py', '.json', '.yaml', '.yml')


def read_config_file(path: str) -> Config:
    """``Config.fromfile(path)`` once :func:`check_config_files` passed.

    What mmengine raises while reading the files is then about them (a key of a child config
    that does not fit its base's, keys defined in two bases, a failed ``custom_imports``), and
    becomes a ``ConfigFileError`` naming ``path``, or the file and line when a config file's
    own code raised it (``model: {type: X}`` is Python, but ``X`` is not defined).
    """
    files = check_config_files(path)
    try:
        return Config.fromfile(path)
    except Exception as err:
        frame = traceback.extract_tb(err.__traceback__)[-1]
        where = (f'{frame.filename}, line {frame.lineno}'
                 if osp.realpath(frame.filename) in files else path)
        raise ConfigFileError(f'{where}: {type(err).__name__}: {err}') from err


def check_config_files(path: str) -> set[str]:
    """Check ``path`` and the files it inherits (``_base_``, transitively): each exists, is
    UTF-8 text and parses as Python (``.py``) or as a JSON / YAML mapping, and none inherits
    itself. Returns their real paths.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ConfigFileError: naming the file and what is wrong with it, or the files of a cycle.
    """
    if not osp.isfile(path):
        raise FileNotFoundError(f'config file {path} does not exist')
    checked: set[str] = set()
    _check_inheritance(path, (), checked)
    return checked


def _check_inheritance(path: str, chain: tuple[str, ...], checked: set[str]) -> None:
    """Depth first through ``_base_``; ``chain``: the files inheriting ``path``, outermost
    first. A base file that does not exist is left to mmengine, which names it (an entry may
    hold ``{{fileDirname}}``, which only mmengine substitutes)."""
    key = osp.realpath(path)
    inheriting = [osp.realpath(p) for p in chain]
    if key in inheriting:
        cycle = [_shown(p) for p in (*chain[inheriting.index(key):], path)]
        raise ConfigFileError(
            f'{cycle[0]} inherits itself through _base_: {" -> ".join(cycle)}; remove one of '
            'these _base_ entries')
    if key in checked:
        return
    _check_contents(path)
    checked.add(key)
    for base in config_base_files(path):
        if osp.isfile(base):
            _check_inheritance(osp.normpath(base), (*chain, path), checked)


def _shown(path: str) -> str:
    """``path`` relative to the working directory when inside it, else absolute."""
    relative = osp.relpath(path)
    return osp.abspath(path) if relative.startswith('..') else relative


def _check_contents(path: str) -> None:
    """``path`` is UTF-8 text in a config format that parses."""
    suffix = osp.splitext(path)[1]
    if suffix not in CONFIG_SUFFIXES:
        raise ConfigFileError(f'{path} is not a config file: a config is a '
                              f'{" / ".join(CONFIG_SUFFIXES)} file, not {suffix or "suffixless"}')
    try:
        with open(path, encoding='utf-8') as f:
            text = f.read()
    except UnicodeDecodeError as err:
        raise ConfigFileError(f'{path} is not a config file: it is not UTF-8 text ({err.reason} '
                              f'at byte {err.start})') from None
    if suffix == '.py':
        try:
            ast.parse(text, filename=path)
        except SyntaxError as err:
            raise ConfigFileError(f'{path} is not a Python config: {err.msg} at line '
                                  f'{err.lineno}') from None
        return
    try:
        content = mmengine.load(path)
    except (ValueError, yaml.YAMLError) as err:  # json.JSONDecodeError is a ValueError
        raise ConfigFileError(f'{path} is not a {suffix[1:].upper()} config: '
                              f'{str(err).splitlines()[0]}') from None
    if not isinstance(content, dict):
        raise ConfigFileError(f'{path} holds a {type(content).__name__}, not a mapping of '
                              'config keys')
