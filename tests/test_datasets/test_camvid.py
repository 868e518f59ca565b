"""CamVidDataset: SegNet's release read from the real shared copy; the original colour-coded
release, label errors and layout detection on hand-made files."""
from __future__ import annotations

import os
import os.path as osp
import re
from collections import Counter

import numpy as np
import pytest
from helpers.camvid import CAMVID_ROOT
from helpers.cli import ROOT
from mmengine.config import Config
from PIL import Image

from cityseg.datasets import CamVidDataset
from cityseg.datasets.camvid import split_frames
from cityseg.datasets.class_stats import count_label_pixels, label_files
from cityseg.registry import DATASETS

BASE_CONFIG = osp.join(ROOT, 'configs/_base_/datasets/camvid.py')
TEST_PIPELINE = [dict(type='LoadCityscapesImage'), dict(type='LoadCityscapesLabel'),
                 dict(type='PackSegInputs')]
# The shared copy's README: class names in label-value order and the usual palette.
README_CLASSES = ('sky', 'building', 'pole', 'road', 'pavement', 'tree', 'sign_symbol', 'fence',
                  'car', 'pedestrian', 'bicyclist')
README_PALETTE = [(128, 128, 128), (128, 0, 0), (192, 192, 128), (128, 64, 128), (60, 40, 222),
                  (128, 128, 0), (192, 128, 128), (64, 64, 128), (64, 0, 128), (64, 64, 0),
                  (0, 128, 192)]

# One pixel of each of the original release's 32 colours (its label_colors.txt, typed here
# again) and the 11-class index each must become, as MathWorks' camvidPixelLabelIDs groups them.
COLOUR_LABEL = np.array([
    [(128, 128, 128), (128, 0, 0), (64, 192, 0), (64, 0, 64), (192, 0, 128), (0, 128, 64),
     (192, 192, 128), (0, 0, 64)],  # Sky Building Wall Tunnel Archway Bridge Column_Pole Cone
    [(128, 64, 128), (128, 0, 192), (192, 0, 64), (0, 0, 192), (64, 192, 128), (128, 128, 192),
     (128, 128, 0), (192, 192, 0)],  # Road LaneMkgs(Non)Driv Sidewalk ParkingBlock RoadShoulder
    # Tree VegetationMisc
    [(192, 128, 128), (128, 128, 64), (0, 64, 64), (64, 64, 128), (64, 0, 128), (64, 128, 192),
     (192, 128, 192), (192, 64, 128)],  # SignSymbol Misc_Text TrafficLight Fence Car SUV Bus Train
    [(128, 64, 64), (64, 64, 0), (192, 128, 64), (64, 0, 192), (64, 128, 64), (0, 128, 192),
     (192, 0, 192), (0, 0, 0)],  # OtherMoving Pedestrian Child Pram Animal Bicyclist Moto Void
], dtype=np.uint8)
EXPECTED = np.array([[0, 1, 1, 1, 1, 1, 2, 2],
                     [3, 3, 3, 4, 4, 4, 5, 5],
                     [6, 6, 6, 7, 8, 8, 8, 8],
                     [8, 9, 9, 9, 9, 10, 10, 255]], dtype=np.uint8)
ROAD = (128, 64, 128)


def build(root, **kwargs) -> CamVidDataset:
    return DATASETS.build(dict(type='CamVidDataset', data_root=str(root), pipeline=TEST_PIPELINE,
                               **kwargs))


def stems(ds) -> list[str]:
    return [osp.basename(ds.get_data_info(i)['img_path'])[:-4] for i in range(len(ds))]


def gt(sample) -> np.ndarray:
    return sample['data_samples'].gt_sem_seg.data[0].numpy()


# ------------------------------------------------------------- SegNet's release (shared copy)

def test_segnet_release_splits_and_sequences_match_the_folders():
    for split, n in (('train', 367), ('val', 101)):
        ds = build(CAMVID_ROOT, split=split)
        names = sorted(os.listdir(osp.join(CAMVID_ROOT, split)))
        assert len(ds) == n == len(names)
        assert [osp.basename(ds.get_data_info(i)['img_path']) for i in range(n)] == names
        assert [ds.get_data_info(i)['seg_map_path'] for i in range(n)] == [
            osp.join(CAMVID_ROOT, f'{split}annot', name) for name in names]
    train = Counter(name.split('_')[0] for name in os.listdir(osp.join(CAMVID_ROOT, 'train')))
    assert train == {'0001TP': 62, '0006R0': 101, '0016E5': 204}
    dusk = build(CAMVID_ROOT, split='train', sequences=('0001TP', ))
    assert len(dusk) == 62 and all(s.startswith('0001TP_') for s in stems(dusk))
    day = build(CAMVID_ROOT, split='train', sequences=['0006R0', '0016E5'])
    assert len(day) == 305 and not set(stems(day)) & set(stems(dusk))


