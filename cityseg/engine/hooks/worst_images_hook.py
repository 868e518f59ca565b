"""Keep the test images the metric scores worst, and draw them for the evaluation report."""
from __future__ import annotations

import heapq
import itertools
import os
import os.path as osp
from collections.abc import Sequence

import mmcv
import numpy as np
from mmengine.hooks import Hook

from cityseg.evaluation import IoUMetric
from cityseg.evaluation.iou_metric import per_image_scores
from cityseg.registry import HOOKS
from cityseg.structures import SegDataSample
from cityseg.utils.fileio import write_image
from cityseg.visualization import colorize, error_map

PICTURES = ('image', 'gt', 'pred', 'error')


def picture_path(out_dir: str, img_path: str, kind: str, thumbnail: bool = False) -> str:
    """Where :class:`WorstImagesHook` writes picture ``kind`` of ``img_path``."""
    stem = osp.splitext(osp.basename(img_path))[0]
    return osp.join(out_dir, 'thumbs' if thumbnail else '', f'{stem}_{kind}.png')


@HOOKS.register_module()
class WorstImagesHook(Hook):
    """During testing, keep the ``num`` predictions with the lowest per-image mIoU; draw them.

    The score is the metric's own: after each test iteration mmengine's ``TestLoop`` has
    already handed the batch to the evaluator, so the last ``len(outputs)`` entries of
    :class:`~cityseg.evaluation.IoUMetric`'s ``results`` are this batch's per-image confusion
    matrices, and :func:`~cityseg.evaluation.iou_metric.per_image_scores` turns them into the
    same mIoU that ``metrics.json``'s ``per_image`` lists. No image is read or predicted
    twice: a bounded heap holds the current ``num`` worst predictions and ground truths (two
    uint8 maps each), and after the loop only those images are read back from disk to draw.

    At the end, for each kept image, ``<out_dir>/<stem>_{image,gt,pred,error}.png`` at label
    resolution and the same under ``<out_dir>/thumbs/`` at ``thumb_width`` pixels wide. Under
    distributed testing each rank keeps and writes its own ``num`` worst; the dataset's ``num``
    worst are among them, so a report that ranks ``per_image`` finds all of their pictures.

    Args:
        out_dir: folder of the pictures (created).
        num: how many images to keep.
        palette: one RGB colour per class for the label maps; None takes the dataset's
            ``metainfo['palette']``, else the Cityscapes palette.
        thumb_width: width of the thumbnails in pixels.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str, num: int = 8, palette: Sequence | None = None,
                 thumb_width: int = 480) -> None:
        if num < 1:
            raise ValueError(f'WorstImagesHook keeps at least one image, got num={num}')
        self.out_dir = out_dir
        self.num = num
        self.palette = palette
        self.thumb_width = thumb_width
        self._heap: list = []  # (-mIoU, tie-break, img_path, gt, pred): the worst at the top
        self._count = itertools.count()

    def before_test(self, runner) -> None:
        self._heap.clear()
        metrics = [m for m in runner.test_loop.evaluator.metrics if isinstance(m, IoUMetric)]
        if len(metrics) != 1 or metrics[0].format_only:
            raise ValueError('WorstImagesHook ranks images by an IoUMetric that scores them: '
                             f'the test evaluator has {len(metrics)} IoUMetric(s)'
                             + (' in format_only mode' if metrics else ''))
        self._metric = metrics[0]
        if self.palette is None:
            self.palette = runner.test_dataloader.dataset.metainfo.get('palette')
        self._ignore_index = self._metric.ignore_index

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict | None = None,
                        outputs: Sequence[SegDataSample] | None = None) -> None:
        outputs = list(outputs or [])
        if not outputs:
            return
        results = self._metric.results[-len(outputs):]
        scores = per_image_scores([r[0] for r in results], [r[1] for r in results])
        for sample, (path, *_), score in zip(outputs, results, scores):
            if path != sample.metainfo['img_path']:
                raise ValueError(f'the metric\'s last results ({path}) do not follow the '
                                 f'outputs ({sample.metainfo["img_path"]})')
            if np.isnan(score['mIoU']):
                continue  # no scored pixel: nothing to show
            full = len(self._heap) >= self.num
            if full and -score['mIoU'] <= self._heap[0][0]:
                continue  # not worse than the best of the kept: no copy of its maps
            entry = (-score['mIoU'], next(self._count), path,
                     sample.gt_sem_seg.data[0].cpu().numpy().astype(np.uint8),
                     sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8))
            (heapq.heapreplace if full else heapq.heappush)(self._heap, entry)

    def after_test_epoch(self, runner, metrics: dict | None = None) -> None:
        os.makedirs(osp.join(self.out_dir, 'thumbs'), exist_ok=True)
        for _, _, path, gt, pred in self._heap:
            self._write(path, gt, pred)
        self._heap.clear()

    def _write(self, img_path: str, gt: np.ndarray, pred: np.ndarray) -> None:
        """The four pictures of one image, full size and as thumbnails."""
        image = mmcv.imread(img_path, channel_order='rgb')
        if image.shape[:2] != gt.shape:
            image = mmcv.imresize(image, (gt.shape[1], gt.shape[0]))
        pictures = dict(image=image, gt=colorize(gt, self.palette),
                        pred=colorize(pred, self.palette),
                        error=error_map(image, gt, pred, self._ignore_index))
        thumb_size = (self.thumb_width, max(1, round(self.thumb_width * gt.shape[0]
                                                     / gt.shape[1])))
        for kind, picture in pictures.items():
            write_image(picture[..., ::-1], picture_path(self.out_dir, img_path, kind))
            # Label maps shrink by nearest neighbour: a thumbnail shows only palette colours.
            how = 'nearest' if kind in ('gt', 'pred') else 'area'
            write_image(mmcv.imresize(picture, thumb_size, interpolation=how)[..., ::-1],
                        picture_path(self.out_dir, img_path, kind, thumbnail=True))
