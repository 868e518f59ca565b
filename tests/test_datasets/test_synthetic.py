"""Tests of the synthetic Cityscapes generator against cityscapesscripts' label table and tools."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from cityscapesscripts.helpers.labels import id2label, name2label
from cityscapesscripts.preparation.json2labelImg import json2labelImg
from PIL import Image

from cityseg.datasets.labels import CLASSES, ID_TO_TRAIN_ID, PALETTE
from cityseg.datasets.synthetic import (
    MARKER_NAME,
    SPLIT_CITIES,
    ensure_synthetic_cityscapes,
    generate_synthetic_cityscapes,
)

REPO = Path(__file__).resolve().parents[2]
SIZE = (256, 128)
COUNTS = {'train': 4, 'val': 3, 'test': 2}
GT_SUFFIXES = ('color.png', 'instanceIds.png', 'labelIds.png', 'labelTrainIds.png',
               'polygons.json')


def make(out: Path, seed: int = 0, nproc: int = 1, size=SIZE) -> Path:
    return generate_synthetic_cityscapes(out, num_train=COUNTS['train'], num_val=COUNTS['val'],
                                         num_test=COUNTS['test'], size=size, seed=seed,
                                         nproc=nproc)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob('*'))
            if p.is_file()}


def gt_stems(root: Path) -> list[Path]:
    """Path prefixes '<root>/gtFine/<split>/<city>/<stem>_gtFine_' of every annotated image."""
    return [Path(str(p)[:-len('labelIds.png')])
            for p in sorted(root.glob('gtFine/*/*/*_gtFine_labelIds.png'))]


def read(prefix: Path, suffix: str) -> np.ndarray:
    return np.asarray(Image.open(f'{prefix}{suffix}'))


@pytest.fixture(scope='module')
def dataset(tmp_path_factory) -> Path:
    return make(tmp_path_factory.mktemp('synthetic') / 'cityscapes')


def test_layout_and_naming(dataset):
    for split, n in COUNTS.items():
        images = sorted(dataset.glob(f'leftImg8bit/{split}/*/*'))
        assert len(images) == n
        for img in images:
            city = img.parent.name
            assert city in SPLIT_CITIES[split]
            assert re.fullmatch(rf'{city}_\d{{6}}_\d{{6}}_leftImg8bit\.png', img.name)
            with Image.open(img) as im:
                assert (im.mode, im.size) == ('RGB', SIZE)
            stem = img.name[:-len('leftImg8bit.png')]
            gt = sorted(p.name for p in (dataset / 'gtFine' / split / city).glob(f'{stem}*'))
            expected = [] if split == 'test' else [f'{stem}gtFine_{s}' for s in GT_SUFFIXES]
            assert gt == expected
    assert not (dataset / 'gtFine' / 'test').exists()  # official test labels are dummies
    names = {p.name for p in dataset.glob('leftImg8bit/*/*/*')}
    assert len(names) == sum(COUNTS.values())  # no two images share a name
    marker = json.loads((dataset / MARKER_NAME).read_text())
    assert marker['size'] == list(SIZE) and marker['seed'] == 0


def test_png_formats(dataset):
    prefix = gt_stems(dataset)[0]
    modes = {s: Image.open(f'{prefix}{s}').mode for s in GT_SUFFIXES if s.endswith('.png')}
    assert modes['labelIds.png'] == 'L' and modes['labelTrainIds.png'] == 'L'
    assert modes['color.png'] in ('RGB', 'RGBA')
    assert read(prefix, 'instanceIds.png').dtype in (np.uint16, np.int32)


def test_deterministic_and_seed_dependent(dataset, tmp_path):
    ref = files(dataset)
    assert files(make(tmp_path / 'again')) == ref
    assert files(make(tmp_path / 'pool', nproc=2)) == ref  # workers do not change the output
    other = files(make(tmp_path / 'other', seed=1))
    assert other.keys() == ref.keys()
    images = [k for k in ref if k.endswith('leftImg8bit.png')]
    assert all(other[k] != ref[k] for k in images)


def test_label_ids_and_train_ids_agree(dataset):
    valid_ids = {lb.id for lb in name2label.values() if lb.id >= 0}
    for prefix in gt_stems(dataset):
        ids, train = read(prefix, 'labelIds.png'), read(prefix, 'labelTrainIds.png')
        assert set(np.unique(ids).tolist()) <= valid_ids
        assert set(np.unique(train).tolist()) <= set(range(19)) | {255}
        np.testing.assert_array_equal(train, ID_TO_TRAIN_ID[ids])
        table = np.array([id2label[i].trainId for i in range(34)])  # independent of cityseg
        np.testing.assert_array_equal(train, table[ids])
        assert (train != 255).mean() > 0.5  # mostly evaluated classes, not void


def test_color_and_instance_images_follow_the_label_table(dataset):
    colours = np.array([id2label[i].color for i in range(34)], np.uint8)
    for prefix in gt_stems(dataset):
        ids = read(prefix, 'labelIds.png')
        colour = read(prefix, 'color.png')[..., :3]
        np.testing.assert_array_equal(colour, colours[ids])
        inst = read(prefix, 'instanceIds.png').astype(np.int64)
        np.testing.assert_array_equal(np.where(inst >= 1000, inst // 1000, inst), ids)
        has_instances = np.array([id2label[i].hasInstances for i in range(34)])
        assert (has_instances[ids] == (inst >= 1000)).all()  # no 'group' polygons are drawn


def test_polygons_json_reproduces_label_images(dataset, tmp_path):
    for prefix in gt_stems(dataset):
        doc = json.loads(Path(f'{prefix}polygons.json').read_text())
        assert (doc['imgWidth'], doc['imgHeight']) == SIZE
        assert len(doc['objects']) > 10
        for obj in doc['objects']:
            assert obj['label'] in name2label
            pts = np.array(obj['polygon'])
            assert pts.shape[0] >= 3 and pts.shape[1] == 2
            assert pts.min() >= 0 and (pts.max(0) < SIZE).all()
        for encoding, suffix in (('trainIds', 'labelTrainIds.png'), ('ids', 'labelIds.png')):
            out = tmp_path / f'{encoding}.png'
            json2labelImg(f'{prefix}polygons.json', str(out), encoding)
            np.testing.assert_array_equal(np.asarray(Image.open(out)), read(prefix, suffix))


def test_image_is_not_a_palette_lookup(dataset):
    palette = np.asarray(PALETTE, np.float64)
    for prefix in gt_stems(dataset):
        train = read(prefix, 'labelTrainIds.png')
        stem = str(prefix).replace('gtFine', 'leftImg8bit', 1)[:-len('gtFine_')]
        img = np.asarray(Image.open(f'{stem}leftImg8bit.png')).astype(np.float64)
        valid = train != 255
        dist = ((img[valid][:, None, :] - palette[None]) ** 2).sum(-1)
        # nearest palette colour would be ~100% right if the image were a noisy colorize()
        assert (dist.argmin(1) == train[valid]).mean() < 0.8
        # ... yet each class has its own look: road and sky differ clearly in mean colour
        means = [img[train == c].mean(0) for c in (0, 10) if (train == c).any()]
        if len(means) == 2:
            assert np.abs(means[0] - means[1]).max() > 25


def test_all_classes_appear_and_small_objects_are_visible(tmp_path):
    root = generate_synthetic_cityscapes(tmp_path / 'val', num_train=0, num_val=8, num_test=0,
                                         size=(512, 256), seed=0)
    stems = gt_stems(root)
    assert len(stems) == 8
    images_with = np.zeros(19, int)
    for prefix in stems:
        images_with[np.unique(read(prefix, 'labelTrainIds.png'))[:-1]] += 1
    missing = {c: int(n) for c, n in zip(CLASSES, images_with) if n < 2}
    assert not missing, f'classes in fewer than 2 of 8 val images: {missing}'
    sizes = {'pole': [], 'person': []}
    for prefix in stems:
        for obj in json.loads(Path(f'{prefix}polygons.json').read_text())['objects']:
            pts = np.array(obj['polygon'])
            inside = pts.min() > 0 and (pts.max(0) < np.array([511, 255])).all()
            if obj['label'] in sizes and inside:
                sizes[obj['label']].append(np.ptp(pts, 0))
    poles, persons = np.array(sizes['pole']), np.array(sizes['person'])
    assert len(poles) and len(persons)
    assert poles[:, 0].min() >= 4
    assert persons[:, 0].min() >= 8 and persons[:, 1].min() >= 25


def test_ensure_reuses_and_regenerates(tmp_path):
    out = tmp_path / 'data' / 'synthetic'
    kwargs = dict(num_train=2, num_val=1, num_test=1, size=(128, 64), seed=3)
    assert ensure_synthetic_cityscapes(out, **kwargs) == out
    marker = out / MARKER_NAME
    first = {p: p.stat().st_mtime_ns for p in out.rglob('*')}
    assert len(list(out.glob('leftImg8bit/train/*/*.png'))) == 2

    ensure_synthetic_cityscapes(out, nproc=2, **kwargs)  # same output args: nothing rewritten
    assert {p: p.stat().st_mtime_ns for p in out.rglob('*')} == first

    ensure_synthetic_cityscapes(out, **{**kwargs, 'num_train': 3})
    assert json.loads(marker.read_text())['num_train'] == 3
    assert len(list(out.glob('leftImg8bit/train/*/*.png'))) == 3
    leftovers = [p.name for p in out.parent.iterdir() if p.name != out.name]
    assert all(name.endswith('.lock') for name in leftovers)  # no tmp/old copies remain

    real = tmp_path / 'real_cityscapes'
    (real / 'leftImg8bit').mkdir(parents=True)
    with pytest.raises(FileExistsError):
        ensure_synthetic_cityscapes(real, **kwargs)
    with pytest.raises(FileExistsError):
        generate_synthetic_cityscapes(real, **kwargs)
    assert list(real.iterdir()) == [real / 'leftImg8bit']


def test_cli(tmp_path):
    out = tmp_path / 'cli'
    subprocess.run([sys.executable, 'tools/make_synthetic_cityscapes.py', '--out', str(out),
                    '--num-train', '1', '--num-val', '1', '--num-test', '1', '--size', '96x48',
                    '--seed', '5'], cwd=REPO, check=True, capture_output=True)
    assert json.loads((out / MARKER_NAME).read_text())['size'] == [96, 48]
    with Image.open(next(out.glob('leftImg8bit/test/*/*.png'))) as im:
        assert im.size == (96, 48)
    assert len(list(out.glob('gtFine/*/*/*'))) == 2 * len(GT_SUFFIXES)
