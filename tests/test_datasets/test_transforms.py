"""Albu, ResizeByRatio and PackSegInputs: label values, alignment, fills, seeding, resizing."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, Dataset

from cityseg.datasets import Albu, PackSegInputs, ResizeByRatio

NEAREST = cv2.INTER_NEAREST
# Geometric transforms at p=1, each with nearest image interpolation so that the colour of
# every output pixel must still encode the label of the same pixel.
GEOMETRIC = {
    'RandomCrop+pad': dict(type='RandomCrop', height=96, width=160, pad_if_needed=True),
    'CenterCrop+pad': dict(type='CenterCrop', height=40, width=200, pad_if_needed=True),
    'HorizontalFlip': dict(type='HorizontalFlip', p=1),
    'RandomScale': dict(type='RandomScale', scale_limit=(-0.5, 1.0), p=1,
                        interpolation=NEAREST),
    'ShiftScaleRotate': dict(type='ShiftScaleRotate', shift_limit=0.1, scale_limit=0.2,
                             rotate_limit=30, p=1, interpolation=NEAREST),
    'Affine': dict(type='Affine', scale=(0.7, 1.3), rotate=(-20, 20), shear=(-10, 10), p=1,
                   interpolation=NEAREST),
    'Rotate': dict(type='Rotate', limit=45, p=1, interpolation=NEAREST),
    'Perspective': dict(type='Perspective', scale=(0.05, 0.15), p=1, interpolation=NEAREST),
    'ElasticTransform': dict(type='ElasticTransform', alpha=30, sigma=5, p=1,
                             interpolation=NEAREST),
    'GridDistortion': dict(type='GridDistortion', p=1, interpolation=NEAREST),
    'RandomResizedCrop': dict(type='RandomResizedCrop', size=(64, 96), p=1,
                              interpolation=NEAREST),
    'OneOf': dict(type='OneOf', p=1, transforms=[
        dict(type='SafeRotate', limit=30, p=1, interpolation=NEAREST),
        dict(type='Transpose', p=1)]),
}


def colour_coded_sample(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A 64x128 train-id map of 8x8 blocks (every class, no void) and an image whose colour is
    a function of the label: (id + 1) * (10, 3, 7), so black (0) is never a class."""
    rng = np.random.default_rng(seed)
    blocks = rng.permutation(np.resize(np.arange(19), 8 * 16)).reshape(8, 16)
    label = np.kron(blocks, np.ones((8, 8), np.int64)).astype(np.uint8)
    return encode(label), label


def encode(label: np.ndarray) -> np.ndarray:
    return ((label.astype(np.int64)[..., None] + 1) * np.array([10, 3, 7])).astype(np.uint8)


def apply(albu: Albu, img: np.ndarray, label: np.ndarray) -> dict:
    return albu(dict(img=img.copy(), gt_seg_map=label.copy()))


@pytest.mark.parametrize('name', GEOMETRIC)
def test_geometric_transforms_keep_image_and_label_aligned(name):
    torch.manual_seed(0)
    albu = Albu([GEOMETRIC[name]])
    for seed in range(3):
        img, label = colour_coded_sample(seed)
        out = apply(albu, img, label)
        img_out, lab_out = out['img'], out['gt_seg_map']
        assert img_out.shape[:2] == lab_out.shape == out['img_shape']
        labelled = lab_out != 255
        assert labelled.mean() > 0.3
        np.testing.assert_array_equal(img_out[labelled], encode(lab_out[labelled]))
        # fill: the image's border fill (0) where the label says ignore
        assert (img_out[~labelled] == 0).all()


@pytest.mark.parametrize('name', GEOMETRIC)
def test_label_values_stay_train_ids_with_default_interpolation(name):
    """With albumentations' default (bilinear) image interpolation and any void in the label,
    the label still only holds 0..18 and 255: nearest resampling, 255 fill."""
    cfg = {k: v for k, v in GEOMETRIC[name].items() if k != 'interpolation'}
    if 'transforms' in cfg:
        cfg['transforms'] = [{k: v for k, v in t.items() if k != 'interpolation'}
                             for t in cfg['transforms']]
    albu = Albu([cfg])
    img, label = colour_coded_sample()
    label[:8] = 255
    for _ in range(3):
        out = apply(albu, img, label)
        assert set(np.unique(out['gt_seg_map'])) <= {*range(19), 255}


