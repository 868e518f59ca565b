"""The decoded-sample cache: identical samples, size, reuse, sharing with workers, failures."""
from __future__ import annotations

import mmap
import multiprocessing
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.cityscapes_configs import BASE, HALF, copy_root
from helpers.cityscapes_configs import small_crop_pipeline as pipeline
from PIL import Image
from torch.utils.data import DataLoader

from cityseg.datasets import CityscapesDataset, DecodedSampleCache

W, H = 128, 64  # the session's synthetic images


def build(root, steps, cache_dir=None, split='train') -> CityscapesDataset:
    return CityscapesDataset(data_root=str(root), split=split, pipeline=steps,
                             cache_dir=None if cache_dir is None else str(cache_dir))


def assert_same_samples(a: dict, b: dict) -> None:
    assert torch.equal(a['inputs'], b['inputs'])
    assert torch.equal(a['data_samples'].gt_sem_seg.data, b['data_samples'].gt_sem_seg.data)
    assert a['data_samples'].metainfo == b['data_samples'].metainfo


@pytest.mark.parametrize('cfg, name', [(BASE, 'test_pipeline'), (BASE, 'train_pipeline'),
                                       (HALF, 'test_pipeline'), (HALF, 'train_pipeline')],
                         ids=['val', 'train', 'half-val', 'half-train'])
def test_cached_samples_equal_uncached(synthetic_root, tmp_path, cfg, name):
    steps = pipeline(cfg, name)
    samples = {}
    for cache_dir in (None, tmp_path):
        torch.manual_seed(0)  # same augmentation draws on both sides
        ds = build(synthetic_root, steps, cache_dir)
        samples[cache_dir] = [ds[i] for _ in range(2) for i in range(len(ds))]
    for a, b in zip(samples[None], samples[tmp_path]):
        assert_same_samples(a, b)


