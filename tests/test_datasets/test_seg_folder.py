"""SegFolderDataset: your own image and label folders, classes and palette."""
from __future__ import annotations

import os.path as osp
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from cityseg.datasets import SegFolderDataset
from cityseg.datasets.loading import VALID_VALUES, class_id_tables

CLASSES = ('sea', 'sand', 'rock')
PALETTE = [(0, 0, 255), (255, 220, 0), (90, 90, 90)]


def write_tree(root, labels: dict[str, np.ndarray]) -> None:
    """``images/<name>.jpg`` and ``ann/<name>_mask.png`` for each ``name: label``."""
    rng = np.random.default_rng(0)
    for name, label in labels.items():
        for path, array in ((root / 'images' / f'{name}.jpg',
                             rng.integers(0, 256, (*label.shape, 3), dtype=np.uint8)),
                            (root / 'ann' / f'{name}_mask.png', label)):
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(array).save(path)


def folder(root, **kwargs) -> SegFolderDataset:
    args = dict(data_root=str(root), img_dir='images', ann_dir='ann', img_suffix='.jpg',
                seg_map_suffix='_mask.png', classes=CLASSES, palette=PALETTE,
                pipeline=[dict(type='LoadCityscapesImage'), dict(type='LoadCityscapesLabel'),
                          dict(type='PackSegInputs')])
    return SegFolderDataset(**{**args, **kwargs})


def label(values, shape=(6, 8)) -> np.ndarray:
    return np.resize(np.asarray(values, dtype=np.uint8), shape)


def test_pairs_recursively_and_reads_class_indices(tmp_path):
    labels = {'b/x/2': label([0, 1, 2, 255]), 'a/1': label([2, 2, 0]), 'c': label([1])}
    write_tree(tmp_path, labels)
    ds = folder(tmp_path)
    names = sorted(labels)
    assert [ds.get_data_info(i)['img_path'] for i in range(3)] == \
        [str(tmp_path / 'images' / f'{n}.jpg') for n in names]
    assert [ds.get_data_info(i)['seg_map_path'] for i in range(3)] == \
        [str(tmp_path / 'ann' / f'{n}_mask.png') for n in names]
    assert ds.get_data_info(0)['stem'] == '1'
    for i, name in enumerate(names):
        assert torch.equal(ds[i]['data_samples'].gt_sem_seg.data[0],
                           torch.from_numpy(labels[name]))


def test_jpg_matches_any_case_and_jpeg_with_their_labels(tmp_path):
    """Issue 23: with img_suffix='.jpg', .JPG and .jpeg images were dropped without a word."""
    write_tree(tmp_path, {'a': label([0]), 'b': label([1]), 'c': label([2]), 'd': label([0])})
    for old, new in (('b.jpg', 'b.JPG'), ('c.jpg', 'c.jpeg'), ('d.jpg', 'd.JPEG')):
        (tmp_path / 'images' / old).rename(tmp_path / 'images' / new)
    (tmp_path / 'images' / 'notes.txt').write_text('not an image')
    ds = folder(tmp_path)
    infos = [ds.get_data_info(i) for i in range(len(ds))]
    assert [osp.basename(i['img_path']) for i in infos] == ['a.jpg', 'b.JPG', 'c.jpeg', 'd.JPEG']
    assert [i['stem'] for i in infos] == ['a', 'b', 'c', 'd']
    assert [osp.basename(i['seg_map_path']) for i in infos] == [
        f'{n}_mask.png' for n in 'abcd']
    assert [int(ds[i]['data_samples'].gt_sem_seg.data[0, 0, 0]) for i in range(4)] == [0, 1, 2, 0]


def test_images_differing_only_in_suffix_spelling_are_refused(tmp_path):
    write_tree(tmp_path, {'a': label([0])})
    shutil.copyfile(tmp_path / 'images' / 'a.jpg', tmp_path / 'images' / 'a.JPG')
    with pytest.raises(ValueError, match=r'a.JPG and .*a.jpg differ only in their suffix'):
        folder(tmp_path)


