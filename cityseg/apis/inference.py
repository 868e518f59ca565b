"""Build a trained segmentor from a config and run it on images, from a script or a notebook."""
from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import mmcv
import numpy as np
import torch
from mmengine.config import Config
from mmengine.dataset import Compose
from mmengine.registry import init_default_scope

from cityseg.datasets.labels import CLASSES as CITYSCAPES_CLASSES
from cityseg.datasets.labels import has_label_ids, train_ids_to_label_ids
from cityseg.registry import DATASETS, MODELS
from cityseg.utils import load_model_weights, register_all_modules
from cityseg.utils.config_file import read_config_file
from cityseg.utils.errors import CitysegKeyError, CitysegTypeError
from cityseg.utils.segmentor_cfg import drop_encoder_weights
from cityseg.visualization import colorize, overlay, palette_of

ImageInput = str | os.PathLike | np.ndarray


@dataclass
class SegResult:
    """The prediction for one image, at the image's resolution.

    Attributes:
        train_ids: ``(H, W)`` uint8 map of train ids (class indices; 0..18 for Cityscapes).
        img_path: the file the image was read from; ``None`` for an array.
        palette: the colours of :attr:`color` and :meth:`overlay`, one ``(R, G, B)`` per
            class (:func:`inference_model` gives the config's dataset palette); ``None`` is
            Cityscapes'.
        classes: the class names of the train ids (:func:`inference_model` gives the config's
            dataset classes); ``None`` is Cityscapes' 19 training classes.
        scores: ``{name: (H, W) float32 map}`` of the anomaly scores the model's
            ``test_cfg.scores`` asks for (:mod:`cityseg.models.uncertainty`; higher = more
            anomalous); empty when it asks for none.
    """

    train_ids: np.ndarray
    img_path: str | None = None
    palette: tuple[tuple[int, int, int], ...] | None = None
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    classes: tuple[str, ...] | None = None

    @property
    def has_label_ids(self) -> bool:
        """Whether the classes are Cityscapes' 19 training classes, the only ones with
        Cityscapes label ids (a CamVid model's 11 classes have none)."""
        return has_label_ids(self.classes)

    @cached_property
    def label_ids(self) -> np.ndarray:
        """``(H, W)`` uint8 map of Cityscapes label ids, the test server's format.

        Raises:
            ValueError: the prediction is of other classes (:attr:`has_label_ids`).
        """
        if not self.has_label_ids:
            raise ValueError(f'Cityscapes label ids exist for Cityscapes\' 19 training classes '
                             f'only; this prediction is of {list(self.classes)}: use train_ids '
                             '(the class indices)')
        return train_ids_to_label_ids(self.train_ids)

    @cached_property
    def color(self) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB image in :attr:`palette`."""
        return colorize(self.train_ids, self.palette)

    def overlay(self, image_bgr: np.ndarray, opacity: float = 0.5) -> np.ndarray:
        """The palette colours blended over ``image_bgr``, returned as RGB."""
        return overlay(image_bgr[..., ::-1], self.train_ids, opacity, self.palette)


def init_model(config: str | os.PathLike | Config, checkpoint: str | None = None,
               device: str = 'cpu', cfg_options: dict | None = None) -> torch.nn.Module:
    """Build ``cfg.model`` in eval mode on ``device``, with the weights of ``checkpoint``.

    Without one, a config with ``model.pretrained`` (a folder written by smp's
    ``save_pretrained`` or ``tools/publish_model.py``, or a hub id) gives that network as it
    was published. With a checkpoint, the segmentor's ``encoder_weights`` is set to ``None``
    (:func:`~cityseg.utils.segmentor_cfg.drop_encoder_weights`; ``model.student``'s for a
    self-training model): the checkpoint holds every weight, so downloading ImageNet ones
    would be wasted (and fails offline). The config (a copy: ``config`` is left as it was) is
    kept as ``model.cfg``: :func:`inference_model` takes its test pipeline from there.

    Args:
        config: a config file or a loaded :class:`~mmengine.config.Config`.
        checkpoint: an mmengine checkpoint; its state dict must match the model exactly
            (:func:`~cityseg.utils.load_model_weights`). Optional with ``model.pretrained``.
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``...
        cfg_options: overrides with dotted keys, as ``--cfg-options`` gives them
            (``{'model.test_cfg.mode': 'slide'}``).
    """
    cfg = (read_config_file(str(config)) if isinstance(config, str | os.PathLike)
           else copy.deepcopy(config))
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    register_all_modules(init_scope=False)
    init_default_scope(cfg.get('default_scope', 'cityseg'))
    if checkpoint is not None:
        drop_encoder_weights(cfg)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:
        load_model_weights(model, checkpoint, cfg.filename)
    model.cfg = cfg
    return model.to(device).eval()


def inference_model(model: torch.nn.Module, images: ImageInput | Sequence[ImageInput],
                    batch_size: int = 1) -> SegResult | list[SegResult]:
    """Segment one image or a list of them with the config's test pipeline and ``test_cfg``.

    Args:
        model: a segmentor from :func:`init_model` (it needs ``model.cfg``).
        images: a path, an ``(H, W, 3)`` BGR uint8 array (as ``cv2``/``mmcv`` read it), or a
            list of them.
        batch_size: images per forward pass; images of different sizes are padded together.

    Returns:
        A :class:`SegResult` for one image, a list of them for a list, with the classes and
        palette of the config's test dataset (:func:`config_metainfo`).
    """
    if not isinstance(getattr(model, 'cfg', None), Config):
        raise ValueError('inference_model needs the model built by init_model (its config, '
                         'model.cfg, holds the test pipeline)')
    single = isinstance(images, str | os.PathLike | np.ndarray)
    items = [images] if single else list(images)
    pipeline = build_inference_pipeline(model.cfg)
    meta = config_metainfo(model.cfg)
    results = []
    for chunk in _chunks(items, batch_size):
        packed = [pipeline(_load(item, i)) for i, item in chunk]
        data = dict(inputs=[p['inputs'] for p in packed],
                    data_samples=[p['data_samples'] for p in packed])
        for sample in model.test_step(data):
            pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            scores = {name: value[0].cpu().numpy() for name, value in
                      sample.anomaly_scores.items()} if 'anomaly_scores' in sample else {}
            results.append(SegResult(pred, sample.metainfo.get('img_path'), meta['palette'],
                                     scores, meta['classes']))
    return results[0] if single else results


def config_metainfo(cfg: Config) -> dict:
    """``dict(classes=..., palette=...)`` of the config's test dataset, read from the config
    without listing the dataset's files: its ``classes=`` / ``palette=`` arguments (as
    :class:`~cityseg.datasets.SegFolderDataset` takes them) or ``metainfo``, over its
    registered class's ``METAINFO`` (:class:`~cityseg.datasets.CamVidDataset`'s 11 classes),
    over Cityscapes'."""
    dataset = (cfg.get('test_dataloader') or {}).get('dataset') or {}
    dataset_type = dataset.get('type')
    dataset_class = DATASETS.get(dataset_type) if isinstance(dataset_type, str) else dataset_type
    meta = {**(getattr(dataset_class, 'METAINFO', None) or {}),
            **(dataset.get('metainfo') or {}),
            **{key: dataset[key] for key in ('classes', 'palette') if dataset.get(key)}}
    return dict(classes=tuple(meta.get('classes') or CITYSCAPES_CLASSES),
                palette=palette_of(meta))