def test_segnet_release_first_sample_is_the_files_with_void_ignored():
    ds = build(CAMVID_ROOT, split='train')
    sample = ds[0]
    info = ds.get_data_info(0)
    raw = np.asarray(Image.open(info['seg_map_path']))
    rgb = np.asarray(Image.open(info['img_path']).convert('RGB'))
    assert sample['inputs'].shape == (3, 360, 480) and raw.shape == (360, 480)
    assert np.array_equal(sample['inputs'].permute(1, 2, 0).numpy(), rgb[..., ::-1])
    assert np.array_equal(gt(sample), np.where(raw == 11, 255, raw))
    assert (raw == 11).any() and set(np.unique(gt(sample))) <= {*range(11), 255}


def test_metainfo_names_the_eleven_classes_with_the_usual_palette():
    ds = build(CAMVID_ROOT, split='val')
    assert ds.metainfo['classes'] == README_CLASSES
    assert [tuple(c) for c in ds.metainfo['palette']] == README_PALETTE


def test_a_sequence_the_split_lacks_is_named_with_the_sequences_present():
    with pytest.raises(ValueError, match=r"\['0001TP', 'Seq05VD'\].*sequences are \['0016E5'\]"):
        build(CAMVID_ROOT, split='val', sequences=('0016E5', '0001TP', 'Seq05VD'))


def test_base_config_reads_camvid_dataset_and_builds_training_crops(monkeypatch):
    monkeypatch.delenv('CAMVID_DATASET', raising=False)
    assert Config.fromfile(BASE_CONFIG).train_dataloader.dataset.data_root == 'data/camvid'
    monkeypatch.setenv('CAMVID_DATASET', CAMVID_ROOT)
    cfg = Config.fromfile(BASE_CONFIG)
    assert cfg.val_dataloader.dataset.data_root == CAMVID_ROOT
    assert cfg.val_evaluator == dict(type='IoUMetric', iou_metrics=['mIoU', 'mDice'])
    train = DATASETS.build(cfg.train_dataloader.dataset)
    assert len(train) == 367
    sample = train[0]
    assert sample['inputs'].shape == (3, 256, 256) and gt(sample).shape == (256, 256)
    assert set(np.unique(gt(sample))) <= {*range(11), 255}
    val = DATASETS.build(cfg.val_dataloader.dataset)
    assert len(val) == 101 and val[0]['inputs'].shape == (3, 360, 480)


# ---------------------------------------------------------- SegNet's release, hand-made files

def write_segnet(root, split: str, labels: dict[str, np.ndarray]) -> None:
    for frame, label in labels.items():
        for folder, array in ((split, np.zeros((*label.shape, 3), np.uint8)),
                              (f'{split}annot', label)):
            os.makedirs(root / folder, exist_ok=True)
            Image.fromarray(array).save(root / folder / f'{frame}.png')


def test_test_split_of_another_root_reads_void_as_ignore(tmp_path):
    label = np.array([[0, 5, 10], [11, 3, 11]], np.uint8)
    write_segnet(tmp_path, 'test', {'Seq05VD_f00000': label, '0001TP_008550': label[::-1]})
    ds = build(tmp_path, split='test')
    assert stems(ds) == ['0001TP_008550', 'Seq05VD_f00000']
    assert np.array_equal(gt(ds[1]), [[0, 5, 10], [255, 3, 255]])


@pytest.mark.parametrize('value', [12, 200])
def test_a_label_value_outside_0_to_11_names_the_file(tmp_path, value):
    write_segnet(tmp_path, 'train', {'0006R0_f00930': np.array([[1, 11], [value, 2]], np.uint8)})
    with pytest.raises(ValueError, match=re.escape(str(tmp_path / 'trainannot' /
                                                       '0006R0_f00930.png')) +
                       rf'.* holds values \[{value}\]'):
        build(tmp_path, split='train')[0]


def test_a_missing_label_names_the_file(tmp_path):
    write_segnet(tmp_path, 'val', {'0016E5_07959': np.ones((2, 2), np.uint8),
                                   '0016E5_07961': np.ones((2, 2), np.uint8)})
    os.remove(tmp_path / 'valannot' / '0016E5_07961.png')
    with pytest.raises(FileNotFoundError,
                       match=re.escape(str(tmp_path / 'valannot' / '0016E5_07961.png'))):
        build(tmp_path, split='val')


