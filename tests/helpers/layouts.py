"""Tiny trees in the layouts of ACDC, Dark Zurich, BDD100K and Cityscapes, written from the
session's synthetic Cityscapes-layout split (its images and labelTrainIds files).

Each writer returns the ``(image, label)`` paths it wrote, in the order the dataset lists them.
"""
from __future__ import annotations

import glob
import os.path as osp
import shutil
from pathlib import Path

import cv2


def cityscapes_pairs(cs_root: str, split: str = 'val') -> list[tuple[str, str, str, str]]:
    """``(city, stem, image, labelTrainIds)`` of a Cityscapes-layout split, sorted."""
    pairs = []
    for img in sorted(glob.glob(osp.join(cs_root, 'leftImg8bit', split, '*', '*.png'))):
        city = osp.basename(osp.dirname(img))
        stem = osp.basename(img)[:-len('_leftImg8bit.png')]
        pairs.append((city, stem, img, osp.join(cs_root, 'gtFine', split, city,
                                                f'{stem}_gtFine_labelTrainIds.png')))
    return pairs


def _put(src: str, dst: Path) -> str:
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    return str(dst)


def write_acdc(cs_root: str, out: Path, conditions: tuple[str, ...] = ('fog', 'night'),
               split: str = 'val') -> list[tuple[str, str]]:
    """The split's images dealt round-robin to ``conditions`` (city = sequence folder)."""
    written = {c: [] for c in conditions}
    for i, (city, stem, img, label) in enumerate(cityscapes_pairs(cs_root)):
        cond = conditions[i % len(conditions)]
        written[cond].append((
            _put(img, out / 'rgb_anon' / cond / split / city / f'{stem}_rgb_anon.png'),
            _put(label, out / 'gt' / cond / split / city / f'{stem}_gt_labelTrainIds.png')))
    return [pair for cond in conditions for pair in sorted(written[cond])]


def write_dark_zurich(cs_root: str, out: Path) -> list[tuple[str, str]]:
    return sorted(
        (_put(img, out / 'rgb_anon' / 'val' / 'night' / city / f'{stem}_rgb_anon.png'),
         _put(label, out / 'gt' / 'val' / 'night' / city / f'{stem}_gt_labelTrainIds.png'))
        for city, stem, img, label in cityscapes_pairs(cs_root))


def write_bdd100k(cs_root: str, out: Path) -> list[tuple[str, str]]:
    """JPEG images (as BDD100K ships them) and PNG labels, flat in the split folder."""
    written = []
    for _, stem, img, label in cityscapes_pairs(cs_root):
        jpg = out / 'images' / '10k' / 'val' / f'{stem}.jpg'
        jpg.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(jpg), cv2.imread(img))
        written.append((str(jpg), _put(label, out / 'labels' / 'sem_seg' / 'masks' / 'val' /
                                       f'{stem}.png')))
    return sorted(written)


def write_cityscapes_from(images_and_labels: list[tuple[str, str]], out: Path,
                          city: str = 'frankfurt') -> None:
    """A Cityscapes val split (images as PNG, labelTrainIds) holding exactly these images,
    decoded as the loader decodes them: the reference the other layouts must reproduce."""
    for i, (img, label) in enumerate(images_and_labels):
        stem = f'{city}_{i:06d}_000019'
        png = out / 'leftImg8bit' / 'val' / city / f'{stem}_leftImg8bit.png'
        png.parent.mkdir(parents=True, exist_ok=True)
        assert cv2.imwrite(str(png), cv2.imread(img))
        _put(label, out / 'gtFine' / 'val' / city / f'{stem}_gtFine_labelTrainIds.png')