def test_metainfo_carries_the_classes_and_palette(tmp_path):
    write_tree(tmp_path, {'a': label([0])})
    meta = folder(tmp_path).metainfo
    assert meta['classes'] == CLASSES
    assert [tuple(c) for c in meta['palette']] == PALETTE


def test_label_map_and_ignore_index(tmp_path):
    # Files where 0 is void and classes are stored as 1..3; 7 marks void too (ignore_index).
    raw = label([0, 1, 2, 3, 7, 3, 1])
    write_tree(tmp_path, {'a': raw})
    ds = folder(tmp_path, label_map={0: 7, 1: 0, 2: 1, 3: 2}, ignore_index=7)
    expected = np.select([raw == 0, raw == 7], [255, 255], raw.astype(np.int64) - 1)
    assert np.array_equal(ds[0]['data_samples'].gt_sem_seg.data[0].numpy(), expected)


def test_value_that_is_no_class_names_the_file(tmp_path):
    write_tree(tmp_path, {'a': label([0, 1, 3])})
    path = str(tmp_path / 'ann' / 'a_mask.png')
    with pytest.raises(ValueError, match=rf'{re.escape(path)} holds values \[3\] that are '
                                         r'not class indices 0\.\.2'):
        folder(tmp_path)[0]
    with pytest.raises(ValueError, match=r'holds values \[255\]'):  # 255 is void only if said
        write_tree(tmp_path, {'a': label([0, 255])})
        folder(tmp_path, ignore_index=0)[0]


def test_image_without_label_is_an_error_naming_it(tmp_path):
    write_tree(tmp_path, {'a': label([0]), 'b': label([1])})
    (tmp_path / 'ann' / 'b_mask.png').unlink()
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / 'ann' / 'b_mask.png'))
                       ) as err:
        folder(tmp_path)
    assert '1 of 2 images' in str(err.value)


def test_label_of_another_size_names_both_files(tmp_path):
    write_tree(tmp_path, {'a': label([0])})
    Image.fromarray(label([0], (6, 9))).save(tmp_path / 'ann' / 'a_mask.png')
    with pytest.raises(ValueError, match=r'a\.jpg is 8x6 but its label .*a_mask\.png is 9x6'):
        folder(tmp_path)[0]


def test_without_ann_dir_lists_images_only(tmp_path):
    write_tree(tmp_path, {'a': label([0])})
    ds = folder(tmp_path, ann_dir=None)
    assert 'seg_map_path' not in ds.get_data_info(0)
    assert 'gt_sem_seg' not in ds[0]['data_samples']


@pytest.mark.parametrize('kwargs,match', [
    (dict(palette=PALETTE[:2]), 'one .R, G, B. colour'),
    (dict(palette=[(0, 0, 256)] * 3), 'one .R, G, B. colour'),
    (dict(label_map={300: 1}), 'label_map must map 8-bit values'),
    (dict(ignore_index=-1), 'ignore_index must be an 8-bit value'),
    (dict(classes=[str(i) for i in range(256)], palette=[(0, 0, 0)] * 256),
     'num_classes must be in 1..255'),
    (dict(metainfo=dict(classes=CLASSES)), 'classes= and palette='),
])
def test_bad_arguments_are_refused(tmp_path, kwargs, match):
    write_tree(tmp_path, {'a': label([0])})
    with pytest.raises((ValueError, TypeError), match=match):
        folder(tmp_path, **kwargs)


def test_class_id_tables_of_19_classes_are_the_cityscapes_train_ids():
    """The classIds check of 19 classes accepts what labelTrainIds accepts, unchanged."""
    valid, lut = class_id_tables(19)
    assert np.array_equal(valid, VALID_VALUES['labelTrainIds'])
    assert np.array_equal(lut[valid], np.flatnonzero(valid))
