"""GTA5 and SYNTHIA-RAND-CITYSCAPES, the source domains of adaptation: their layouts (as
DAFormer reads them) and label encodings (GTA5: palette PNG of Cityscapes ids; SYNTHIA: 16-bit
PNG, class id in the R channel), mapped to Cityscapes' train ids."""
from __future__ import annotations

import os
import os.path as osp

import cv2
import numpy as np
import pytest
from mmengine.config import Config
from PIL import Image

from cityseg.datasets.labels import CLASSES, PALETTE
from cityseg.registry import DATASETS

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# id -> expected train id, one row per label pixel
GTA_IDS = {7: CLASSES.index('road'), 26: CLASSES.index('car'), 0: 255, 33: CLASSES.index(
    'bicycle')}
SYNTHIA_IDS = {3: CLASSES.index('road'), 21: CLASSES.index('wall'), 13: 255,
               8: CLASSES.index('car'), 10: CLASSES.index('person')}


def _image(path: str, shape=(4, 6)) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    Image.fromarray(np.full((*shape, 3), 90, np.uint8)).save(path)


def _ids_map(ids: dict, shape=(4, 6)) -> np.ndarray:
    label = np.zeros(shape, np.uint8)
    for row, value in enumerate(ids):
        label[row % shape[0], row // shape[0]::len(ids)] = value
    return label


def _expected(label: np.ndarray, ids: dict) -> np.ndarray:
    out = np.full(label.shape, 255, np.uint8)
    for value, train_id in ids.items():
        out[label == value] = train_id
    return out


@pytest.fixture
def gta5(tmp_path) -> str:
    root = tmp_path / 'gta5'
    for stem in ('00001', '00002'):
        _image(str(root / 'images' / f'{stem}.png'))
        label = Image.fromarray(_ids_map(GTA_IDS), mode='P')
        label.putpalette([v for i in range(256) for v in (i, 255 - i, (7 * i) % 256)])
        os.makedirs(root / 'labels', exist_ok=True)
        label.save(root / 'labels' / f'{stem}.png')
    return str(root)


@pytest.fixture
def synthia(tmp_path) -> str:
    root = tmp_path / 'synthia'
    for stem in ('0000000', '0000001'):
        _image(str(root / 'RGB' / f'{stem}.png'))
        ids = _ids_map(SYNTHIA_IDS).astype(np.uint16)
        bgr = np.stack([np.full_like(ids, 7), np.full_like(ids, 300), ids], -1)  # R = class id
        os.makedirs(root / 'GT' / 'LABELS', exist_ok=True)
        cv2.imwrite(str(root / 'GT' / 'LABELS' / f'{stem}.png'), bgr)
    return str(root)


def _label(dataset, idx=0) -> np.ndarray:
    from cityseg.datasets import LoadCityscapesImage, LoadCityscapesLabel
    info = dataset.get_data_info(idx)
    return LoadCityscapesLabel()(LoadCityscapesImage()(info))['gt_seg_map']


def test_gta5_layout_and_palette_labels(gta5):
    dataset = DATASETS.build(dict(type='GTA5Dataset', data_root=gta5))
    assert [dataset.get_data_info(i)['stem'] for i in range(2)] == ['00001', '00002']
    info = dataset.get_data_info(0)
    assert info['seg_map_path'] == osp.join(gta5, 'labels', '00001.png')
    assert info['label_type'] == 'labelIds'
    np.testing.assert_array_equal(_label(dataset), _expected(_ids_map(GTA_IDS), GTA_IDS))
    assert dataset.metainfo['classes'] == CLASSES and dataset.metainfo['palette'] == PALETTE


def test_gta5_prefers_converted_train_ids(gta5):
    for stem in ('00001', '00002'):
        Image.fromarray(np.full((4, 6), 5, np.uint8)).save(
            osp.join(gta5, 'labels', f'{stem}_labelTrainIds.png'))
    dataset = DATASETS.build(dict(type='GTA5Dataset', data_root=gta5))
    assert dataset.get_data_info(0)['label_type'] == 'labelTrainIds'
    assert (_label(dataset) == 5).all()


def test_gta5_missing_label_and_split_named(gta5):
    os.remove(osp.join(gta5, 'labels', '00002.png'))
    with pytest.raises(FileNotFoundError, match=r'1 of 2 images .* labelIds .*00002\.png'):
        DATASETS.build(dict(type='GTA5Dataset', data_root=gta5))
    with pytest.raises(ValueError, match="one split, 'train'"):
        DATASETS.build(dict(type='GTA5Dataset', data_root=gta5, split='val'))


def test_synthia_16_bit_labels_and_protocols(synthia):
    dataset = DATASETS.build(dict(type='SynthiaDataset', data_root=synthia))
    assert dataset.get_data_info(0)['label_type'] == 'synthiaIds'
    np.testing.assert_array_equal(_label(dataset),
                                  _expected(_ids_map(SYNTHIA_IDS), SYNTHIA_IDS))
    assert len(dataset.metainfo['protocol_classes']) == 16
    assert len(dataset.metainfo['classes']) == 19  # combines with a Cityscapes target
    thirteen = DATASETS.build(dict(type='SynthiaDataset', data_root=synthia, protocol=13))
    assert 'wall' not in thirteen.metainfo['protocol_classes']
    assert len(thirteen.metainfo['protocol_classes']) == 13
    with pytest.raises(ValueError, match='protocol must be one of'):
        DATASETS.build(dict(type='SynthiaDataset', data_root=synthia, protocol=19))
    # a metainfo of the config's own keeps its keys beside the protocol's classes
    own = DATASETS.build(dict(type='SynthiaDataset', data_root=synthia, protocol=13,
                              metainfo=dict(source='synthia-rand')))
    assert own.metainfo['source'] == 'synthia-rand'
    assert own.metainfo['protocol_classes'] == thirteen.metainfo['protocol_classes']
    assert own.metainfo['classes'] == CLASSES


def test_synthia_id_outside_its_table_named(synthia):
    bad = osp.join(synthia, 'GT', 'LABELS', '0000000.png')
    cv2.imwrite(bad, np.full((4, 6, 3), 40, np.uint16))
    dataset = DATASETS.build(dict(type='SynthiaDataset', data_root=synthia))
    with pytest.raises(ValueError, match=r'0000000\.png holds values \[40\] that are not '
                                         'SYNTHIA class ids'):
        _label(dataset)


@pytest.mark.parametrize('name, variable, key', [
    ('gta5', 'GTA5_DATASET', 'gta5_root'), ('synthia', 'SYNTHIA_DATASET', 'synthia_root')])
def test_base_configs_read_their_environment_variable(name, variable, key, monkeypatch,
                                                      tmp_path):
    path = osp.join(REPO, 'configs', '_base_', 'datasets', f'{name}.py')
    monkeypatch.delenv(variable, raising=False)
    assert Config.fromfile(path)[key] == f'data/{name}'
    monkeypatch.setenv(variable, str(tmp_path))
    cfg = Config.fromfile(path)
    assert cfg[key] == cfg.train_dataloader.dataset.data_root == str(tmp_path)
