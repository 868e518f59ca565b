"""Anomaly datasets in their published layouts, the synthetic anomalies, and bad input named."""
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from cityseg.datasets import (
    FishyscapesLAFDataset,
    RoadAnomaly21Dataset,
    RoadObstacle21Dataset,
    SyntheticAnomalyDataset,
)
from cityseg.datasets.synthetic.anomalies import anomaly_mask, anomaly_polygons

PIPELINE = [dict(type='LoadCityscapesImage'), dict(type='LoadCityscapesLabel')]


def write(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def mask(h=8, w=16):
    m = np.zeros((h, w), np.uint8)
    m[2:4, 3:6] = 1
    m[-1] = 255
    return m


def image(h=8, w=16):
    return np.full((h, w, 3), 90, np.uint8)


@pytest.mark.parametrize('cls,ext', [(RoadAnomaly21Dataset, 'jpg'),
                                     (RoadObstacle21Dataset, 'webp')])
def test_segment_me_if_you_can_layout(tmp_path, cls, ext):
    write(tmp_path / 'images' / f'validation0001.{ext}', image())
    write(tmp_path / 'labels_masks' / 'validation0001_labels_semantic.png', mask())
    dataset = cls(data_root=str(tmp_path), pipeline=PIPELINE)
    sample = dataset[0]
    assert sample['gt_seg_map'].tolist() == mask().tolist()
    assert dataset.metainfo['classes'] == ('in-distribution', 'anomaly')


def test_fishyscapes_lost_and_found_layout(tmp_path):
    frame = '04_Maurener_Weg_8_000000_000030'
    write(tmp_path / 'laf' / 'leftImg8bit' / 'test' / '04_Maurener_Weg_8' /
          f'{frame}_leftImg8bit.png', image())
    write(tmp_path / 'fishy' / 'labels' / 'val' / f'{frame}_fishy-labels.png', mask())
    dataset = FishyscapesLAFDataset(data_root=str(tmp_path / 'laf'),
                                    labels_root=str(tmp_path / 'fishy'), pipeline=PIPELINE)
    assert dataset[0]['stem'] == frame
    assert (dataset[0]['gt_seg_map'] == mask()).all()
    # a mask whose image is missing is named
    write(tmp_path / 'fishy' / 'labels' / 'val' / 'ghost_000000_000001_fishy-labels.png', mask())
    with pytest.raises(FileNotFoundError, match='1 of 2 masks .* have no Lost & Found image'):
        FishyscapesLAFDataset(data_root=str(tmp_path / 'laf'),
                              labels_root=str(tmp_path / 'fishy'))


def test_a_mask_of_another_size_is_named(tmp_path):
    write(tmp_path / 'images' / 'a.jpg', image(8, 16))
    write(tmp_path / 'labels_masks' / 'a_labels_semantic.png', mask(4, 16))
    dataset = RoadAnomaly21Dataset(data_root=str(tmp_path), pipeline=PIPELINE)
    with pytest.raises(ValueError, match=r'a\.jpg is 16x8 but its label .*a_labels_semantic'
                                         r'\.png is 16x4'):
        dataset[0]


def test_mask_values_other_than_0_1_255_are_named(tmp_path):
    write(tmp_path / 'images' / 'a.jpg', image())
    write(tmp_path / 'labels_masks' / 'a_labels_semantic.png', np.full((8, 16), 2, np.uint8))
    with pytest.raises(ValueError, match=r'a_labels_semantic\.png holds values \[2\]'):
        RoadAnomaly21Dataset(data_root=str(tmp_path), pipeline=PIPELINE)[0]


def test_missing_masks_are_named(tmp_path):
    write(tmp_path / 'images' / 'a.jpg', image())
    (tmp_path / 'labels_masks').mkdir()
    with pytest.raises(FileNotFoundError, match='1 of 1 images .* have no classIds label'):
        RoadAnomaly21Dataset(data_root=str(tmp_path))


def test_anomalies_sit_on_the_road_and_are_void_elsewhere():
    rng = np.random.default_rng(0)
    label_ids = np.zeros((64, 128), np.uint8)
    label_ids[32:] = 7  # road in the lower half
    polygons = anomaly_polygons(rng, label_ids)
    assert 1 <= len(polygons) <= 3
    train_ids = np.where(label_ids == 7, 0, 255).astype(np.uint8)
    m = anomaly_mask(polygons, train_ids)
    assert (m == 1).any() and set(np.unique(m)) <= {0, 1, 255}
    assert anomaly_polygons(rng, np.zeros((8, 8), np.uint8)) == []  # no road, no object


def test_synthetic_anomaly_dataset_generates_itself(tmp_path):
    generate = dict(num_train=0, num_val=1, num_test=0, size=(128, 64), seed=0)
    dataset = SyntheticAnomalyDataset(data_root=str(tmp_path / 'anom'), generate=generate,
                                      pipeline=PIPELINE)
    sample = dataset[0]
    assert sample['seg_map_path'].endswith('_gtFine_anomaly.png')
    assert set(np.unique(sample['gt_seg_map'])) <= {0, 1, 255}
    assert (sample['gt_seg_map'] == 1).any()
    # the objects are void in the segmentation labels
    train_ids = np.asarray(Image.open(sample['seg_map_path'].replace(
        '_gtFine_anomaly.png', '_gtFine_labelTrainIds.png')))
    assert (train_ids[sample['gt_seg_map'] == 1] == 255).all()
    assert osp.isfile(tmp_path / 'anom' / '.synthetic_complete')