# ------------------------------------------------------------------- the original release

def write_original(root, frames, special: tuple[str, ...] = ()) -> None:
    """Each frame a 4x8 image with a colour label: every colour for ``special`` frames, flat
    road for the others."""
    for folder in ('701_StillsRaw_full', 'LabeledApproved_full'):
        os.makedirs(root / folder, exist_ok=True)
    road = np.broadcast_to(np.array(ROAD, np.uint8), COLOUR_LABEL.shape)
    for frame in frames:
        Image.fromarray(np.full((4, 8, 3), 7, np.uint8)).save(
            root / '701_StillsRaw_full' / f'{frame}.png')
        Image.fromarray(COLOUR_LABEL if frame in special else np.ascontiguousarray(road)).save(
            root / 'LabeledApproved_full' / f'{frame}_L.png')


SPECIAL = ('0001TP_006690', '0016E5_07959', '0001TP_008550')  # the first of train, val, test


@pytest.fixture(scope='module')
def original_root(tmp_path_factory):
    """All 701 frames of the original release, and one image outside every split list."""
    root = tmp_path_factory.mktemp('camvid_original')
    write_original(root, [f for frames in split_frames().values() for f in frames], SPECIAL)
    Image.fromarray(np.zeros((4, 8, 3), np.uint8)).save(
        root / '701_StillsRaw_full' / 'extra_000001.png')  # no label: must not be listed
    return root


def test_original_release_applies_segnets_split_lists(original_root):
    for split in ('train', 'val'):  # SegNet's release holds exactly these frames
        assert stems(build(original_root, split=split)) == sorted(
            name[:-4] for name in os.listdir(osp.join(CAMVID_ROOT, split)))
    test = stems(build(original_root, split='test'))
    assert len(test) == 233 and test[0] == '0001TP_008550' and test[-1] == 'Seq05VD_f05100'
    assert Counter(s.split('_')[0] for s in test) == {'0001TP': 62, 'Seq05VD': 171}
    assert len(build(original_root, split='test', sequences='Seq05VD')) == 171


def test_original_release_maps_the_32_colours_to_the_eleven_classes(original_root):
    for split, frame in zip(('train', 'val', 'test'), SPECIAL):
        ds = build(original_root, split=split)
        assert ds.get_data_info(0)['seg_map_path'] == str(
            original_root / 'LabeledApproved_full' / f'{frame}_L.png')
        assert np.array_equal(gt(ds[0]), EXPECTED)
        assert np.array_equal(gt(ds[1]), np.full((4, 8), 3))  # road
    # Class statistics read the labels as training does.
    counts = count_label_pixels(label_files(build(original_root, split='val'))[0], 11)
    assert counts.tolist() == np.bincount(EXPECTED[EXPECTED < 11], minlength=11).tolist()


def test_an_unknown_colour_names_the_file_and_the_colour(tmp_path):
    frames = split_frames()['val']
    write_original(tmp_path, frames)
    label = tmp_path / 'LabeledApproved_full' / f'{frames[3]}_L.png'
    array = np.asarray(Image.open(label)).copy()
    array[1, 2] = (10, 20, 30)
    Image.fromarray(array).save(label)
    with pytest.raises(ValueError, match=re.escape(str(label)) + r'.*RGB \[\(10, 20, 30\)\]'):
        build(tmp_path, split='val')[3]


def test_a_listed_frame_missing_from_the_original_release_is_named(tmp_path):
    frames = split_frames()['val']
    write_original(tmp_path, frames)
    os.remove(tmp_path / '701_StillsRaw_full' / f'{frames[5]}.png')
    with pytest.raises(FileNotFoundError, match=rf"1 of the 101 frames of CamVid's val split.*"
                                                rf"{frames[5]}\.png"):
        build(tmp_path, split='val')


def test_layout_detection_names_what_it_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'holds neither val/ and valannot/ .* nor '
                                                r'701_StillsRaw_full/ and LabeledApproved_full/'):
        build(tmp_path, split='val')
    frames = split_frames()['val']
    write_original(tmp_path, frames)
    write_segnet(tmp_path, 'val', {frames[0]: np.zeros((4, 8), np.uint8)})
    with pytest.raises(ValueError, match="holds both val/.*701_StillsRaw_full/.*layout="):
        build(tmp_path, split='val')
    assert len(build(tmp_path, split='val', layout='original')) == 101
    assert len(build(tmp_path, split='val', layout='segnet')) == 1
