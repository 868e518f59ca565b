"""Image folders whose every image has a label file beside it in a parallel folder tree.

Every dataset in cityseg lists its samples the same way: the images under an image folder
(sorted, at a fixed sub-folder depth or recursively), each paired with the label at the same
relative path under the label folder, its suffix swapped. A missing label is an error naming
the files, never a skipped sample: training on the images that happen to have labels would
quietly change the dataset. The decoded-sample cache (:mod:`.cache`) is offered by the base
class here, so every dataset gets it.
"""
from __future__ import annotations

import os.path as osp
from glob import glob

from mmengine.dataset import BaseDataset, Compose

from .cache import DecodedSampleCache, cache_name
from .labels import CLASSES, PALETTE

# Extensions that name one image format: a dataset matching suffixes in any case matches the
# other spellings too ('.jpg' also finds '.JPG', '.jpeg' and '.JPEG').
EXTENSION_FAMILIES = (('.jpg', '.jpeg'), ('.tif', '.tiff'))

# An image suffix: one exact file-name ending, or lower-case endings matched in any case.
Suffix = str | tuple[str, ...]


def suffix_family(img_suffix: str) -> tuple[str, ...]:
    """The lower-case endings that stand for ``img_suffix`` when case is ignored: itself and,
    for a JPEG or TIFF extension, the other spelling (``'_rgb.JPG'`` -> ``('_rgb.jpg',
    '_rgb.jpeg')``)."""
    low = img_suffix.lower()
    for family in EXTENSION_FAMILIES:
        ext = next((e for e in family if low.endswith(e)), None)
        if ext is not None:
            return tuple(low[:-len(ext)] + e for e in family)
    return (low,)


def strip_suffix(name: str, suffix: Suffix) -> str:
    """``name`` without its image suffix: ``suffix`` itself, or whichever of a tuple's
    lower-case endings the name ends with in any case."""
    if isinstance(suffix, str):
        return name[:-len(suffix)]
    low = name.lower()
    return name[:-len(next(s for s in suffix if low.endswith(s)))]


def _shown(suffix: Suffix) -> str:
    if isinstance(suffix, str):
        return f'*{suffix}'
    return '/'.join(f'*{s}' for s in suffix) + ' (any case)'


def list_images(img_dir: str, img_suffix: Suffix, depth: int | None,
                hint: str = '') -> list[str]:
    """Sorted ``*<img_suffix>`` files ``depth`` folders below ``img_dir`` (any depth if None);
    a tuple of lower-case endings matches each of them in any case.

    Raises:
        FileNotFoundError: ``img_dir`` does not exist (``hint`` says what it should hold), or
            holds no such image.
    """
    if not osp.isdir(img_dir):
        raise FileNotFoundError(f'image directory not found: {img_dir}. {hint}'.rstrip())
    pattern = '*' + img_suffix if isinstance(img_suffix, str) else '*'
    if depth is None:
        where = '**'
        paths = glob(osp.join(img_dir, '**', pattern), recursive=True)
    else:
        where = '/'.join(['<folder>'] * depth)
        paths = glob(osp.join(img_dir, *['*'] * depth, pattern))
    if not isinstance(img_suffix, str):
        paths = [p for p in paths if p.lower().endswith(img_suffix) and osp.isfile(p)]
    if not paths:
        raise FileNotFoundError(f'No {_shown(img_suffix)} images under {img_dir}/{where}')
    return sorted(paths)


def pair_labels(img_paths: list[str], img_dir: str, img_suffix: Suffix, label_dir: str,
                label_suffix: str) -> tuple[list[str], list[str]]:
    """The label path of each image (same path relative to ``label_dir``, ``img_suffix``
    replaced by ``label_suffix``) and, in order, those of them that do not exist."""
    paths = [osp.join(label_dir, strip_suffix(osp.relpath(p, img_dir), img_suffix) +
                      label_suffix) for p in img_paths]
    return paths, [p for p in paths if not osp.isfile(p)]


def _refuse_same_stems(img_paths: list[str], img_dir: str, img_suffix: Suffix) -> None:
    """Two images that differ only in their suffix's spelling (``a.jpg``, ``a.JPEG``) would
    share one label and one prediction file name."""
    seen: dict[str, str] = {}
    for path in img_paths:
        stem = strip_suffix(osp.relpath(path, img_dir), img_suffix)
        if stem in seen:
            raise ValueError(f'{seen[stem]} and {path} differ only in their suffix '
                             f'({_shown(img_suffix)}): they would share one label and one '
                             'prediction file; rename or remove one')
        seen[stem] = path


