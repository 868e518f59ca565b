"""The per-image record that travels from the pipeline through the model to the metric."""
from __future__ import annotations

from mmengine.structures import BaseDataElement, PixelData


class SegDataSample(BaseDataElement):
    """Annotations and predictions of one image.

    Fields (all :class:`~mmengine.structures.PixelData` with ``data`` of shape ``(C, H, W)``):

    - ``gt_sem_seg``: ground-truth train ids, ``(1, H, W)`` uint8, 255 = ignore.
    - ``ignore_mask``: of an image without a label, ``(1, H, W)`` uint8: 0 on the image's own
      pixels, nonzero where a transform padded it (:class:`~cityseg.datasets.Albu`).
    - ``pred_sem_seg``: predicted train ids at label resolution, ``(1, H, W)`` uint8 (long
      when there are more than 255 classes).

    Metainfo carries ``img_path``, ``seg_map_path``, ``ori_shape``, ``img_shape`` and
    ``pad_shape`` so that predictions can be mapped back onto the original image.
    """

    @property
    def gt_sem_seg(self) -> PixelData:
        return self._gt_sem_seg

    @gt_sem_seg.setter
    def gt_sem_seg(self, value: PixelData) -> None:
        self.set_field(value, '_gt_sem_seg', dtype=PixelData)

    @gt_sem_seg.deleter
    def gt_sem_seg(self) -> None:
        del self._gt_sem_seg

    @property
    def pred_sem_seg(self) -> PixelData:
        return self._pred_sem_seg

    @pred_sem_seg.setter
    def pred_sem_seg(self, value: PixelData) -> None:
        self.set_field(value, '_pred_sem_seg', dtype=PixelData)

    @pred_sem_seg.deleter
    def pred_sem_seg(self) -> None:
        del self._pred_sem_seg

    @property
    def ignore_mask(self) -> PixelData:
        return self._ignore_mask

    @ignore_mask.setter
    def ignore_mask(self, value: PixelData) -> None:
        self.set_field(value, '_ignore_mask', dtype=PixelData)

    @ignore_mask.deleter
    def ignore_mask(self) -> None:
        del self._ignore_mask
