"""Styled synthetic data (a target domain): the same labels as 'day', another look."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cityseg.datasets.synthetic import MARKER_NAME, generate_synthetic_cityscapes

REPO = Path(__file__).resolve().parents[2]
ARGS = dict(num_train=2, num_val=1, num_test=1, size=(128, 64), seed=3)


@pytest.fixture(scope='module')
def roots(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp('styles')
    return {style: generate_synthetic_cityscapes(base / style, style=style, **ARGS)
            for style in ('day', 'night', 'fog')}


def _files(root: Path, kind: str) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes()
            for p in sorted((root / kind).rglob('*')) if p.is_file()}


def _images(root: Path) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p), dtype=np.float32)
                     for p in sorted((root / 'leftImg8bit').rglob('*.png'))])


@pytest.mark.parametrize('style', ['night', 'fog'])
def test_labels_identical_look_differs(roots, style):
    assert _files(roots[style], 'gtFine') == _files(roots['day'], 'gtFine')
    day, styled = _images(roots['day']), _images(roots[style])
    assert day.shape == styled.shape
    assert np.abs(day - styled).mean() > 20
    if style == 'night':
        assert styled.mean() < 0.6 * day.mean()
    else:  # fog: washed out
        assert styled.std() < 0.7 * day.std()


def test_marker_names_style_and_day_unchanged(roots):
    assert json.loads((roots['night'] / MARKER_NAME).read_text())['style'] == 'night'
    assert 'style' not in json.loads((roots['day'] / MARKER_NAME).read_text())


def test_unknown_style_named(tmp_path):
    with pytest.raises(ValueError, match="'dusk'.*night"):
        generate_synthetic_cityscapes(tmp_path / 'x', style='dusk', **ARGS)


@pytest.mark.integration
def test_cli_style_flag(tmp_path):
    out = tmp_path / 'cli'
    subprocess.run([sys.executable, 'tools/make_synthetic_cityscapes.py', '--out', str(out),
                    '--num-train', '1', '--num-val', '0', '--num-test', '0', '--size', '64x32',
                    '--style', 'fog'], cwd=REPO, check=True, capture_output=True)
    assert json.loads((out / MARKER_NAME).read_text())['style'] == 'fog'
