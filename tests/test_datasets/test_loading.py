"""Image and label loading: label mapping against cityscapesscripts, and loud failures."""
from __future__ import annotations

import re

import cv2
import numpy as np
import pytest
from cityscapesscripts.helpers.labels import labels as CS_LABELS
from PIL import Image

from cityseg.datasets import LoadCityscapesImage, LoadCityscapesLabel


def write_png(path, array: np.ndarray) -> str:
    Image.fromarray(array).save(path)
    return str(path)


def load_label(path: str, label_type: str, img: np.ndarray | None = None) -> np.ndarray:
    results = dict(img_path='img.png', seg_map_path=path, label_type=label_type)
    if img is not None:
        results['img'] = img
    return LoadCityscapesLabel()(results)['gt_seg_map']


def test_label_ids_map_to_train_ids_as_in_cityscapesscripts(tmp_path):
    # one pixel per entry of the official table; the license plate (-1) is 255 in an 8-bit PNG
    ids = np.array([lb.id % 256 for lb in CS_LABELS], np.uint8)[None]
    expected = np.array([lb.trainId if 0 <= lb.trainId < 255 else 255 for lb in CS_LABELS],
                        np.uint8)[None]
    got = load_label(write_png(tmp_path / 'x_gtFine_labelIds.png', ids), 'labelIds')
    assert got.dtype == np.uint8
    np.testing.assert_array_equal(got, expected)
    assert sorted(set(expected.ravel()) - {255}) == list(range(19))


def test_train_ids_pass_through_unchanged(tmp_path):
    train_ids = np.array([[*range(19), 255]], np.uint8)
    got = load_label(write_png(tmp_path / 'x_gtFine_labelTrainIds.png', train_ids),
                     'labelTrainIds')
    np.testing.assert_array_equal(got, train_ids)


@pytest.mark.parametrize('label_type, value', [('labelIds', 34), ('labelIds', 200),
                                               ('labelTrainIds', 19), ('labelTrainIds', 33)])
def test_value_outside_the_label_table_names_file_and_value(tmp_path, label_type, value):
    label = np.zeros((4, 6), np.uint8)
    label[2, 3] = value
    path = write_png(tmp_path / 'bad.png', label)
    with pytest.raises(ValueError, match=rf'{re.escape(path)}.*\[{value}\].*{label_type}'):
        load_label(path, label_type)


def test_rgb_label_is_refused(tmp_path):
    path = write_png(tmp_path / 'x_gtFine_color.png', np.zeros((4, 6, 3), np.uint8))
    with pytest.raises(ValueError, match=rf'{re.escape(path)} has shape \(4, 6, 3\)'):
        load_label(path, 'labelIds')


def test_16_bit_label_is_refused(tmp_path):
    path = str(tmp_path / 'x_gtFine_instanceIds.png')
    cv2.imwrite(path, np.full((4, 6), 26001, np.uint16))
    with pytest.raises(ValueError, match=rf'{re.escape(path)} is uint16'):
        load_label(path, 'labelIds')


def test_image_label_size_mismatch_names_both_files(tmp_path):
    path = write_png(tmp_path / 'lab.png', np.zeros((4, 6), np.uint8))
    with pytest.raises(ValueError, match=rf'img\.png is 6x5 but its label {re.escape(path)} '
                                         r'is 6x4'):
        load_label(path, 'labelIds', img=np.zeros((5, 6, 3), np.uint8))


@pytest.fixture
def good_png(tmp_path) -> bytes:
    rng = np.random.default_rng(0)
    write_png(tmp_path / 'good.png', rng.integers(0, 256, (32, 48, 3), np.uint8))
    return (tmp_path / 'good.png').read_bytes()


@pytest.mark.parametrize('damage', ['truncated', 'flipped byte', 'not a png'])
def test_corrupt_png_names_the_file(tmp_path, good_png, damage):
    data = {'truncated': good_png[:len(good_png) // 2],
            'flipped byte': good_png[:60] + bytes([good_png[60] ^ 0xFF]) + good_png[61:],
            'not a png': b'<html>404</html>'}[damage]
    path = tmp_path / 'broken.png'
    path.write_bytes(data)
    with pytest.raises(ValueError, match=rf'Cannot decode image {re.escape(str(path))}'):
        LoadCityscapesImage()(dict(img_path=str(path)))
    with pytest.raises(ValueError, match=rf'Cannot decode label image {re.escape(str(path))}'):
        load_label(str(path), 'labelIds')


def test_image_loads_as_bgr_uint8_with_shapes(tmp_path):
    rgb = np.zeros((5, 7, 3), np.uint8)
    rgb[..., 0] = 200  # red
    results = LoadCityscapesImage()(dict(img_path=write_png(tmp_path / 'i.png', rgb)))
    assert results['img'].dtype == np.uint8
    np.testing.assert_array_equal(results['img'], rgb[..., ::-1])
    assert results['img_shape'] == results['ori_shape'] == (5, 7)


def test_missing_image_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.png'):
        LoadCityscapesImage()(dict(img_path=str(tmp_path / 'nope.png')))


def test_zero_byte_files_name_the_file(tmp_path):
    path = tmp_path / 'empty_gtFine_labelIds.png'
    path.write_bytes(b'')
    with pytest.raises(ValueError, match=rf'Label image {re.escape(str(path))} is empty'):
        load_label(str(path), 'labelIds')
    with pytest.raises(ValueError, match=rf'Cannot decode image {re.escape(str(path))}'):
        LoadCityscapesImage()(dict(img_path=str(path)))


@pytest.mark.parametrize('fields', [{}, {'label_type': 'trainIds'}])
def test_a_sample_without_a_valid_label_type_is_refused_naming_the_rule(tmp_path, fields):
    """A user's dataset that sets no label_type once had its labels read as labelIds."""
    path = write_png(tmp_path / 'x.png', np.zeros((2, 2), np.uint8))
    with pytest.raises(ValueError, match=r"sample img\.png has label_type=.*: a dataset feeding "
                                         r"LoadCityscapesLabel gives every labelled sample a "
                                         r"label_type, one of \['labelIds', 'labelTrainIds', "
                                         r"'classIds', 'synthiaIds', 'camvidColors'\]"):
        LoadCityscapesLabel()(dict(img_path='img.png', seg_map_path=path, **fields))
