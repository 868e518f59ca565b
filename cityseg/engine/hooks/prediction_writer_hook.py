"""Write test predictions to disk: test-server label-id PNGs and colourised previews."""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Sequence

import mmcv
import numpy as np
from mmengine.hooks import Hook

from cityseg.datasets.labels import has_label_ids, train_ids_to_label_ids
from cityseg.registry import HOOKS
from cityseg.structures import SegDataSample
from cityseg.utils.fileio import write_image
from cityseg.visualization import palette_of, write_prediction_pictures


@HOOKS.register_module()
class PredictionWriterHook(Hook):
    """After each test iteration, save every prediction (each rank its own samples).

    What the test dataset is comes from ``runner.visualizer.dataset_meta``, which the test loop
    sets from the dataset's metainfo (Cityscapes' classes and palette when there is none).

    Args:
        out_dir: if set, ``<out_dir>/<image file name>`` (ending in ``.png`` whatever the
            image's ending) holds the prediction (uint8, single channel). For a dataset of
            Cityscapes' 19 classes (Cityscapes, ACDC, Dark Zurich, BDD100K) it holds
            Cityscapes label ids: the format of the official evaluator and the test server,
            which match files to images by the ``<city>_<seq>_<frame>`` prefix. For any other
            classes (:class:`~cityseg.datasets.SegFolderDataset`) label ids mean nothing, and
            it holds the class indices ``0..C-1`` as they are.
        show_dir: if set, ``<show_dir>/<stem>_color.png`` (the dataset's palette, ignore
            black) and ``<stem>_overlay.png`` (blended over the image with ``opacity``), drawn
            by :func:`~cityseg.visualization.write_prediction_pictures` as tools/infer.py draws.
        opacity: weight of the palette colours in the overlay.
    """

    priority = 'LOW'

    def __init__(self, out_dir: str | None = None, show_dir: str | None = None,
                 opacity: float = 0.5) -> None:
        self.out_dir = out_dir
        self.show_dir = show_dir
        self.opacity = opacity
        self.palette = palette_of(None)
        self.label_ids = True
        for d in (out_dir, show_dir):
            if d:
                os.makedirs(d, exist_ok=True)

    def before_test(self, runner) -> None:
        """Take the palette and the ``out_dir`` format from the test dataset's metainfo."""
        meta = runner.visualizer.dataset_meta or {}
        self.palette = palette_of(meta)
        self.label_ids = has_label_ids(meta.get('classes'))

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict | None = None,
                        outputs: Sequence[SegDataSample] | None = None) -> None:
        for sample in outputs or []:
            pred = sample.pred_sem_seg.data[0].cpu().numpy()
            if pred.max(initial=0) > 255:
                raise ValueError(f'prediction of {sample.metainfo["img_path"]} holds class '
                                 f'{pred.max()}: train ids must fit uint8 PNGs')
            pred = pred.astype(np.uint8)
            img_path = sample.metainfo['img_path']
            stem = osp.splitext(osp.basename(img_path))[0]
            if self.out_dir:
                # Always PNG: a JPEG image's name would write the ids lossily.
                write_image(train_ids_to_label_ids(pred) if self.label_ids else pred,
                            osp.join(self.out_dir, stem + '.png'))
            if self.show_dir:
                self._show(img_path, pred, stem)

    def _show(self, img_path: str, pred: np.ndarray, stem: str) -> None:
        """The palette picture and the overlay, at the prediction's (label) resolution."""
        img = mmcv.imread(img_path, channel_order='rgb')
        if img.shape[:2] != pred.shape:
            img = mmcv.imresize(img, (pred.shape[1], pred.shape[0]))
        write_prediction_pictures(osp.join(self.show_dir, stem), img, pred, self.opacity,
                                  self.palette)
