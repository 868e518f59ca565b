"""Image corruptions at five severities, after Cityscapes-C (Kamann & Rother, CVPR 2020), which
applies ImageNet-C's corruptions (Hendrycks & Dietterich, ICLR 2019) to street scenes.

Every corruption is an albumentations transform whose random ranges are pinned to one value per
severity, so a severity is a fixed strength: what stays random (noise samples, a blur's angle,
where drops fall) is drawn from a generator seeded by a stable hash of (image file name,
corruption, severity). The same image at the same corruption and severity therefore gets the
same pixels in any process, worker or rank, and ``tools/analysis_tools/robustness.py`` results
are reproducible.

``CORRUPTIONS`` is the one severity table. Where albumentations' parameter has ImageNet-C's
meaning, ImageNet-C's five values are used (noise, defocus, zoom and Gaussian blur, spatter,
contrast, JPEG quality, pixelation; spatter's mud intensity 1.5 is capped at albumentations'
maximum, 1); fog, snow, rain and motion blur are parametrised differently there, so their levels
are chosen to grow steadily from visible to severe.
"""
from __future__ import annotations

import os.path as osp
import random
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import albumentations as A
import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from cityseg.registry import TRANSFORMS

SEVERITIES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Corruption:
    """One corruption: its family, a factory from a severity's parameter to an albumentations
    transform (``p=1``) and the five parameters, severity 1 first."""

    family: str
    make: Callable[[Any], A.BasicTransform]
    levels: tuple


def _gauss_noise(std: float) -> A.BasicTransform:
    # std as a fraction of 255, per channel (ImageNet-C: 0.08 ... 0.38).
    return A.GaussNoise(std_range=(std, std), per_channel=True, p=1)


def _shot_noise(scale: float) -> A.BasicTransform:
    # Poisson noise of variance scale * intensity; ImageNet-C's photon counts 60 ... 3 as 1/scale.
    return A.ShotNoise(scale_range=(scale, scale), p=1)


def _impulse_noise(amount: float) -> A.BasicTransform:
    # Share of pixels set to 0 or 255, half each (ImageNet-C: 0.03 ... 0.27).
    return A.SaltAndPepper(amount=(amount, amount), salt_vs_pepper=(0.5, 0.5), p=1)


def _defocus_blur(radius_alias: tuple[int, float]) -> A.BasicTransform:
    # Disc kernel radius in pixels and the Gaussian smoothing of its edge (ImageNet-C's).
    radius, alias = radius_alias
    return A.Defocus(radius=(radius, radius), alias_blur=(alias, alias), p=1)


def _motion_blur(length: int) -> A.BasicTransform:
    # A centred streak `length` pixels long (odd) in a random direction.
    return A.MotionBlur(blur_limit=(length, length), allow_shifted=False, angle_range=(0, 360),
                        direction_range=(0.0, 0.0), p=1)


def _zoom_blur(max_step: tuple[float, float]) -> A.BasicTransform:
    # Average of zooms 1, 1 + step, ... < max (ImageNet-C's ranges).
    max_factor, step = max_step
    return A.ZoomBlur(max_factor=(max_factor, max_factor), step_factor=(step, step), p=1)


def _gaussian_blur(sigma: float) -> A.BasicTransform:
    # sigma in pixels; the kernel size follows from it (ImageNet-C: 1 ... 6).
    return A.GaussianBlur(blur_limit=0, sigma_limit=(sigma, sigma), p=1)


def _fog(coef: float) -> A.BasicTransform:
    # Fog density: the share and opacity of the fog blobs albumentations draws.
    return A.RandomFog(fog_coef_range=(coef, coef), alpha_coef=0.08, p=1)


def _snow(points: float) -> A.BasicTransform:
    # Share of the image bleached to snow (albumentations' 'bleach' method).
    return A.RandomSnow(snow_point_range=(points, points), brightness_coeff=2.5,
                        method='bleach', p=1)


def _rain(level: tuple[str, float, int]) -> A.BasicTransform:
    # Drop count (rain_type: drizzle H/4, default H/3, heavy H, torrential 2H drops for an image
    # H pixels high), darkening and blur; drops are H/8 long, slanted within +-10 degrees.
    rain_type, brightness, blur = level
    return A.RandomRain(slant_range=(-10, 10), rain_type=rain_type,
                        brightness_coefficient=brightness, blur_value=blur, p=1)


def _spatter(level: tuple[float, float, float, float, float, str]) -> A.BasicTransform:
    # ImageNet-C's spatter (mean, std, gauss_sigma, cutout_threshold, intensity, mode); its
    # mud intensities 1.5 become 0.8 and 1.0 (albumentations allows at most 1).
    mean, std, sigma, threshold, intensity, mode = level
    return A.Spatter(mean=(mean, mean), std=(std, std), gauss_sigma=(sigma, sigma),
                     cutout_threshold=(threshold, threshold), intensity=(intensity, intensity),
                     mode=mode, p=1)


def _brightness(delta: float) -> A.BasicTransform:
    # delta * 255 added to every channel (ImageNet-C adds 0.1 ... 0.5 to HSV value).
    return A.RandomBrightnessContrast(brightness_limit=(delta, delta), contrast_limit=(0, 0),
                                      p=1)


def _contrast(factor: float) -> A.BasicTransform:
    # (x - mean) * factor + mean with ImageNet-C's factors: alpha = factor,
    # beta = (1 - factor) * mean. The mean is the whole image's (ImageNet-C: each channel's).
    return A.RandomBrightnessContrast(contrast_limit=(factor - 1, factor - 1),
                                      brightness_limit=(1 - factor, 1 - factor),
                                      brightness_by_max=False, p=1)


