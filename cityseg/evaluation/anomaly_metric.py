"""AnomalyMetric: pixel AUPRC / AUROC / FPR95 and component sIoU / PPV / mean F1 per score.

The ground truth is the anomaly mask the anomaly datasets load as the sample's label
(:mod:`cityseg.datasets.anomaly`: 0 in-distribution, 1 anomaly, 255 void); the scores are the
maps the segmentor attaches with ``model.test_cfg.scores`` (:mod:`cityseg.models.uncertainty`).
Unlike IoU, these scores rank every pixel of the dataset against every other, so no per-image
sum suffices: each image's maps are kept (float32, on the CPU; void pixels are only dropped
at the end, since the component metrics need the maps whole), gathered across ranks, and
scored once (:mod:`.anomaly_curves`, :mod:`.anomaly_components`). That is 4 bytes per pixel
and score: e.g. 100 Fishyscapes Lost & Found images at 2048x1024 with 5 scores, 4 GiB.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from terminaltables import AsciiTable

from cityseg.registry import METRICS

from .anomaly_components import TRACK_SIZES, aggregate_components, frame_components
from .anomaly_curves import pixel_curves

ANOMALY_LABELS = (0, 1, 255)


@METRICS.register_module()
class AnomalyMetric(BaseMetric):
    """Anomaly segmentation scores of each map in ``anomaly_scores``.

    Returns ``'<score>/AUPRC'``, ``'<score>/AUROC'``, ``'<score>/FPR95'`` (fractions) and, with
    ``components``, ``'<score>/sIoU'``, ``'<score>/PPV'``, ``'<score>/mean_F1'``;
    ``details`` then holds every number per score, the PR curves included.

    Args:
        components: ``None`` (pixel metrics only, as Fishyscapes), ``'anomaly'`` or
            ``'obstacle'``: SegmentMeIfYouCan's component metrics with that track's size limits
            (:data:`~.anomaly_components.TRACK_SIZES`), at each score's best-F1 threshold.
    """

    def __init__(self, components: str | None = None, collect_device: str = 'cpu',
                 prefix: str | None = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if components is not None and components not in TRACK_SIZES:
            raise ValueError(f'components must be None or one of {list(TRACK_SIZES)}, got '
                             f'{components!r}')
        self.components = components
        self.details: dict = {}

    def process(self, data_batch: object, data_samples: Sequence[dict]) -> None:
        """Keep each image's anomaly mask and score maps; bad inputs name the file."""
        for sample in data_samples:
            where = sample.get('seg_map_path') or sample.get('img_path', 'an image')
            if 'gt_sem_seg' not in sample:
                raise ValueError(f'{where}: no anomaly mask; AnomalyMetric needs a dataset '
                                 'with anomaly masks (cityseg.datasets.anomaly)')
            if not sample.get('anomaly_scores'):
                raise ValueError(f'{where}: the prediction has no anomaly_scores; set '
                                 "model.test_cfg.scores, e.g. ['msp', 'energy']")
            label = sample['gt_sem_seg']['data'].reshape(sample['gt_sem_seg']['data'].shape[-2:])
            label = label.cpu().numpy().astype(np.uint8)
            bad = np.setdiff1d(np.unique(label), ANOMALY_LABELS)
            if bad.size:
                raise ValueError(f'{where}: anomaly mask values {bad.tolist()}; expected 0 '
                                 '(in-distribution), 1 (anomaly) and 255 (void)')
            maps = {}
            for name, value in sample['anomaly_scores'].items():
                value = value.reshape(value.shape[-2:])
                if tuple(value.shape) != label.shape:
                    raise ValueError(f'{where}: the anomaly mask is {label.shape[1]}x'
                                     f'{label.shape[0]} but the {name} map is '
                                     f'{value.shape[1]}x{value.shape[0]}')
                maps[name] = value.float().cpu().numpy()
            self.results.append((label, maps))

    def compute_metrics(self, results: list) -> dict[str, float]:
        labels = [r[0] for r in results]
        valid = np.concatenate([lab.ravel() != 255 for lab in labels])
        anomaly = np.concatenate([lab.ravel() == 1 for lab in labels])[valid]
        summary, self.details = {}, {}
        for name in sorted(results[0][1]):  # the maps' order is not the config's
            scores = np.concatenate([r[1][name].ravel() for r in results])[valid]
            detail = pixel_curves(scores, anomaly)
            if self.components is not None:
                sizes = TRACK_SIZES[self.components]
                frames = [frame_components(maps[name], label, detail['best_F1_threshold'],
                                           *sizes) for label, maps in results]
                detail.update(aggregate_components(frames))
            self.details[name] = detail
            keys = ['AUPRC', 'AUROC', 'FPR95'] + (
                ['sIoU', 'PPV', 'mean_F1'] if self.components else [])
            summary.update({f'{name}/{k}': detail[k] for k in keys})
        rows = [['score', *(k.split('/')[1] for k in summary if k.startswith(f'{name}/'))]]
        for score in self.details:
            rows.append([score, *(f'{100 * v:.2f}' for k, v in summary.items()
                                  if k.startswith(f'{score}/'))])
        print_log('anomaly segmentation (%):\n' + AsciiTable(rows).table, logger='current')
        return summary