def test_padding_fills_the_label_with_ignore():
    img, label = np.full((30, 40, 3), 9, np.uint8), np.full((30, 40), 7, np.uint8)
    out = apply(Albu([dict(type='RandomCrop', height=64, width=64, pad_if_needed=True)]),
                img, label)
    assert out['gt_seg_map'].shape == (64, 64)
    assert (out['gt_seg_map'] == 255).sum() == 64 * 64 - 30 * 40
    assert (out['gt_seg_map'] == 7).sum() == 30 * 40
    assert (out['img'][out['gt_seg_map'] == 7] == 9).all()


def test_padding_of_an_unlabelled_image_is_marked_and_packed():
    # without a label the padding is the ignore_mask's: later Albu steps (a strong view's
    # colours) keep it, and PackSegInputs packs it for the self-training teacher to skip
    img = np.full((30, 40, 3), 9, np.uint8)
    out = Albu([dict(type='RandomCrop', height=64, width=64, pad_if_needed=True)])(dict(img=img))
    own = (out['img'] == 9).all(-1)  # the pad is black
    assert own.sum() == 30 * 40
    np.testing.assert_array_equal(out['ignore_mask'], np.where(own, 0, 255))
    strong = Albu([dict(type='ToGray', p=1), dict(type='InvertImg', p=1)])(dict(out))
    np.testing.assert_array_equal(strong['ignore_mask'], out['ignore_mask'])
    packed = PackSegInputs()(out)['data_samples']
    assert 'gt_sem_seg' not in packed
    assert torch.equal(packed.ignore_mask.data[0], torch.from_numpy(out['ignore_mask']))
    # a pipeline that pads labels with 0 (a class, not ignore) still marks it
    for seg_fill in (0, 1):
        zero_fill = Albu([dict(type='RandomCrop', height=64, width=64, pad_if_needed=True)],
                         seg_fill=seg_fill)(dict(img=img))
        own = (zero_fill['img'] == 9).all(-1)
        np.testing.assert_array_equal(zero_fill['ignore_mask'], np.where(own, 0, 255))
        again = Albu([dict(type='HorizontalFlip', p=1)], seg_fill=seg_fill)(dict(zero_fill))
        np.testing.assert_array_equal(again['ignore_mask'], zero_fill['ignore_mask'][:, ::-1])
    # a labelled image marks its padding in the label alone
    labelled = apply(Albu([dict(type='RandomCrop', height=64, width=64, pad_if_needed=True)]),
                     img, np.zeros((30, 40), np.uint8))
    assert 'ignore_mask' not in labelled


def test_coarse_dropout_leaves_the_label_alone():
    img, label = colour_coded_sample()
    out = apply(Albu([dict(type='CoarseDropout', num_holes_range=(4, 4),
                           hole_height_range=(8, 8), hole_width_range=(8, 8), p=1)]),
                img, label)
    np.testing.assert_array_equal(out['gt_seg_map'], label)
    assert (out['img'] != img).any()


def test_photometric_transforms_leave_the_label_alone():
    img, label = colour_coded_sample()
    out = apply(Albu([dict(type='RandomBrightnessContrast', p=1),
                      dict(type='ColorJitter', p=1),
                      dict(type='GaussianBlur', p=1)]), img, label)
    np.testing.assert_array_equal(out['gt_seg_map'], label)
    assert (out['img'] != img).any()


def test_image_only_input():
    img, _ = colour_coded_sample()
    out = Albu([dict(type='HorizontalFlip', p=1)])(dict(img=img))
    np.testing.assert_array_equal(out['img'], img[:, ::-1])


