"""The Cityscapes dataset as the official download lays it out."""
from __future__ import annotations

import os.path as osp
from glob import glob

from mmengine.dataset import BaseDataset, Compose

from cityseg.registry import DATASETS

from .cache import DecodedSampleCache, cache_name
from .labels import CLASSES, PALETTE

IMG_SUFFIX = '_leftImg8bit.png'
LABEL_SUFFIXES = {'labelIds': '_gtFine_labelIds.png', 'labelTrainIds': '_gtFine_labelTrainIds.png'}


@DATASETS.register_module()
class CityscapesDataset(BaseDataset):
    """Cityscapes fine annotations: ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` images with
    ``gtFine/<split>/<city>/*_gtFine_{labelIds,labelTrainIds}.png`` labels.

    Args:
        data_root: the Cityscapes root (the folder holding ``leftImg8bit`` and ``gtFine``).
        split: ``'train'``, ``'val'`` or ``'test'``.
        label_type: ``'labelIds'`` (the official 34 ids, mapped to train ids by the label loader),
            ``'labelTrainIds'`` (files made by ``tools/convert_cityscapes.py``), or ``'auto'``:
            labelTrainIds when every image has one, else labelIds.
        with_labels: whether to pair each image with its label. ``None`` means all splits but
            ``test``, whose labels are not public. A missing label is an error, never a skip.
        cache_dir: if set, the pipeline's leading ``cacheable`` transforms (loading, resizing)
            run once per sample into a memory-mapped file in this directory, shared by all
            dataloader workers (see :mod:`cityseg.datasets.cache`); it needs about 8 MiB per
            full-resolution sample, logged when built.
        **kwargs: passed to :class:`mmengine.dataset.BaseDataset` (``pipeline``,
            ``test_mode``, ``indices``, ``serialize_data``, ``lazy_init``...).
    """

    METAINFO = dict(classes=CLASSES, palette=PALETTE)

    def __init__(self, data_root: str, split: str = 'train', label_type: str = 'auto',
                 with_labels: bool | None = None, cache_dir: str | None = None,
                 **kwargs) -> None:
        if label_type not in ('auto', *LABEL_SUFFIXES):
            raise ValueError(f"label_type must be 'auto', 'labelIds' or 'labelTrainIds', "
                             f'got {label_type!r}')
        self.split = split
        self.label_type = label_type
        self.with_labels = split != 'test' if with_labels is None else with_labels
        self.cache_dir = cache_dir
        self._cache: DecodedSampleCache | None = None
        self._after_cache: Compose | None = None
        super().__init__(data_root=data_root, **kwargs)

    @property
    def img_dir(self) -> str:
        return osp.join(self.data_root, 'leftImg8bit', self.split)

    @property
    def label_dir(self) -> str:
        return osp.join(self.data_root, 'gtFine', self.split)

    def full_init(self) -> None:
        """List the samples, then build or open the decoded-sample cache if one is asked for."""
        if self._fully_initialized:
            return
        super().full_init()
        if self.cache_dir is not None:
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
            self.cache_dir, cache_name(self.split, transforms[:n], infos), infos,
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

    def load_data_list(self) -> list[dict]:
        """List ``<city>/*_leftImg8bit.png`` in sorted order and pair each with its label."""
        if not osp.isdir(self.img_dir):
            raise FileNotFoundError(
                f'Cityscapes split directory not found: {self.img_dir}. Set data_root (or the '
                f'CITYSCAPES_DATASET environment variable) to the folder that holds leftImg8bit/ '
                f'and gtFine/.')
        img_paths = sorted(glob(osp.join(self.img_dir, '*', '*' + IMG_SUFFIX)))
        if not img_paths:
            raise FileNotFoundError(f'No *{IMG_SUFFIX} images under {self.img_dir}/<city>/')
        data_list = [dict(img_path=p, stem=osp.basename(p)[:-len(IMG_SUFFIX)]) for p in img_paths]
        if not self.with_labels:
            return data_list
        label_type = self._resolve_label_type(img_paths)
        missing = []
        for info in data_list:
            city = osp.basename(osp.dirname(info['img_path']))
            seg_path = osp.join(self.label_dir, city, info['stem'] + LABEL_SUFFIXES[label_type])
            if not osp.isfile(seg_path):
                missing.append(seg_path)
            info.update(seg_map_path=seg_path, label_type=label_type, seg_fields=[])
        if missing:
            raise FileNotFoundError(
                f'{len(missing)} of {len(img_paths)} images in {self.img_dir} have no '
                f'{label_type} label; first missing: {missing[:3]}')
        return data_list

    def _resolve_label_type(self, img_paths: list[str]) -> str:
        """'auto' prefers labelTrainIds only when the conversion covered every image."""
        if self.label_type != 'auto':
            return self.label_type
        for img_path in img_paths:
            city = osp.basename(osp.dirname(img_path))
            stem = osp.basename(img_path)[:-len(IMG_SUFFIX)]
            if not osp.isfile(osp.join(self.label_dir, city,
                                       stem + LABEL_SUFFIXES['labelTrainIds'])):
                return 'labelIds'
        return 'labelTrainIds'