def _jpeg(quality: int) -> A.BasicTransform:
    # JPEG quality (ImageNet-C: 25 ... 7).
    return A.ImageCompression(compression_type='jpeg', quality_range=(quality, quality), p=1)


def _pixelate(scale: float) -> A.BasicTransform:
    # Box-downscale to `scale` of the size and back up with nearest (ImageNet-C: 0.6 ... 0.25).
    return A.Downscale(scale_range=(scale, scale), p=1, interpolation_pair=dict(
        downscale=cv2.INTER_AREA, upscale=cv2.INTER_NEAREST))


CORRUPTIONS: dict[str, Corruption] = {
    'gaussian_noise': Corruption('noise', _gauss_noise, (0.08, 0.12, 0.18, 0.26, 0.38)),
    'shot_noise': Corruption('noise', _shot_noise, (1 / 60, 1 / 25, 1 / 12, 1 / 5, 1 / 3)),
    'impulse_noise': Corruption('noise', _impulse_noise, (0.03, 0.06, 0.09, 0.17, 0.27)),
    'defocus_blur': Corruption('blur', _defocus_blur,
                               ((3, 0.1), (4, 0.5), (6, 0.5), (8, 0.5), (10, 0.5))),
    'motion_blur': Corruption('blur', _motion_blur, (7, 11, 15, 21, 27)),
    'zoom_blur': Corruption('blur', _zoom_blur,
                            ((1.11, 0.01), (1.16, 0.01), (1.21, 0.02), (1.26, 0.02),
                             (1.31, 0.03))),
    'gaussian_blur': Corruption('blur', _gaussian_blur, (1, 2, 3, 4, 6)),
    'fog': Corruption('weather', _fog, (0.2, 0.35, 0.5, 0.65, 0.8)),
    'snow': Corruption('weather', _snow, (0.1, 0.2, 0.3, 0.4, 0.5)),
    'rain': Corruption('weather', _rain,
                       (('drizzle', 0.9, 3), ('default', 0.85, 3), ('heavy', 0.8, 5),
                        ('heavy', 0.7, 7), ('torrential', 0.6, 7))),
    'spatter': Corruption('weather', _spatter,
                          ((0.65, 0.3, 4, 0.69, 0.6, 'rain'), (0.65, 0.3, 3, 0.68, 0.6, 'rain'),
                           (0.65, 0.3, 2, 0.68, 0.5, 'rain'), (0.65, 0.3, 1, 0.65, 0.8, 'mud'),
                           (0.67, 0.4, 1, 0.65, 1.0, 'mud'))),
    'brightness': Corruption('digital', _brightness, (0.1, 0.2, 0.3, 0.4, 0.5)),
    'contrast': Corruption('digital', _contrast, (0.4, 0.3, 0.2, 0.1, 0.05)),
    'jpeg_compression': Corruption('digital', _jpeg, (25, 18, 15, 10, 7)),
    'pixelate': Corruption('digital', _pixelate, (0.6, 0.5, 0.4, 0.3, 0.25)),
}
FAMILIES = ('noise', 'blur', 'weather', 'digital')


def check_corruption(corruption: str, severity: int) -> None:
    """Raise ``ValueError`` naming the unknown corruption or the out-of-range severity."""
    if corruption not in CORRUPTIONS:
        raise ValueError(f'unknown corruption {corruption!r}; known: {", ".join(CORRUPTIONS)}')
    if severity not in SEVERITIES:
        raise ValueError(f'{corruption}: severity {severity!r} is not one of {SEVERITIES}')


def corruption_seed(key: str, corruption: str, severity: int) -> int:
    """A 32-bit seed from ``key`` (an image file name), the corruption and the severity.

    crc32 of the bytes is the same in every process; Python's ``hash()`` of a str is salted
    per interpreter, so workers and ranks would disagree.
    """
    return zlib.crc32(f'{key}|{corruption}|{severity}'.encode())


def corrupt(image_rgb: np.ndarray, corruption: str, severity: int, key: str) -> np.ndarray:
    """``image_rgb`` (H, W, 3 uint8) under ``corruption`` at ``severity``, seeded by ``key``."""
    check_corruption(corruption, severity)
    spec = CORRUPTIONS[corruption]
    transform = spec.make(spec.levels[severity - 1])
    seed = corruption_seed(key, corruption, severity)
    transform.set_random_state(np.random.default_rng(seed), random.Random(seed))
    return transform(image=np.ascontiguousarray(image_rgb))['image']


@TRANSFORMS.register_module()
class ImageCorruption(BaseTransform):
    """Corrupt ``results['img']`` (BGR uint8, as loaded) with one corruption at one severity.

    Only the image changes: labels, shapes and metadata stay, so evaluation stays at full label
    resolution. The seed comes from the image's file name (not its path, so the same picture
    under another data root is corrupted identically), the corruption and the severity.
    Not ``cacheable``: the decoded-sample cache keeps serving the loading steps before it.

    Args:
        corruption: a key of :data:`CORRUPTIONS`.
        severity: 1 (mild) ... 5 (severe).
    """

    def __init__(self, corruption: str, severity: int) -> None:
        check_corruption(corruption, severity)
        self.corruption = corruption
        self.severity = severity

    def transform(self, results: dict) -> dict:
        key = osp.basename(results['img_path'])
        image = corrupt(results['img'][..., ::-1], self.corruption, self.severity, key)
        results['img'] = np.ascontiguousarray(image[..., ::-1])
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(corruption={self.corruption!r}, '
                f'severity={self.severity})')
