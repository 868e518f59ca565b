"""The errors cityseg raises on purpose: what the tools print as one line, not as a bug.

A tool ends on a *named error* with one line, ``error: <message>``, and exit status 1
(:func:`cityseg.utils.cli.run_cli`); anything else is a bug and keeps its traceback. Which
exceptions are named is decided by type, in one place (:data:`cityseg.utils.cli.NAMED_ERRORS`):
``ValueError`` and ``OSError`` (bad values, missing or unwritable files, hundreds of raise
sites across cityseg) always, and the classes here. ``KeyError``, ``TypeError`` and
``RuntimeError`` are also what a bug raises (a dict lookup, a wrong call, a torch shape
mismatch), so cityseg raises its own deliberate ones as the subclasses below: they still are a
``KeyError`` (``TypeError``, ``RuntimeError``) to a caller that catches one, and a tool prints
them as one line.
"""
from __future__ import annotations


class CitysegError(Exception):
    """An error whose message says what is wrong (the file, key or value at fault) and what
    to do; the tools print it as one line."""


class CitysegKeyError(CitysegError, KeyError):
    """A missing or unknown key, named in the message. Unlike ``KeyError``, ``str()`` is the
    message itself, not its ``repr`` (a ``KeyError`` prints ``'...'`` in quotes)."""

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class CitysegTypeError(CitysegError, TypeError):
    """A value of the wrong kind (an argument a class does not take, a config entry of the
    wrong type), named in the message."""


class CitysegRuntimeError(CitysegError, RuntimeError):
    """A run that cannot go on (weights that do not fit a model, a download that cannot
    happen), the reason in the message."""


class ConfigFileError(CitysegError, ValueError):
    """A config file that cannot be read as a config: missing, not UTF-8, not Python (or
    JSON / YAML), an ``_base_`` cycle, or a needed key missing. The message names the file."""
