"""Import the ONNX tools' optional dependencies on first use, naming the extra that installs them.

``onnx`` (needed by torch's exporter) and ``onnxruntime`` are not runtime requirements of
cityseg: ``bash tools/install.sh`` leaves them out, ``bash tools/install.sh --dev`` and
``pip install -e ".[onnx]"`` bring them. Importing them here, inside the functions that use
them, keeps ``import cityseg.apis`` and every tool working without them.
"""
from __future__ import annotations

import importlib
from types import ModuleType

INSTALL_HINT = ('pip install -e ".[onnx]" (the \'onnx\' extra of cityseg; '
                'bash tools/install.sh --dev installs it too)')


def require(module: str, purpose: str) -> ModuleType:
    """``import module``, or a ModuleNotFoundError saying what needs it and how to install it.

    Args:
        module: ``'onnx'`` or ``'onnxruntime'``.
        purpose: what the caller was about to do, for the message (e.g. 'exporting to ONNX').
    """
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:  # the package is there but broken: its own message is the right one
            raise
        raise ModuleNotFoundError(f'{purpose} needs {module!r}, which is not installed: '
                                  f'{INSTALL_HINT}', name=module) from e
