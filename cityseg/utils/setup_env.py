"""Make cityseg's modules and checkpoint loading ready before a Runner is built."""
from __future__ import annotations

from mmengine.registry import init_default_scope

from .checkpoint_loading import allow_mmengine_checkpoints


def register_all_modules(init_scope: bool = True) -> None:
    """Import every module that registers classes, and allow mmengine's checkpoint globals.

    The registries' ``locations`` import these lazily on the first build; scripts call this
    anyway so that user code, ``MODELS.get('SMPSegmentor')`` and checkpoint loading work
    before any build.
    """
    import cityseg.datasets
    import cityseg.engine
    import cityseg.evaluation
    import cityseg.models
    import cityseg.visualization  # noqa: F401

    allow_mmengine_checkpoints()
    if init_scope:
        init_default_scope('cityseg')