class PairedSegDataset(BaseDataset):
    """Base class: images of :meth:`folders` paired with their labels, optionally cached.

    Subclasses say where the files are (:meth:`folders`, ``img_suffix``, ``depth``; which of
    them are samples: :meth:`select_images`) and how the labels read (:meth:`label_spec`);
    each sample gets ``img_path``, ``stem`` (the file
    name without ``img_suffix``: prediction files are named after it) and, when
    ``with_labels``, ``seg_map_path`` plus the label fields that ``LoadCityscapesLabel`` reads.

    What the tools rely on, for a dataset class of one's own (derive from this class, or give
    an mmengine ``BaseDataset`` the same):

    - per labelled sample, ``label_type``: how the label file stores classes, one of
      :data:`~cityseg.datasets.loading.LABEL_TYPES`: ``'labelIds'`` (Cityscapes' 34 ids,
      mapped to the 19 train ids), ``'labelTrainIds'`` (train ids 0..18, 255 void) or
      ``'classIds'`` (indices into the dataset's ``classes``, with the sample's
      ``num_classes``, ``ignore_index`` and ``label_map``: ``(file value, class index)``
      pairs). ``LoadCityscapesLabel`` refuses a sample without one, and class statistics
      (``ClassWeightHook``) read every label with the same fields
      (:data:`~cityseg.datasets.class_stats.LABEL_FIELDS`);
    - class attributes ``root_hint`` (a sentence saying what ``data_root`` must hold and which
      environment variable the configs read, added to the missing-folder error) and
      ``creates_data_root`` (True for a dataset that writes its own root, as the synthetic one
      does, so the tools do not refuse a missing one);
    - in the pipeline, transforms whose class sets ``cacheable = True`` (a pure function of the
      sample: loading, resizing) may be cached by ``cache_dir``; caching stops at the first
      transform that does not.

    Args:
        data_root: the dataset's root folder.
        with_labels: pair each image with its label; a missing label is an error.
        cache_dir: if set, the pipeline's leading ``cacheable`` transforms (loading, resizing)
            run once per sample into a memory-mapped file in this directory, shared by all
            dataloader workers (see :mod:`cityseg.datasets.cache`); it needs about 8 MiB per
            2048x1024 sample, logged when built.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset` (``pipeline``,
            ``test_mode``, ``indices``, ``serialize_data``, ``lazy_init``...).
    """

    img_suffix: str
    depth: int | None = 1
    # What the folder passed as data_root must hold, for the missing-folder error.
    root_hint = ''
    # True when the dataset writes its own data_root: a missing one is then not an error.
    creates_data_root = False

    def __init__(self, data_root: str, with_labels: bool = True, cache_dir: str | None = None,
                 **kwargs) -> None:
        self.with_labels = with_labels
        self.cache_dir = cache_dir
        self._cache: DecodedSampleCache | None = None
        self._after_cache: Compose | None = None
        super().__init__(data_root=data_root, **kwargs)

    def folders(self) -> list[tuple[str, str]]:
        """``(image folder, label folder)`` pairs, listed in this order."""
        raise NotImplementedError

    def label_spec(self, img_paths: list[str], img_dir: str, label_dir: str) -> tuple[str, dict]:
        """``(label suffix, fields every labelled sample gets)``; the fields include
        ``label_type``, which names the labels in errors."""
        raise NotImplementedError

    def select_images(self, img_paths: list[str], img_dir: str) -> list[str]:
        """The images of ``img_dir`` that are samples, in order: all of them here; a dataset
        whose folder holds several splits or sequences keeps its own (before pairing, so the
        labels of the others are not required)."""
        return img_paths

    @property
    def cache_prefix(self) -> str:
        """The start of the cache files' names (the rest hashes the samples and transforms)."""
        return type(self).__name__

    @property
    def image_suffix(self) -> Suffix:
        """How image files are matched: ``img_suffix`` exactly here; a subclass may return
        :func:`suffix_family` endings, matched in any case."""
        return self.img_suffix

    def load_data_list(self) -> list[dict]:
        """List each folder's images in sorted order and pair each with its label."""
        data_list = []
        for img_dir, label_dir in self.folders():
            img_suffix = self.image_suffix
            img_paths = self.select_images(
                list_images(img_dir, img_suffix, self.depth, self.root_hint), img_dir)
            if not isinstance(img_suffix, str):
                _refuse_same_stems(img_paths, img_dir, img_suffix)
            infos = [dict(img_path=p, stem=strip_suffix(osp.basename(p), img_suffix))
                     for p in img_paths]
            if self.with_labels:
                suffix, fields = self.label_spec(img_paths, img_dir, label_dir)
                seg_paths, missing = pair_labels(img_paths, img_dir, img_suffix, label_dir,
                                                 suffix)
                if missing:
                    raise FileNotFoundError(
                        f'{len(missing)} of {len(img_paths)} images in {img_dir} have no '
                        f'{fields["label_type"]} label (*{suffix} in {label_dir}); first '
                        f'missing: {missing[:3]}')
                for info, seg_path in zip(infos, seg_paths):
                    info.update(seg_map_path=seg_path, seg_fields=[], **fields)
            data_list += infos
        return data_list

    def full_init(self) -> None:
        """List the samples (mmengine's ``full_init``), then build or open the decoded-sample
        cache if one is asked for and is not open yet."""
        super().full_init()
        if self.cache_dir is not None and self._cache is None:
            self._open_cache()

    def _open_cache(self) -> None:
        transforms = self.pipeline.transforms
        n = next((i for i, t in enumerate(transforms) if not getattr(t, 'cacheable', False)),
                 len(transforms))
        if n == 0:
            raise ValueError(f'cache_dir is set but the pipeline does not start with a cacheable '
                             f'transform (LoadCityscapesImage, LoadCityscapesLabel, '
                             f'ResizeByRatio); it starts with {transforms[:1]}')
        infos = [self.get_data_info(i) for i in range(len(self))]
        self._cache = DecodedSampleCache.ensure(
            self.cache_dir, cache_name(self.cache_prefix, transforms[:n], infos), infos,
            Compose(transforms[:n]))
        self._after_cache = Compose(transforms[n:])

    @property
    def cache(self) -> DecodedSampleCache | None:
        """The decoded-sample cache, when ``cache_dir`` is set."""
        return self._cache

    def prepare_data(self, idx: int) -> dict | None:
        """The pipeline's output; with a cache, its cached head is read instead of run."""
        data_info = self.get_data_info(idx)
        if self._cache is None:
            return self.pipeline(data_info)
        return self._after_cache(self._cache.load(data_info))


