"""Anomaly-segmentation datasets: images with masks of objects no training label covers.

Each sample's label is its anomaly mask in the benchmarks' common convention, loaded by
``LoadCityscapesLabel`` as ``'classIds'`` of two classes (so a mask of another size than its
image, or holding other values, is an error naming both files): **0 in-distribution, 1 anomaly,
255 void** (not evaluated). Fishyscapes Lost & Found and SegmentMeIfYouCan store their masks so
(``road_anomaly_benchmark/datasets/tracks.py``: ``label_pixel_gt``, 0 usual / 1 anomaly / 255
ignore; ``tracks_extra.py``: the Fishyscapes L&F labels). ``tools/analysis_tools/anomaly.py``
refuses a dataset whose class does not set ``anomaly_masks = True``.
"""
from __future__ import annotations

import os.path as osp
from glob import glob

from cityseg.registry import DATASETS

from .paired import PairedSegDataset
from .synthetic.anomalies import ANOMALY_SUFFIX
from .synthetic.writer import ensure_synthetic_cityscapes

ANOMALY_CLASSES = ('in-distribution', 'anomaly')
ANOMALY_FIELDS = dict(label_type='classIds', num_classes=2, ignore_index=255, label_map=())


class AnomalyDataset(PairedSegDataset):
    """Base class: ``label_suffix`` masks paired with ``img_suffix`` images (see the module).

    ``components`` names the SegmentMeIfYouCan track whose component metrics apply
    (``'anomaly'``, ``'obstacle'``) or is None where the benchmark defines none (Fishyscapes).
    """

    METAINFO = dict(classes=ANOMALY_CLASSES, palette=((0, 0, 0), (255, 64, 0)))
    anomaly_masks = True
    components: str | None = None
    label_suffix: str

    def label_spec(self, img_paths: list[str], img_dir: str, label_dir: str) -> tuple[str, dict]:
        return self.label_suffix, dict(ANOMALY_FIELDS)


@DATASETS.register_module()
class SyntheticAnomalyDataset(AnomalyDataset):
    """The synthetic Cityscapes-layout dataset generated with anomalies
    (``tools/make_synthetic_cityscapes.py --anomalies``; generated on first use like
    :class:`~cityseg.datasets.SyntheticCityscapesDataset`):
    ``leftImg8bit/<split>/<city>/*_leftImg8bit.png`` with
    ``gtFine/<split>/<city>/*_gtFine_anomaly.png``. Its objects are scored with the
    RoadObstacle21 track's component metrics (small objects on the road: its size limits fit
    the small images).
    """

    img_suffix = '_leftImg8bit.png'
    label_suffix = ANOMALY_SUFFIX
    components = 'obstacle'
    creates_data_root = True

    def __init__(self, data_root: str, split: str = 'val', generate: dict | None = None,
                 **kwargs) -> None:
        self.split = split
        ensure_synthetic_cityscapes(data_root, **{**(generate or {}), 'anomalies': True})
        super().__init__(data_root=data_root, **kwargs)

    def folders(self) -> list[tuple[str, str]]:
        return [(osp.join(self.data_root, 'leftImg8bit', self.split),
                 osp.join(self.data_root, 'gtFine', self.split))]


class SegmentMeIfYouCanDataset(AnomalyDataset):
    """A SegmentMeIfYouCan track as distributed: ``images/<frame>.<ext>`` with
    ``labels_masks/<frame>_labels_semantic.png`` (the layout of ``DatasetAnomalyTrack`` and
    ``DatasetObstacleTrack`` in road_anomaly_benchmark/datasets/tracks.py). Only the
    validation frames have public masks; the test frames are scored by the benchmark's server.
    """

    label_suffix = '_labels_semantic.png'
    depth = 0
    root_hint = 'data_root is the unpacked track folder, holding images/ and labels_masks/.'

    def folders(self) -> list[tuple[str, str]]:
        return [(osp.join(self.data_root, 'images'), osp.join(self.data_root, 'labels_masks'))]


@DATASETS.register_module()
class RoadAnomaly21Dataset(SegmentMeIfYouCanDataset):
    """SegmentMeIfYouCan RoadAnomaly21 (``dataset_AnomalyTrack``: ``.jpg`` images)."""

    img_suffix = '.jpg'
    components = 'anomaly'


@DATASETS.register_module()
class RoadObstacle21Dataset(SegmentMeIfYouCanDataset):
    """SegmentMeIfYouCan RoadObstacle21 (``dataset_ObstacleTrack``: ``.webp`` images; the
    masks' void is everything off the road)."""

    img_suffix = '.webp'
    components = 'obstacle'


@DATASETS.register_module()
class FishyscapesLAFDataset(AnomalyDataset):
    """Fishyscapes Lost & Found: the Lost & Found images with Fishyscapes' masks.

    The layout SegmentMeIfYouCan's ``FishyscapesLAFSubset`` reads: the masks as
    ``<labels_root>/labels/<split>/<frame>_fishy-labels.png`` and each frame's image in the
    Lost & Found tree, ``<data_root>/leftImg8bit/{train,test}/<sequence>/<frame>_leftImg8bit.png``
    (the sequence is the frame name without its last two ``_``-parts, e.g.
    ``04_Maurener_Weg_8`` of ``04_Maurener_Weg_8_000000_000030``). The 100 validation masks
    are public; void (255) is everything off the road and the ego vehicle.

    Args:
        data_root: the Lost & Found root, holding ``leftImg8bit/``.
        labels_root: the Fishyscapes folder holding ``labels/``; default ``data_root``.
        split: the masks' folder, ``'val'``.
    """

    img_suffix = '_leftImg8bit.png'
    label_suffix = '_fishy-labels.png'
    root_hint = ('data_root is the Lost & Found root (leftImg8bit/) and labels_root the '
                 'Fishyscapes folder holding labels/<split>/*_fishy-labels.png.')

    def __init__(self, data_root: str, labels_root: str | None = None, split: str = 'val',
                 **kwargs) -> None:
        self.labels_root = labels_root
        self.split = split
        super().__init__(data_root=data_root, **kwargs)

    def load_data_list(self) -> list[dict]:
        """One sample per mask, its image found in either Lost & Found split."""
        label_dir = osp.join(self.labels_root or self.data_root, 'labels', self.split)
        masks = sorted(glob(osp.join(label_dir, '*' + self.label_suffix)))
        if not masks:
            raise FileNotFoundError(f'no *{self.label_suffix} masks in {label_dir}. '
                                    f'{self.root_hint}')
        data_list, missing = [], []
        for mask in masks:
            frame = osp.basename(mask)[:-len(self.label_suffix)]
            sequence = frame.rsplit('_', 2)[0]
            images = [osp.join(self.data_root, 'leftImg8bit', s, sequence,
                               frame + self.img_suffix) for s in ('train', 'test')]
            image = next((p for p in images if osp.isfile(p)), None)
            if image is None:
                missing.append(images[0])
                continue
            data_list.append(dict(img_path=image, stem=frame, seg_map_path=mask,
                                  seg_fields=[], **ANOMALY_FIELDS))
        if missing:
            raise FileNotFoundError(f'{len(missing)} of {len(masks)} masks in {label_dir} have '
                                    f'no Lost & Found image (leftImg8bit/train or test); first '
                                    f'missing: {missing[:3]}')
        return data_list
