"""A procedural, Cityscapes-formatted street-scene dataset for tests, demos and CPU quickstarts.

The real Cityscapes download needs an account and ~11 GB; this generator writes a small dataset
with the same directory layout and file naming, so every tool that reads Cityscapes (the dataset
class, cityscapesscripts' converters and evaluator) runs on it unchanged.

Each scene is built as a z-ordered list of labelled polygons (sky, a perspective road toward a
vanishing point, sidewalks, building facades, walls, fences, vegetation, poles carrying signs and
lights, vehicles, two-wheelers with riders, pedestrians, and the void classes of the label table).
The polygons are written as the official ``gtFine_polygons.json`` and every label image is
rasterised from them by cityscapesscripts' own ``json2labelImg`` / ``json2instanceImg`` code, so
re-running the official conversion reproduces the shipped ``labelTrainIds`` exactly. The RGB image
is painted through the same polygons (same rasteriser), each class with a base colour derived from
(not equal to) its palette colour plus a class-specific texture, then globally jittered and
noised: learnable by a small network in minutes, but not a colour lookup.

Like the official test set, whose labels are dummies, the ``test`` split only has
``leftImg8bit`` images. Output is a pure function of (seed, split, index, size): every image draws
from its own ``numpy.random.Generator``, so ``nproc`` and the split sizes do not change it.

Modules, in the order a sample is made: ``camera`` (pinhole projection, polygon recording),
``geometry`` (clipping, hulls), ``layout`` (what a street holds), ``colours`` and ``painting``
(class textures), ``render`` (one scene to polygons and an image), ``writer`` (Cityscapes files,
the dataset directory) and ``dataset`` (a dataset class that generates itself on first use).
"""
from .dataset import SyntheticCityscapesDataset
from .writer import (
    GENERATOR_VERSION,
    MARKER_NAME,
    SPLIT_CITIES,
    ensure_synthetic_cityscapes,
    generate_synthetic_cityscapes,
)

__all__ = ['GENERATOR_VERSION', 'MARKER_NAME', 'SPLIT_CITIES', 'SyntheticCityscapesDataset',
           'ensure_synthetic_cityscapes', 'generate_synthetic_cityscapes']
