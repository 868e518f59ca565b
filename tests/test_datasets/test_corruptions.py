"""Corruptions: deterministic per (image, corruption, severity) in any process or worker, growing
with severity, image-only, and with the documented strengths (checked against numpy)."""
import hashlib
import os
import subprocess
import sys

import mmcv
import numpy as np
import pytest
import torch
from helpers.cli import ROOT, val_files
from torch.utils.data import DataLoader

from cityseg.datasets import CityscapesDataset, LoadCityscapesImage, LoadCityscapesLabel
from cityseg.datasets.corruptions import CORRUPTIONS, FAMILIES, ImageCorruption, corrupt
from cityseg.registry import TRANSFORMS


@pytest.fixture(scope='module')
def image_rgb(synthetic_root) -> np.ndarray:
    return mmcv.imread(val_files(synthetic_root)[0], channel_order='rgb')


def test_table_covers_the_four_families():
    """Noise, blur, weather and digital, each with at least the issue's corruptions."""
    by_family = {f: {n for n, c in CORRUPTIONS.items() if c.family == f} for f in FAMILIES}
    assert {'gaussian_noise', 'shot_noise', 'impulse_noise'} <= by_family['noise']
    assert {'defocus_blur', 'motion_blur', 'gaussian_blur'} <= by_family['blur']
    assert by_family['blur'] & {'zoom_blur', 'glass_blur'}
    assert {'fog', 'snow', 'spatter'} <= by_family['weather']
    assert by_family['weather'] & {'frost', 'rain'}
    assert {'brightness', 'contrast', 'jpeg_compression', 'pixelate'} <= by_family['digital']
    assert all(len(c.levels) == 5 for c in CORRUPTIONS.values())


@pytest.mark.parametrize('name', list(CORRUPTIONS))
def test_deterministic_and_severity_grows(image_rgb, name):
    """Same image, corruption and severity -> identical pixels (fresh transform each call);
    severity 5 moves the image further (mean absolute difference) than severity 1."""
    mild = corrupt(image_rgb, name, 1, 'a_leftImg8bit.png')
    severe = corrupt(image_rgb, name, 5, 'a_leftImg8bit.png')
    assert mild.shape == severe.shape == image_rgb.shape and severe.dtype == np.uint8
    np.testing.assert_array_equal(corrupt(image_rgb, name, 5, 'a_leftImg8bit.png'), severe)
    reference = image_rgb.astype(np.float64)
    mad = [np.abs(x.astype(np.float64) - reference).mean() for x in (mild, severe)]
    assert 0 < mad[0] < mad[1], mad


def test_random_part_depends_on_the_image_name(image_rgb):
    """The seed comes from the file name: another name draws other noise."""
    a = corrupt(image_rgb, 'gaussian_noise', 3, 'a_leftImg8bit.png')
    b = corrupt(image_rgb, 'gaussian_noise', 3, 'b_leftImg8bit.png')
    assert not np.array_equal(a, b)


@pytest.mark.integration
def test_same_pixels_in_another_interpreter(image_rgb):
    """A new interpreter with another str-hash salt (PYTHONHASHSEED) gives the same bytes:
    the seed does not come from Python's hash()."""
    names = ['gaussian_noise', 'motion_blur', 'rain', 'spatter']
    here = {n: hashlib.sha256(corrupt(image_rgb, n, 4, 'x.png').tobytes()).hexdigest()
            for n in names}
    np.save(path := os.path.join(os.environ.get('TMPDIR', '/tmp'), f'img_{os.getpid()}.npy'),
            image_rgb)
    code = ('import hashlib, sys, numpy as np\n'
            'from cityseg.datasets.corruptions import corrupt\n'
            'img = np.load(sys.argv[1])\n'
            'for n in sys.argv[2:]:\n'
            "    print(n, hashlib.sha256(corrupt(img, n, 4, 'x.png').tobytes()).hexdigest())\n")
    try:
        for salt in ('1', '2'):
            out = subprocess.run([sys.executable, '-c', code, path, *names], cwd=ROOT,
                                 capture_output=True, text=True, check=True,
                                 env={**os.environ, 'PYTHONHASHSEED': salt}).stdout
            assert dict(line.split() for line in out.splitlines()) == here
    finally:
        os.remove(path)


def _corrupted_images(root: str, num_workers: int) -> list[np.ndarray]:
    dataset = CityscapesDataset(data_root=root, split='train', pipeline=[
        dict(type='LoadCityscapesImage'),
        dict(type='ImageCorruption', corruption='shot_noise', severity=3)])
    loader = DataLoader(dataset, batch_size=1, num_workers=num_workers,
                        collate_fn=lambda batch: batch[0]['img'])
    return list(loader)


def test_same_pixels_whatever_the_worker_count(synthetic_root):
    """0 and 2 DataLoader workers (other processes, other torch seeds) give identical images."""
    torch.manual_seed(0)
    inline = _corrupted_images(synthetic_root, 0)
    torch.manual_seed(1)
    workers = _corrupted_images(synthetic_root, 2)
    assert len(inline) == len(workers) == 4
    for a, b in zip(inline, workers):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(inline[0], inline[1])


def test_transform_changes_only_the_image_in_bgr(synthetic_root):
    """ImageCorruption works on mmcv's BGR image as `corrupt` does on RGB (snow is computed in
    HLS, so the channel order matters), and leaves label and shapes alone."""
    path = val_files(synthetic_root)[0]
    label_path = val_files(synthetic_root, 'gtFine')
    label_path = [p for p in label_path if p.endswith('_labelIds.png')][0]
    results = LoadCityscapesImage()(dict(img_path=path))
    results = LoadCityscapesLabel()({**results, 'seg_map_path': label_path,
                                      'label_type': 'labelIds'})
    bgr, label = results['img'].copy(), results['gt_seg_map'].copy()
    out = TRANSFORMS.build(dict(type='ImageCorruption', corruption='snow', severity=2))(results)
    key = os.path.basename(path)
    expected = corrupt(bgr[..., ::-1], 'snow', 2, key)[..., ::-1]
    np.testing.assert_array_equal(out['img'], expected)
    assert not np.array_equal(out['img'], corrupt(bgr, 'snow', 2, key))  # order matters
    np.testing.assert_array_equal(out['gt_seg_map'], label)
    assert out['img_shape'] == bgr.shape[:2] and out['img'].shape == bgr.shape


def test_brightness_and_contrast_strengths_match_numpy(image_rgb):
    """Severity 1 of brightness adds 0.1 * 255 to every channel (ImageNet-C adds 0.1 to HSV
    value); severity 1 of contrast is (x - mean) * 0.4 + mean with the whole image's mean
    (ImageNet-C's factor, its mean per channel), computed here with numpy (LUT rounding:
    within 1)."""
    x = image_rgb.astype(np.float64)
    bright = np.clip(x + 0.1 * 255, 0, 255)
    got = corrupt(image_rgb, 'brightness', 1, 'k').astype(np.float64)
    assert np.abs(got - bright).max() <= 1
    contrast = np.clip((x - x.mean()) * 0.4 + x.mean(), 0, 255)
    got = corrupt(image_rgb, 'contrast', 1, 'k').astype(np.float64)
    assert np.abs(got - contrast).max() <= 1


@pytest.mark.parametrize('kwargs, message', [
    (dict(corruption='frostt', severity=1), "unknown corruption 'frostt'"),
    (dict(corruption='fog', severity=6), 'fog: severity 6 is not one of'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        ImageCorruption(**kwargs)
