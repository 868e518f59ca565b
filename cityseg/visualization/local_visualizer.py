"""cityseg's mmengine Visualizer: segmentation grids handed to every configured vis backend."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from mmengine.dist import master_only
from mmengine.visualization import Visualizer

from cityseg.registry import VISUALIZERS
from cityseg.structures import SegDataSample
from cityseg.utils.fileio import write_image

from .drawing import comparison_grid
from .palette import palette_of


@VISUALIZERS.register_module()
class SegLocalVisualizer(Visualizer):
    """mmengine's Visualizer whose :meth:`add_datasample` draws cityseg's comparison grid.

    Built by the Runner from ``cfg.visualizer`` (``save_dir`` = the run's log dir), so that
    ``SegVisualizationHook``'s grids reach every entry of ``vis_backends`` through mmengine's
    ``add_image``: ``LocalVisBackend`` writes ``<log_dir>/vis_data/vis_image/<name>_<step>.png``,
    ``TensorboardVisBackend`` an image event, W&B / MLflow their image records. Scalars,
    configs and everything else are mmengine's, unchanged. The colours are the palette of
    ``dataset_meta`` (which the Runner's loops set from their dataset), Cityscapes' without one.
    """

    @master_only
    def add_datasample(self, name: str, image: np.ndarray | Sequence[np.ndarray],
                       data_sample: SegDataSample | Sequence[SegDataSample] | None = None, *,
                       step: int = 0, out_file: str | None = None, tile_width: int = 512,
                       opacity: float = 0.5) -> np.ndarray:
        """Draw image | ground truth | prediction | overlay, one row per image, and record it.

        Args:
            name: the image's tag in the vis backends.
            image: an RGB uint8 image at its label's resolution, or a list of them.
            data_sample: with ``gt_sem_seg`` and ``pred_sem_seg`` (train ids), one per image.
            step: the global step the backends record the image at.
            out_file: also write the grid to this PNG (folders created as needed), for a
                picture at a path of the caller's choosing whatever the backends are.
            tile_width: width in pixels of each of the four tiles of a row.
            opacity: of the prediction's colours in the overlay.

        Returns:
            The grid, RGB uint8, as :func:`~cityseg.visualization.comparison_grid` draws it
            in the palette of ``dataset_meta``.
        """
        images = [image] if isinstance(image, np.ndarray) else list(image)
        samples = ([data_sample] if isinstance(data_sample, SegDataSample | None)
                   else list(data_sample))
        if len(images) != len(samples):
            raise ValueError(f'add_datasample({name!r}) got {len(images)} images and '
                             f'{len(samples)} data samples; it needs one sample per image')
        grid = comparison_grid([(img, *_label_maps(s, name)) for img, s in zip(images, samples)],
                               tile_width, opacity, palette_of(self.dataset_meta))
        self.add_image(name, grid, step)
        if out_file is not None:
            write_image(grid[..., ::-1], out_file)  # RGB -> BGR for cv2
        return grid


def _label_maps(sample: SegDataSample | None, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The ``(H, W)`` ground-truth and predicted train ids of ``sample`` as numpy arrays."""
    maps = []
    for field in ('gt_sem_seg', 'pred_sem_seg'):
        if sample is None or field not in sample:
            raise ValueError(f'add_datasample({name!r}) needs data samples with gt_sem_seg '
                             f'and pred_sem_seg; one has no {field}')
        maps.append(sample.get(field).data[0].cpu().numpy())
    return maps[0], maps[1]
