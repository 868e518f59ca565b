"""``confusion_matrix`` agrees with numpy's 2-D histogram on any map (smooth or noisy, sizes
of any parity, non-contiguous views) and rejects values that are neither a class nor void."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers.label_maps import histogram_reference

from cityseg.evaluation.confusion import confusion_matrix

C = 19
VOID = 255


def _scene(rng: np.random.Generator, h: int = 96, w: int = 160, noise: float = 0.0,
           block: int = 16):
    """A (pred, gt) uint8 pair of ``block``-sized squares of random classes, with void,
    rectangles of prediction errors and a ``noise`` fraction of random predictions."""
    cells = rng.integers(0, C, (h // block + 1, w // block + 1))
    gt = np.repeat(np.repeat(cells, block, 0), block, 1)[:h, :w].astype(np.uint8)
    gt[rng.integers(0, h // 2):, :rng.integers(1, w // 4)] = VOID
    pred = np.where(gt == VOID, 0, gt).astype(np.uint8)
    for _ in range(10):
        y, x = rng.integers(0, h), rng.integers(0, w)
        pred[y:y + rng.integers(2, 20), x:x + rng.integers(2, 30)] = rng.integers(C)
    noisy = rng.random((h, w)) < noise
    pred[noisy] = rng.integers(0, C, int(noisy.sum()))
    return pred, gt


@pytest.mark.parametrize('noise', [0.0, 0.3])
@pytest.mark.parametrize('shape', [(96, 160), (37, 71)])  # 71 * 37 pixels: odd sizes
def test_matches_the_reference(noise, shape):
    rng = np.random.default_rng(3)
    for _ in range(3):
        pred, gt = _scene(rng, *shape, noise=noise)
        conf = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(gt), C)
        assert conf.dtype == torch.int64
        assert conf.numpy().tolist() == histogram_reference(pred, gt).tolist()


def test_constant_map():
    pred = torch.full((1, 7, 5), 4, dtype=torch.uint8)
    conf = confusion_matrix(pred, pred.clone(), C)
    assert conf[4, 4] == 35 and conf.sum() == 35


def test_non_contiguous_maps():
    pred, gt = _scene(np.random.default_rng(5), noise=0.05)
    conf = confusion_matrix(torch.from_numpy(pred).t(), torch.from_numpy(gt).t(), C)
    assert conf.numpy().tolist() == histogram_reference(pred, gt).tolist()


def test_ignore_index_inside_the_class_range():
    pred, gt = _scene(np.random.default_rng(6))
    gt[gt == VOID] = 3  # class 3 is now the void label and is counted nowhere
    conf = confusion_matrix(torch.from_numpy(pred), torch.from_numpy(gt), C, ignore_index=3)
    assert conf.numpy().tolist() == histogram_reference(pred, gt, ignore_index=3).tolist()
    assert conf[3].sum() == 0


@pytest.mark.parametrize('which, value, message', [
    ('pred', C, r'predictions must lie in \[0, 19\), found values in \[0, 19\]'),
    ('pred', 200, r'found values in \[0, 200\]'),
    ('gt', C, r'ground truth contains values \[19\]'),
    ('gt', 254, r'ground truth contains values \[254\]'),
])
def test_out_of_range_values_raise(which, value, message):
    pred, gt = _scene(np.random.default_rng(7))
    (pred if which == 'pred' else gt)[40, 17:19] = value
    with pytest.raises(ValueError, match=message):
        confusion_matrix(torch.from_numpy(pred), torch.from_numpy(gt), C)


def test_void_must_be_the_ignore_index():
    # With ignore_index=254, the 255 pixels of a uint8 ground truth are invalid, not void.
    pred, gt = _scene(np.random.default_rng(8))
    with pytest.raises(ValueError, match=r'\[255\].*ignore_index=254'):
        confusion_matrix(torch.from_numpy(pred), torch.from_numpy(gt), C, ignore_index=254)


def test_empty_maps_count_nothing():
    empty = torch.zeros(1, 0, 4, dtype=torch.uint8)
    assert confusion_matrix(empty, empty, C).tolist() == [[0] * C] * C