@pytest.mark.parametrize('cfg, error, match', [
    (dict(type='Rotate', mask_interpolation=cv2.INTER_LINEAR), ValueError, 'nearest'),
    (dict(type='RandomCrop', height=8, width=8, pad_if_neded=True), ValueError, 'pad_if_neded'),
    (dict(type='RandomCorp', height=8, width=8), KeyError, 'RandomCorp'),
])
def test_bad_albu_configs_are_refused(cfg, error, match):
    with pytest.raises(error, match=match):
        Albu([cfg])


class _Crops(Dataset):
    """Each item: the top-left corner chosen by a random crop of one fixed image."""

    def __init__(self) -> None:
        self.albu = Albu([dict(type='RandomCrop', height=8, width=8)])
        self.img = np.repeat(np.arange(64 * 64, dtype=np.float32).reshape(64, 64, 1), 3, 2)

    def __len__(self) -> int:
        return 8

    def __getitem__(self, idx: int) -> int:
        return int(self.albu(dict(img=self.img))['img'][0, 0, 0])


def crops(num_workers: int, seed: int) -> list[int]:
    torch.manual_seed(seed)
    loader = DataLoader(_Crops(), batch_size=4, num_workers=num_workers)
    return [c for batch in loader for c in batch.tolist()]


def test_workers_draw_different_augmentations_reproducibly():
    first = crops(num_workers=2, seed=0)
    # worker 0 serves items 0-3, worker 1 items 4-7: forked copies of one generator would agree
    assert first[:4] != first[4:]
    assert crops(num_workers=2, seed=0) == first
    assert crops(num_workers=2, seed=1) != first


def test_a_pipelines_draws_do_not_depend_on_another_pipeline():
    """The labelled pipeline's crops must not move when the unlabelled one draws more views:
    that makes a method and its burn_in=max_iters run train on the same labelled batches
    (docs/semi-supervised.md, "A paired baseline")."""
    def labelled_crops(unlabelled_views: int) -> list[int]:
        torch.manual_seed(0)
        labelled, unlabelled = _Crops(), _Crops()
        drawn = []
        for index in range(8):
            drawn.append(labelled[index])
            for _ in range(unlabelled_views):
                unlabelled[index]
        return drawn

    alone = labelled_crops(0)
    assert len(set(alone)) > 1
    assert labelled_crops(1) == alone
    assert labelled_crops(2) == alone


def test_resize_by_ratio_bilinear_image_nearest_label():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (32, 48, 3), np.uint8)
    label = rng.integers(0, 19, (32, 48), np.uint8)
    out = ResizeByRatio(0.5)(dict(img=img, gt_seg_map=label))
    # halving with half-pixel centres: each output pixel is the mean of a 2x2 block
    block_mean = img.reshape(16, 2, 24, 2, 3).mean((1, 3))
    assert np.abs(out['img'].astype(float) - block_mean).max() <= 0.5 + 1e-6
    np.testing.assert_array_equal(out['gt_seg_map'], label[::2, ::2])
    assert out['img_shape'] == (16, 24)


def test_resize_by_ratio_can_keep_the_label_at_full_resolution():
    label = np.zeros((32, 48), np.uint8)
    out = ResizeByRatio(0.5, resize_label=False)(dict(img=np.zeros((32, 48, 3), np.uint8),
                                                      gt_seg_map=label))
    assert out['img'].shape == (16, 24, 3) and out['gt_seg_map'] is label


def test_resize_by_ratio_rejects_non_positive_ratio():
    with pytest.raises(ValueError, match='-0.5'):
        ResizeByRatio(-0.5)


def test_pack_seg_inputs():
    img, label = colour_coded_sample()
    packed = PackSegInputs()(dict(img=img, gt_seg_map=label, img_path='a.png', stem='a',
                                  img_shape=(64, 128), ori_shape=(64, 128)))
    assert packed['inputs'].dtype == torch.uint8
    assert torch.equal(packed['inputs'], torch.from_numpy(img).permute(2, 0, 1))
    gt = packed['data_samples'].gt_sem_seg.data
    assert gt.shape == (1, 64, 128) and torch.equal(gt[0], torch.from_numpy(label).long())
    assert packed['data_samples'].metainfo == dict(img_path='a.png', stem='a',
                                                   img_shape=(64, 128), ori_shape=(64, 128))