def test_cache_size_is_the_decoded_bytes(synthetic_root, tmp_path):
    full = build(synthetic_root, pipeline(BASE, 'train_pipeline'), tmp_path / 'full')
    half_val = build(synthetic_root, pipeline(HALF, 'test_pipeline'), tmp_path / 'half', 'val')
    # BGR image + uint8 label per sample, each array starting on a page; half-res val keeps
    # its label at full resolution
    def pages(nbytes: int) -> int:
        return -(-nbytes // mmap.ALLOCATIONGRANULARITY) * mmap.ALLOCATIONGRANULARITY

    assert full.cache.nbytes == len(full) * (pages(W * H * 3) + pages(W * H))
    assert half_val.cache.nbytes == len(half_val) * (pages(W // 2 * H // 2 * 3) + pages(W * H))


def test_cache_is_reused_and_keyed_on_pipeline_and_files(synthetic_root, tmp_path):
    root = copy_root(synthetic_root, tmp_path)
    steps = pipeline(BASE, 'test_pipeline')
    build(root, steps, tmp_path / 'c')
    (first,) = (tmp_path / 'c').glob('*.bin')
    stamp = first.stat().st_mtime_ns
    build(root, steps, tmp_path / 'c')
    assert first.stat().st_mtime_ns == stamp and len(list((tmp_path / 'c').glob('*.bin'))) == 1
    build(root, pipeline(HALF, 'test_pipeline'), tmp_path / 'c')
    assert len(list((tmp_path / 'c').glob('*.bin'))) == 2
    # an edited label is a different dataset: a new cache, holding the new values
    label_path = sorted(root.glob('gtFine/train/*/*_labelTrainIds.png'))[0]
    label = np.asarray(Image.open(label_path)).copy()
    label[:] = 3
    Image.fromarray(label).save(label_path)
    ds = build(root, steps, tmp_path / 'c')
    assert len(list((tmp_path / 'c').glob('*.bin'))) == 3
    assert (ds[0]['data_samples'].gt_sem_seg.data == 3).all()


def test_in_place_edits_do_not_reach_the_cache(synthetic_root, tmp_path):
    ds = build(synthetic_root, pipeline(BASE, 'test_pipeline'), tmp_path)
    before = ds[0]['inputs'].clone()
    results = ds.cache.load(ds.get_data_info(0))
    results['img'][:] = 0
    results['gt_seg_map'][:] = 0
    assert torch.equal(ds[0]['inputs'], before)


def only(batch: list) -> dict:
    return batch[0]


@pytest.mark.integration
def test_workers_read_the_mapping_not_pickled_bytes(synthetic_root, tmp_path):
    steps = pipeline(BASE, 'test_pipeline')
    cached = build(synthetic_root, steps, tmp_path)
    assert len(pickle.dumps(cached)) < cached.cache.nbytes / 10
    uncached = build(synthetic_root, steps)
    for ctx, workers in (('fork', 2), ('spawn', 1)):
        loader = DataLoader(cached, batch_size=1, num_workers=workers, collate_fn=only,
                            multiprocessing_context=ctx)
        for i, sample in enumerate(loader):
            assert_same_samples(sample, uncached[i])


def test_lazy_dataset_opens_its_cache_once_at_full_init(synthetic_root, tmp_path):
    ds = CityscapesDataset(data_root=str(synthetic_root), split='val', lazy_init=True,
                           pipeline=pipeline(BASE, 'test_pipeline'), cache_dir=str(tmp_path))
    assert ds.cache is None  # nothing listed or cached before full_init
    ds.full_init()
    cache = ds.cache
    assert cache is not None and len(ds) == len(build(synthetic_root, [], split='val'))
    ds.full_init()  # mmengine's force_full_init methods may call it again
    assert ds.cache is cache
    assert_same_samples(ds[0], build(synthetic_root, pipeline(BASE, 'test_pipeline'),
                                     split='val')[0])


def test_cache_needs_a_cacheable_head(synthetic_root, tmp_path):
    steps = [dict(type='LoadImageFromFile'), *pipeline(BASE, 'test_pipeline')[1:]]
    with pytest.raises(ValueError, match='does not start with a cacheable transform'):
        build(synthetic_root, steps, tmp_path)


def test_a_bad_sample_fails_the_build_and_leaves_no_cache(synthetic_root, tmp_path,
                                                          monkeypatch):
    monkeypatch.setenv('CITYSEG_LOCK_DIR', str(tmp_path / 'locks'))
    root = copy_root(synthetic_root, tmp_path)
    bad = sorted(root.glob('gtFine/train/*/*_labelTrainIds.png'))[2]
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(ValueError, match=f'Cannot decode label image {bad}'):
        build(root, pipeline(BASE, 'train_pipeline'), tmp_path / 'c')
    assert list((tmp_path / 'c').iterdir()) == []  # the lock is in cityseg's lock folder
    assert [p.suffix for p in (tmp_path / 'locks').iterdir()] == ['.lock']


def _ensure_in_process(cache_dir: str, calls_dir: str) -> None:
    def produce(info: dict) -> dict:
        Path(calls_dir, f'{multiprocessing.current_process().pid}-{info["img_path"]}').touch()
        return dict(info, img=np.full((4, 4), info['i'], np.uint8))

    infos = [dict(img_path=f'img{i}', i=i) for i in range(5)]
    cache = DecodedSampleCache.ensure(cache_dir, 'race', infos, produce)
    assert [int(cache.load(info)['img'][0, 0]) for info in infos] == list(range(5))


def test_concurrent_processes_build_once(tmp_path):
    ctx = multiprocessing.get_context('fork')
    calls = tmp_path / 'calls'
    calls.mkdir()
    procs = [ctx.Process(target=_ensure_in_process, args=(str(tmp_path / 'c'), str(calls)))
             for _ in range(3)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
    assert [proc.exitcode for proc in procs] == [0, 0, 0]
    assert len(list(calls.iterdir())) == 5  # one process produced each sample once
