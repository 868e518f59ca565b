"""How every tool ends: ``run_cli(main)`` under ``if __name__ == '__main__':``.

- A named error (:data:`NAMED_ERRORS`, see :mod:`cityseg.utils.errors`) ends with one line on
  stderr, ``error: <message>``, and exit status 1;
- a Ctrl-C ends with ``interrupted`` (and, for a training, how to resume it) and status 130,
  also when a library turned it into another exception on its way up (mmengine's
  ``Config.pretty_text`` raises ``SyntaxError`` for anything raised while it formats the
  config, a ``KeyboardInterrupt`` included, and it formats one into every checkpoint);
- anything else is a bug and keeps Python's traceback.

``CITYSEG_DEBUG=1`` prints the traceback of a named error or an interruption too, before the
same line and status.
"""
from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from .errors import CitysegError

DEBUG_ENV = 'CITYSEG_DEBUG'
INTERRUPTED_STATUS = 130  # 128 + SIGINT, as a shell reports a Ctrl-C
# ValueError and OSError are what cityseg raises for bad values and files (hundreds of sites);
# a missing module names itself. KeyError / TypeError / RuntimeError are named only as
# cityseg's own subclasses: bare, they are as likely a bug.
NAMED_ERRORS = (CitysegError, ValueError, OSError, ModuleNotFoundError)


def debug_enabled() -> bool:
    """Whether ``CITYSEG_DEBUG`` asks for tracebacks (set, and not ``0``)."""
    return os.environ.get(DEBUG_ENV, '') not in ('', '0')


def interruption(err: BaseException) -> KeyboardInterrupt | None:
    """The ``KeyboardInterrupt`` behind ``err``: ``err`` itself, or one in its chain of causes
    and contexts (raised while it was being handled), else None."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def run_cli(main: Callable[[], object]) -> None:
    """Run a tool's ``main()`` and end it as this module says: one line and status 1 for a
    named error, ``interrupted`` and status 130 for a Ctrl-C, a traceback for a bug."""
    try:
        main()
    except (KeyboardInterrupt, Exception) as err:
        interrupt = interruption(err)
        if interrupt is None and not isinstance(err, NAMED_ERRORS):
            raise  # a bug: the traceback is what a report needs
        if debug_enabled():
            traceback.print_exc()
        if interrupt is not None:
            note = str(interrupt)
            print(f'interrupted: {note}' if note else 'interrupted', file=sys.stderr)
            sys.exit(INTERRUPTED_STATUS)
        print(f'error: {str(err) or type(err).__name__}', file=sys.stderr)
        sys.exit(1)
