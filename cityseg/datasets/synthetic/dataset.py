"""Cityscapes-layout synthetic data that creates itself on first use (demo and tests)."""
from __future__ import annotations

from cityseg.registry import DATASETS

from ..cityscapes import CityscapesDataset
from .writer import ensure_synthetic_cityscapes


@DATASETS.register_module()
class SyntheticCityscapesDataset(CityscapesDataset):
    """A :class:`CityscapesDataset` over ``tools/make_synthetic_cityscapes.py`` output.

    If ``data_root`` does not hold a complete synthetic dataset made with ``generate`` (the
    generator's keyword arguments: ``num_train``, ``num_val``, ``num_test``, ``size``, ``seed``),
    it is generated there first, so a fresh clone trains with no download.
    """

    # A missing data_root is made, not an error (cityseg.utils.dataset_roots).
    creates_data_root = True

    def __init__(self, data_root: str, generate: dict | None = None, **kwargs) -> None:
        ensure_synthetic_cityscapes(data_root, **(generate or {}))
        super().__init__(data_root=data_root, **kwargs)
