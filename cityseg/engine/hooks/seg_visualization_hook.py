"""After validation, draw K fixed validation images with their ground truth and prediction."""
from __future__ import annotations

import os.path as osp
from collections.abc import Sequence

import mmcv
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.structures import PixelData

from cityseg.registry import HOOKS
from cityseg.structures import SegDataSample
from cityseg.utils.errors import CitysegTypeError
from cityseg.visualization import SegLocalVisualizer


@HOOKS.register_module()
class SegVisualizationHook(Hook):
    """Draw, for the first ``num_images`` validation images (the same ones every time:
    validation is not shuffled), a row of image | ground truth | prediction | overlay in the
    dataset's palette (the visualizer's ``dataset_meta``), ignore in black.

    The grid goes through ``runner.visualizer`` (a :class:`SegLocalVisualizer`, built from
    ``cfg.visualizer``), so every configured vis backend records it under the tag ``TAG`` at
    the current iteration (TensorBoard, ``LocalVisBackend``'s ``vis_data/vis_image``...); the
    visualizer also writes it to ``work_dir/<out_dir>/<iter>.png``, whatever the backends.
    The predictions are the ones validation already computed, so drawing costs no forward pass.

    Args:
        interval: draw at the validations that follow a multiple of ``interval`` training
            iterations (epochs with ``by_epoch``); 1 draws after every validation. Decided from
            the progress counter alone, so it is unaffected by resuming.
        num_images: rows of the grid.
        tile_width: width in pixels of each of the four tiles of a row.
        opacity: of the prediction's colours in the overlay.
        out_dir: folder under the work dir.
        by_epoch: count ``interval`` in epochs.
    """

    priority = 'LOW'
    TAG = 'val_visuals'

    def __init__(self, interval: int = 1, num_images: int = 4, tile_width: int = 512,
                 opacity: float = 0.5, out_dir: str = 'visuals', by_epoch: bool = False) -> None:
        if interval < 1 or num_images < 1:
            raise ValueError(f'interval and num_images must be >= 1, got {interval}, '
                             f'{num_images}')
        self.interval = interval
        self.num_images = num_images
        self.tile_width = tile_width
        self.opacity = opacity
        self.out_dir = out_dir
        self.by_epoch = by_epoch
        self._samples: list | None = None

    def before_run(self, runner) -> None:
        if not isinstance(runner.visualizer, SegLocalVisualizer):
            raise CitysegTypeError(
                f'SegVisualizationHook draws through runner.visualizer, which is a '
                f'{type(runner.visualizer).__name__}: set the config\'s visualizer.type to '
                f"'SegLocalVisualizer' (configs/_base_/default_runtime.py does)")

    def before_val_epoch(self, runner) -> None:
        progress = runner.epoch if self.by_epoch else runner.iter
        self._samples = [] if progress % self.interval == 0 else None

    def after_val_iter(self, runner, batch_idx: int, data_batch=None,
                       outputs: Sequence[SegDataSample] | None = None) -> None:
        if self._samples is None:
            return
        for sample in (outputs or [])[:self.num_images - len(self._samples)]:
            # Only the label maps, on the CPU: not the logits, not device memory.
            self._samples.append(SegDataSample(
                metainfo=dict(img_path=sample.img_path),
                gt_sem_seg=PixelData(data=sample.gt_sem_seg.data.cpu()),
                pred_sem_seg=PixelData(data=sample.pred_sem_seg.data.cpu())))

    @master_only
    def after_val_epoch(self, runner, metrics: dict | None = None) -> None:
        if not self._samples:
            return
        images = [mmcv.imread(s.img_path, channel_order='rgb') for s in self._samples]
        path = osp.join(runner.work_dir, self.out_dir, f'{runner.iter}.png')
        runner.visualizer.add_datasample(self.TAG, images, self._samples, step=runner.iter,
                                         out_file=path, tile_width=self.tile_width,
                                         opacity=self.opacity)
        runner.logger.info(f'Validation visuals written to {path} and the vis backends')
        self._samples = None
