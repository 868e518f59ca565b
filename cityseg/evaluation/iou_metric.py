"""Pixel-level segmentation metrics from one confusion matrix, as the Cityscapes benchmark counts.

Everything is derived from a ``num_classes x num_classes`` confusion matrix (rows = ground
truth, columns = prediction) that is accumulated image by image where the predictions live
(:func:`.confusion.confusion_matrix`, one ``torch.bincount``), so a GPU validation never
copies label maps to the host: only the small matrix travels. The class IoUs and their mean
reproduce cityscapesscripts' ``evalPixelLevelSemanticLabeling`` (checked by parity tests on
label-id PNGs), and so does the instance-level iIoU (:mod:`.instance_iou`) when it is enabled:

- ground-truth pixels equal to ``ignore_index`` (void labels) count nowhere, neither as false
  negatives nor as false positives of the class predicted on them;
- a class predicted but absent from the ground truth has IoU ``0`` (TP = 0, FP > 0);
- a class absent from both ground truth and prediction has IoU ``nan`` and is left out of the
  mean, as the official ``getScoreAverage`` skips nan.

Scores are fractions in ``[0, 1]``, not percentages (mmsegmentation reports percentages): the
log table alone shows percentages, for reading.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.fileio import exists
from mmengine.logging import print_log
from terminaltables import AsciiTable

from cityseg.datasets.synthia_labels import SYNTHIA_CLASS_SUBSETS
from cityseg.registry import METRICS
from cityseg.utils.errors import CitysegTypeError

from .confusion import confusion_matrix, metrics_from_confusion
from .instance_iou import (
    INSTANCE_SUFFIX,
    LABEL_SUFFIXES,
    instance_counts,
    instance_ids_path,
    instance_iou,
    load_instance_ids,
)
from .metrics_file import SUMMARY_KEYS, write_metrics_file

SUMMARY_METRICS = ('mIoU', 'mDice', 'mFscore')
# ``class_subsets`` given by name: the literature's protocols, their class lists written once.
CLASS_SUBSET_PRESETS: dict[str, Mapping[str, Sequence[str]]] = {
    'synthia': SYNTHIA_CLASS_SUBSETS,  # mIoU16 and mIoU13 of SYNTHIA -> Cityscapes
}


def resolve_class_subsets(class_subsets: Mapping[str, Sequence[str]] | str | None
                          ) -> dict[str, tuple[str, ...]]:
    """``{key: class names}`` from IoUMetric's ``class_subsets`` (a preset's name, a dict or
    None), checked for shape: each key a new summary name, each value a non-empty list of
    distinct class names. The names themselves are checked against the dataset's classes
    later (:meth:`IoUMetric.check_class_subsets`)."""
    if class_subsets is None:
        return {}
    if isinstance(class_subsets, str):
        if class_subsets not in CLASS_SUBSET_PRESETS:
            raise ValueError(f'IoUMetric class_subsets={class_subsets!r} is not a preset; '
                             f'choose from {sorted(CLASS_SUBSET_PRESETS)} or give a dict '
                             f'{{key: [class names]}}')
        class_subsets = CLASS_SUBSET_PRESETS[class_subsets]
    if not isinstance(class_subsets, Mapping):
        raise CitysegTypeError(
            f'IoUMetric class_subsets must be a preset name or a dict '
            f'{{key: [class names]}}, got {type(class_subsets).__name__}')
    resolved = {}
    for key, names in class_subsets.items():
        where = f'IoUMetric class_subsets[{key!r}]'
        if not isinstance(key, str) or not key:
            raise ValueError(f'{where}: the key must be a non-empty string (the summary name)')
        if key in SUMMARY_KEYS:
            raise ValueError(f'{where}: {key!r} is one of the summary keys {SUMMARY_KEYS}; '
                             f'name the subset otherwise (e.g. mIoU16)')
        if isinstance(names, str) or not isinstance(names, Sequence) or not names:
            raise ValueError(f'{where} must be a non-empty list of class names, got {names!r}')
        if not all(isinstance(n, str) for n in names):
            raise ValueError(f'{where}: class names must be strings, got {list(names)!r}')
        repeated = sorted({n for n in names if list(names).count(n) > 1})
        if repeated:
            raise ValueError(f'{where} names {repeated} more than once')
        resolved[key] = tuple(names)
    return resolved


def per_class_table(class_names: Sequence[str], per_class: dict[str, np.ndarray]) -> str:
    """ASCII table of per-class scores, as percentages with two decimals (nan as 'nan')."""
    header = ['Class', *per_class]
    rows = [[name, *('nan' if np.isnan(v[i]) else f'{100 * v[i]:.2f}'
                     for v in per_class.values())]
            for i, name in enumerate(class_names)]
    return AsciiTable([header, *rows]).table


@METRICS.register_module()
class IoUMetric(BaseMetric):
    """aAcc, mIoU, mAcc, mDice (optionally mFscore, mPrecision, mRecall, and iIoU) over a dataset.

    Matches the official Cityscapes class IoU and mean IoU (see the module docstring): a class
    absent from both ground truth and prediction is nan and excluded from every mean. The
    returned values are fractions in ``[0, 1]``; a per-class table (percentages) is logged.
    With ``output_file``, the metric also writes what it alone knows after the run, the
    per-class scores, the summed confusion matrix and per-image scores, as ``metrics.json``
    (:mod:`.metrics_file`): nothing reads its state afterwards.

    ``process`` appends one ``(image path, C x C matrix, iIoU counts or None)`` triple per
    *image* to ``self.results`` (a few KB each), not per batch: mmengine's ``collect_results``
    interleaves the ranks' lists and truncates them to the dataset size, which drops the
    samples the distributed sampler padded in only when there is one result per sample. The
    per-image matrices also give the per-image scores for free.

    Args:
        num_classes: number of classes; ``None`` takes ``len(dataset_meta['classes'])``, which
            the Runner sets from the dataset's metainfo.
        ignore_index: ground-truth value of void pixels (non-negative).
        iou_metrics: any of ``'mIoU'``, ``'mDice'``, ``'mFscore'``; ``aAcc`` and ``mAcc`` are
            always reported, ``'mFscore'`` adds ``mPrecision`` and ``mRecall``. (Not named
            ``metrics``: mmengine's Runner would take such a dict for an ``Evaluator`` config.)
        class_subsets: more means of the class IoUs, each over a named subset of the
            dataset's classes, reported next to ``mIoU`` (in the returned metrics, hence the
            log, and in ``metrics.json``): a dict ``{key: [class names]}``, or the name of a
            preset of :data:`CLASS_SUBSET_PRESETS`: ``'synthia'`` is ``mIoU16`` and ``mIoU13``,
            the SYNTHIA -> Cityscapes protocols (:data:`.synthia_labels.PROTOCOL_CLASSES`).
            Each mean is over the same per-class IoUs as ``mIoU`` (``nan_to_num`` applied
            first, a nan class left out). Needs ``'mIoU'`` in ``iou_metrics``; a key that is a
            summary name, or a class name the dataset lacks, is an error (the latter when
            ``dataset_meta`` is set, or at evaluation without one).
        instance_iou: iIoU of the 8 Cityscapes instance classes, from the
            ``*_gtFine_instanceIds.png`` beside each sample's ``seg_map_path``. ``False``
            (default) reads no file, so validation during training pays nothing for it;
            ``'auto'`` computes it when every image has the file and skips it silently when
            none has (labels not named like Cityscapes', as ACDC's, BDD100K's or your own;
            ``tools/test.py`` uses this); ``True`` requires the files. The metric reads the
            files itself, in the main process, since the data pipeline does not carry
            instance ids.
        nan_to_num: if not ``None``, per-class nan scores are replaced by this value *before*
            averaging, so those classes then count in the means (the official evaluator
            behaves as ``None``). iIoU is always averaged over its defined classes only.
        beta: weight of recall in the F-score.
        format_only: compute nothing (for the unlabelled test split, where only the files
            written by ``tools/test.py --out`` matter).
        output_file: where to write ``metrics.json`` after the evaluation (on the main
            process only; any mmengine file backend). A relative path is relative to the
            working directory, unless ``MetricOutputDirHook`` moves it into the run's log dir
            first (``tools/test.py`` does). ``None`` writes nothing.
        output_meta: entries written first in that file, e.g. the config and checkpoint
            evaluated (``tools/test.py`` passes config, checkpoint, split and tta).
        collect_device: ``'cpu'`` or ``'gpu'``, for gathering results across ranks.
        prefix: prefix of the metric names in the returned dict.
    """

    def __init__(self,
                 num_classes: int | None = None,
                 ignore_index: int = 255,
                 iou_metrics: Sequence[str] = ('mIoU', 'mDice'),
                 class_subsets: Mapping[str, Sequence[str]] | str | None = None,
                 instance_iou: bool | str = False,
                 nan_to_num: float | None = None,
                 beta: float = 1,
                 format_only: bool = False,
                 output_file: str | None = None,
                 output_meta: dict | None = None,
                 collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        metrics = (iou_metrics, ) if isinstance(iou_metrics, str) else tuple(iou_metrics)
        unknown = set(metrics) - set(SUMMARY_METRICS)
        if unknown:
            raise ValueError(f'unknown metrics {sorted(unknown)}; choose from {SUMMARY_METRICS}')
        if ignore_index < 0:
            raise ValueError(f'ignore_index must be non-negative, got {ignore_index}')
        if instance_iou not in (False, True, 'auto'):
            raise ValueError(f"instance_iou must be False, True or 'auto', got {instance_iou!r}")
        self.class_subsets = resolve_class_subsets(class_subsets)
        if self.class_subsets and 'mIoU' not in metrics:
            raise ValueError(f'IoUMetric class_subsets {sorted(self.class_subsets)} average '
                             f"class IoUs: add 'mIoU' to iou_metrics (got {list(metrics)})")
        self.num_classes = num_classes
        self.ignore_index = ignore_index
        self.metrics = metrics
        self.instance_iou = instance_iou
        self.nan_to_num = nan_to_num
        self.beta = beta
        self.format_only = format_only
        self.output_file = output_file
        self.output_meta = dict(output_meta or {})

    @BaseMetric.dataset_meta.setter
    def dataset_meta(self, dataset_meta: dict | None) -> None:
        """Set by the Runner: checks ``class_subsets`` against the classes, then stores the
        metainfo through mmengine's own setter."""
        classes = (dataset_meta or {}).get('classes')
        if classes is not None:
            self.check_class_subsets(list(classes))
        BaseMetric.dataset_meta.fset(self, dataset_meta)

    def check_class_subsets(self, class_names: Sequence[str]) -> dict[str, list[int]]:
        """The class indices of each subset in ``class_names``; an unknown name is an error
        naming the subset and the class."""
        indices = {}
        for key, names in self.class_subsets.items():
            unknown = [n for n in names if n not in class_names]
            if unknown:
                raise ValueError(f'IoUMetric class_subsets[{key!r}]: unknown class '
                                 f'{", ".join(map(repr, unknown))}; the dataset\'s classes '
                                 f'are {list(class_names)}')
            indices[key] = [list(class_names).index(n) for n in names]
        return indices

    def process(self, data_batch: object, data_samples: Sequence[dict]) -> None:
        """Add one confusion matrix (and iIoU counts) per sample of the batch to ``results``.

        ``data_samples`` are the dicts mmengine's Evaluator makes of ``SegDataSample``s:
        ``['pred_sem_seg']['data']`` and ``['gt_sem_seg']['data']`` of shape ``(1, H, W)``,
        metainfo (``img_path``, ``seg_map_path``) at the top level. The counting happens on
        the predictions' device; errors name the image at fault.
        """
        if self.format_only:
            return
        num_classes = self._num_classes()
        for sample in data_samples:
            try:
                pred = sample['pred_sem_seg']['data']
                conf = confusion_matrix(pred, sample['gt_sem_seg']['data'], num_classes,
                                        self.ignore_index)
                path = self._instance_ids_file(sample)
                counts = None if path is None else instance_counts(
                    pred[0], torch.from_numpy(load_instance_ids(path)), num_classes)
            except ValueError as err:
                raise ValueError(f"{sample.get('img_path', 'an image')}: {err}") from err
            # numpy arrays pickle only their own values when results are gathered across ranks.
            self.results.append((sample.get('img_path'), conf.cpu().numpy(),
                                 None if counts is None else counts.cpu().numpy()))

    def _instance_ids_file(self, sample: dict) -> str | None:
        """The instanceIds file to read for ``sample``, or None when iIoU is off for it."""
        if self.instance_iou is False:
            return None
        seg_map_path = sample.get('seg_map_path')
        if seg_map_path is None:
            if self.instance_iou is True:
                raise ValueError('instance_iou=True needs seg_map_path in the metainfo')
            return None
        path = instance_ids_path(seg_map_path)
        if path is not None and exists(path):
            return path
        if self.instance_iou is True:
            raise FileNotFoundError(
                f'instance_iou=True but {path} does not exist' if path else
                f'instance_iou=True but {seg_map_path} is not a Cityscapes '
                f'*{"/".join(LABEL_SUFFIXES)} label, beside which a *{INSTANCE_SUFFIX} is read')
        return None

    def compute_metrics(self, results: list) -> dict[str, float]:
        """Sum the per-image results and reduce them to dataset-level scores (fractions).

        Also logs the per-class table and, with ``output_file``, writes ``metrics.json``;
        under distributed evaluation only the main process runs this.
        """
        if self.format_only:
            return {}
        files, confs, counts = zip(*results)
        conf = np.sum(confs, axis=0)
        scores = metrics_from_confusion(conf, beta=self.beta)
        keys = ['IoU'] if 'mIoU' in self.metrics else []
        keys.append('Acc')
        if 'mDice' in self.metrics:
            keys.append('Dice')
        if 'mFscore' in self.metrics:
            keys += ['Fscore', 'Precision', 'Recall']
        per_class = {k: scores[k] for k in keys}
        if self.nan_to_num is not None:
            per_class = {k: np.nan_to_num(v, nan=self.nan_to_num) for k, v in per_class.items()}
        iiou = self._instance_scores(conf, counts)
        if iiou is not None:
            per_class['iIoU'] = iiou

        names = self._class_names(len(conf))
        subsets = self.check_class_subsets(names)
        print_log('per-class results (%):\n' + per_class_table(names, per_class),
                  logger='current')
        summary = {'aAcc': _pixel_accuracy(conf)}
        for k, v in per_class.items():
            summary[f'm{k}' if k != 'iIoU' else k] = _nanmean(v)
            if k == 'IoU':  # the subset means next to mIoU, from the same class IoUs
                summary.update({key: _nanmean(v[idx]) for key, idx in subsets.items()})
        if self.output_file is not None:
            write_metrics_file(
                self.output_file, self.output_meta, summary,
                {name: {k: float(v[i]) for k, v in per_class.items()}
                 for i, name in enumerate(names)},
                conf, per_image_scores(files, confs),
                class_subsets={k: list(v) for k, v in self.class_subsets.items()})
            print_log(f'metrics written to {self.output_file}', logger='current')
        return summary

    def _instance_scores(self, conf: np.ndarray, counts: Sequence) -> np.ndarray | None:
        """Per-class iIoU, or None when no image had instance ids; a mix is an error."""
        missing = sum(c is None for c in counts)
        if missing == len(counts):
            if self.instance_iou is True:
                raise ValueError('instance_iou=True but no image was evaluated with instance ids')
            return None
        if missing:
            raise ValueError(f'{missing} of {len(counts)} images have no *_gtFine_instanceIds'
                             f'.png: iIoU over part of the dataset would be misleading')
        return instance_iou(conf, np.sum(counts, axis=0))

    def _num_classes(self) -> int:
        """The configured class count, else the dataset's; a mismatch of the two is an error."""
        classes = (self.dataset_meta or {}).get('classes')
        if self.num_classes is None:
            if classes is None:
                raise ValueError("IoUMetric needs num_classes or dataset_meta['classes']")
            return len(classes)
        if classes is not None and len(classes) != self.num_classes:
            raise ValueError(f'IoUMetric has num_classes={self.num_classes} but the dataset '
                             f'has {len(classes)} classes')
        return self.num_classes

    def _class_names(self, num_classes: int) -> list[str]:
        """Names for the table: the dataset's classes, else the class indices."""
        classes = (self.dataset_meta or {}).get('classes')
        return list(classes) if classes is not None else [str(i) for i in range(num_classes)]


def per_image_scores(files: Sequence[str | None],
                     confs: Sequence[np.ndarray]) -> list[dict[str, str | float | None]]:
    """``{'file', 'mIoU', 'aAcc'}`` of each image from its own confusion matrix.

    The image's mIoU averages the classes present in its ground truth or its prediction (the
    others' IoU is nan, as in the dataset mean); ``nan_to_num`` does not apply, since it would
    make every image's mean depend on the classes that image lacks.
    """
    return [{'file': file, 'mIoU': _nanmean(metrics_from_confusion(conf)['IoU']),
             'aAcc': _pixel_accuracy(conf)} for file, conf in zip(files, confs)]


def _pixel_accuracy(conf: np.ndarray) -> float:
    """Correct pixels over counted pixels; nan when no pixel was counted."""
    total = conf.sum()
    return float(np.trace(conf) / total) if total else float('nan')


def _nanmean(values: np.ndarray) -> float:
    """Mean over the defined (non-nan) scores; nan, without numpy's warning, if none is."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else float('nan')