def build_inference_pipeline(cfg: Config) -> Compose:
    """The test pipeline without its loading steps: images arrive decoded, with no label."""
    dataset = cfg.get('test_dataloader', {}).get('dataset', {})
    pipeline = dataset.get('pipeline') or cfg.get('test_pipeline')
    if not pipeline:
        raise CitysegKeyError(
            'the config has neither test_dataloader.dataset.pipeline nor '
            'test_pipeline; inference_model needs one to prepare images')
    return Compose([t for t in pipeline if not str(t['type']).startswith('Load')])


def _chunks(items: list, size: int) -> Iterator[list[tuple[int, ImageInput]]]:
    if size < 1:
        raise ValueError(f'batch_size must be >= 1, got {size}')
    indexed = list(enumerate(items))
    for start in range(0, len(indexed), size):
        yield indexed[start:start + size]


def read_image(path: str | os.PathLike) -> np.ndarray:
    """An image file as ``(H, W, 3)`` BGR uint8 (grey images are expanded), or a clear error."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f'image not found: {path}')
    img = mmcv.imread(path, flag='color')
    if img is None:
        raise ValueError(f'cannot decode image {path} (not an image, or corrupt)')
    return img


def _load(item: ImageInput, index: int) -> dict:
    """The fields the loading transforms would have set, for a path or a BGR array."""
    path = None
    if isinstance(item, str | os.PathLike):
        path = os.fspath(item)
        img = read_image(path)
    elif isinstance(item, np.ndarray):
        img = item
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f'image {index} is a {img.dtype} array of shape {img.shape}; '
                             f'expected (H, W, 3) uint8 BGR')
    else:
        raise CitysegTypeError(
            f'image {index} is a {type(item).__name__}; expected a path or an '
            f'(H, W, 3) uint8 BGR array')
    return dict(img=img, img_path=path, img_shape=img.shape[:2], ori_shape=img.shape[:2])