class CityscapesClassesDataset(PairedSegDataset):
    """Base class of driving datasets annotated with Cityscapes' 19 classes, by split.

    The labels are train-id PNGs (0..18, 255 = void), as ACDC, Dark Zurich and BDD100K ship
    them; :class:`.CityscapesDataset` also reads labelIds.

    Args:
        data_root: the dataset's root folder.
        split: the split's folder name, e.g. ``'train'``, ``'val'``, ``'test'``.
        with_labels: ``None`` means: unless ``split`` is in ``unlabelled_splits`` (splits
            whose labels are not public).
        **kwargs: see :class:`PairedSegDataset`.
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)
    unlabelled_splits: tuple[str, ...] = ('test', )
    label_suffix: str

    def __init__(self, data_root: str, split: str = 'val', with_labels: bool | None = None,
                 **kwargs) -> None:
        self.split = split
        if with_labels is None:
            with_labels = split not in self.unlabelled_splits
        super().__init__(data_root=data_root, with_labels=with_labels, **kwargs)

    @property
    def cache_prefix(self) -> str:
        return self.split

    def label_spec(self, img_paths: list[str], img_dir: str, label_dir: str) -> tuple[str, dict]:
        return self.label_suffix, dict(label_type='labelTrainIds')


class ConvertedSourceDataset(CityscapesClassesDataset):
    """Base class of the one-split adaptation sources (GTA5, SYNTHIA), whose raw labels
    (``raw_label_type``, ``<stem>.png``) DAFormer's convert scripts may have turned into
    ``<stem>_labelTrainIds.png`` beside them.

    ``label_type='auto'`` reads the converted files when every image has one, else the raw
    ones, so a user's converted copy and a fresh download both work without a setting.
    """

    raw_label_type: str
    dataset_name: str

    def __init__(self, data_root: str, split: str = 'train', label_type: str = 'auto',
                 **kwargs) -> None:
        if split != 'train':
            raise ValueError(f"{self.dataset_name} has one split, 'train' (the whole set), got "
                             f'split={split!r}')
        if label_type not in ('auto', *self._label_suffixes()):
            raise ValueError(f"label_type must be 'auto', {self.raw_label_type!r} or "
                             f"'labelTrainIds', got {label_type!r}")
        self.label_type = label_type
        super().__init__(data_root=data_root, split=split, **kwargs)

    @classmethod
    def _label_suffixes(cls) -> dict[str, str]:
        return {cls.raw_label_type: '.png', 'labelTrainIds': '_labelTrainIds.png'}

    def label_spec(self, img_paths: list[str], img_dir: str, label_dir: str) -> tuple[str, dict]:
        suffixes = self._label_suffixes()
        label_type = self.label_type
        if label_type == 'auto':
            _, missing = pair_labels(img_paths, img_dir, self.img_suffix, label_dir,
                                     suffixes['labelTrainIds'])
            label_type = self.raw_label_type if missing else 'labelTrainIds'
        return suffixes[label_type], dict(label_type=label_type)
