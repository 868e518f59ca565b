"""Write test predictions to disk: test-server label-id PNGs and colourised previews."""
from __future__ import annotations

import os
import os.path as osp
from collections.abc import Sequence

import mmcv
import numpy as np
from mmengine.hooks import Hook

from cityseg.datasets.labels import colorize, train_ids_to_label_ids
from cityseg.registry import HOOKS
from cityseg.structures import SegDataSample


@HOOKS.register_module()
class PredictionWriterHook(Hook):
    """After each test iteration, save every prediction.

    Args:
        out_dir: if set, ``<out_dir>/<image file name>`` holds the prediction as Cityscapes
            label ids (uint8, single channel): the format of the official evaluator and the
            test server.
        show_dir: if set, ``<show_dir>/<stem>_color.png`` (palette colours, ignore black) and
            ``<stem>_overlay.png`` (blended over the image with ``opacity``).
    """

    priority = 'LOW'

    def __init__(self, out_dir: str | None = None, show_dir: str | None = None,
                 opacity: float = 0.5) -> None:
        self.out_dir = out_dir
        self.show_dir = show_dir
        self.opacity = opacity
        for d in (out_dir, show_dir):
            if d:
                os.makedirs(d, exist_ok=True)

    def after_test_iter(self, runner, batch_idx: int, data_batch: dict | None = None,
                        outputs: Sequence[SegDataSample] | None = None) -> None:
        for sample in outputs or []:
            pred = sample.pred_sem_seg.data[0].cpu().numpy().astype(np.uint8)
            img_path = sample.metainfo['img_path']
            name = osp.basename(img_path)
            if self.out_dir:
                mmcv.imwrite(train_ids_to_label_ids(pred), osp.join(self.out_dir, name))
            if self.show_dir:
                stem = osp.splitext(name)[0]
                color = colorize(pred)[..., ::-1]  # RGB palette -> BGR for cv2 writing
                mmcv.imwrite(color, osp.join(self.show_dir, f'{stem}_color.png'))
                img = mmcv.imread(img_path)
                if img.shape[:2] != color.shape[:2]:
                    img = mmcv.imresize(img, (color.shape[1], color.shape[0]))
                overlay = (img * (1 - self.opacity) + color * self.opacity).astype(np.uint8)
                mmcv.imwrite(overlay, osp.join(self.show_dir, f'{stem}_overlay.png'))
