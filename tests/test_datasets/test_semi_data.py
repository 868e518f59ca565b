"""Labelled subsets (split file, fraction + seed), unlabelled image folders, multi-source
datasets and the ratio sampler of semi-supervised / domain-adaptive training."""
from __future__ import annotations

import os.path as osp
import shutil

import pytest

from cityseg.registry import DATA_SAMPLERS, DATASETS


def _train(root: str, **kwargs) -> dict:
    return dict(type='CityscapesDataset', data_root=root, split='train', **kwargs)


def _stems(dataset) -> list[str]:
    return [dataset.get_data_info(i)['stem'] for i in range(len(dataset))]


def test_split_file_selects_named_images_in_unimatch_format(synthetic_root, tmp_path):
    stems = _stems(DATASETS.build(_train(synthetic_root)))
    split = tmp_path / 'split.txt'
    split.write_text(f'# labelled 1/2\n{stems[2]}\n\n'
                     f'leftImg8bit/train/x/{stems[0]}_leftImg8bit.png gtFine/train/x/y.png\n')
    labelled = DATASETS.build(dict(type='SubsetDataset', dataset=_train(synthetic_root),
                                   split_file=str(split)))
    assert _stems(labelled) == [stems[0], stems[2]]
    rest = DATASETS.build(dict(type='SubsetDataset', split_file=str(split), complement=True,
                               dataset=_train(synthetic_root, with_labels=False)))
    assert _stems(rest) == [stems[1], stems[3]]
    assert 'seg_map_path' not in rest.get_data_info(0)
    assert 'seg_map_path' in labelled.get_data_info(0)


def test_split_file_naming_a_missing_image_is_named(synthetic_root, tmp_path):
    split = tmp_path / 'split.txt'
    split.write_text('aachen_000000_000019\nnowhere_000001_000019\n')
    with pytest.raises(ValueError, match=r'split\.txt names 1 images.*line 2: '
                                         r"'nowhere_000001_000019'"):
        DATASETS.build(dict(type='SubsetDataset', dataset=_train(synthetic_root),
                            split_file=str(split)))


def test_fraction_and_seed(synthetic_root):
    def pick(seed, complement=False):
        return _stems(DATASETS.build(dict(type='SubsetDataset', dataset=_train(synthetic_root),
                                          fraction=0.5, seed=seed, complement=complement)))
    assert pick(1) == pick(1) and len(pick(1)) == 2
    assert sorted(pick(1) + pick(1, complement=True)) == sorted(
        _stems(DATASETS.build(_train(synthetic_root))))
    with pytest.raises(ValueError, match='exactly one of split_file and fraction'):
        DATASETS.build(dict(type='SubsetDataset', dataset=_train(synthetic_root)))
    with pytest.raises(ValueError, match=r'fraction must be in \(0, 1\]'):
        DATASETS.build(dict(type='SubsetDataset', dataset=_train(synthetic_root), fraction=2))


def test_image_folder_lists_recursively_and_refuses_empty(synthetic_root, tmp_path):
    folder = DATASETS.build(dict(type='ImageFolderDataset', img_suffix='_leftImg8bit.png',
                                 data_root=osp.join(synthetic_root, 'leftImg8bit')))
    assert len(folder) == 4 + 2 + 1 and 'seg_map_path' not in folder.get_data_info(0)
    (tmp_path / 'empty' / 'sub').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match=r'No \*\.png images under .*empty'):
        DATASETS.build(dict(type='ImageFolderDataset', data_root=str(tmp_path / 'empty')))


def test_gt_coarse_labels(synthetic_root, tmp_path):
    root = tmp_path / 'cs'
    shutil.copytree(osp.join(synthetic_root, 'leftImg8bit'), root / 'leftImg8bit')
    for path in sorted((osp.join(synthetic_root, 'gtFine', 'val'), )):
        shutil.copytree(path, root / 'gtCoarse' / 'val')
    for p in (root / 'gtCoarse').rglob('*_gtFine_*'):
        p.rename(p.with_name(p.name.replace('_gtFine_', '_gtCoarse_')))
    coarse = DATASETS.build(dict(type='CityscapesDataset', data_root=str(root), split='val',
                                 annotation='gtCoarse'))
    assert coarse.get_data_info(0)['seg_map_path'].endswith('_gtCoarse_labelTrainIds.png')


def test_multi_source_refuses_different_classes(synthetic_root):
    other = dict(type='ImageFolderDataset', data_root=osp.join(synthetic_root, 'leftImg8bit'),
                 metainfo=dict(classes=('road', 'car')))
    with pytest.raises(ValueError, match=r"datasets\[1\] \(ImageFolderDataset\) has classes "
                                         r"\('road', 'car'\)"):
        DATASETS.build(dict(type='MultiSourceDataset', datasets=[_train(synthetic_root), other]))


def test_sampler_ratio_per_batch(synthetic_root):
    dataset = DATASETS.build(dict(type='MultiSourceDataset', datasets=[
        _train(synthetic_root),
        dict(type='ImageFolderDataset', data_root=osp.join(synthetic_root, 'leftImg8bit'))]))
    sampler = DATA_SAMPLERS.build(dict(type='MultiSourceSampler', batch_size=4,
                                       source_ratio=[1, 3], seed=0), default_args=dict(
                                           dataset=dataset))
    it = iter(sampler)
    batches = [[next(it) for _ in range(4)] for _ in range(6)]
    for batch in batches:
        assert sum(i < 4 for i in batch) == 1 and sum(i >= 4 for i in batch) == 3
    labelled = [b[0] for b in batches[:4]]
    assert sorted(labelled) == [0, 1, 2, 3]  # one shuffled epoch of the labelled source
    again = iter(sampler)
    assert [next(again) for _ in range(24)] == sum(batches, [])  # resume replays exactly
    with pytest.raises(ValueError, match='no labelled sample|cannot hold'):
        DATA_SAMPLERS.build(dict(type='MultiSourceSampler', batch_size=1, source_ratio=[1, 1]),
                            default_args=dict(dataset=dataset))


def test_rare_class_probabilities_match_daformer_formula():
    import numpy as np

    from cityseg.datasets.rare_class import RareClassStream, rare_class_probabilities
    counts = np.array([[900, 0, 0], [60, 40, 0]])  # class 2 absent
    freq = np.array([960, 40]) / 1000
    expected = np.exp((1 - freq) / 0.1) / np.exp((1 - freq) / 0.1).sum()
    np.testing.assert_allclose(rare_class_probabilities(counts, 0.1)[:2], expected)
    assert rare_class_probabilities(counts, 0.1)[2] == 0
    import torch
    stream = RareClassStream(counts, temperature=0.01, min_pixels=50)
    draws = [next(stream(torch.Generator().manual_seed(s))) for s in range(50)]
    assert set(draws) == {1}  # rare class 1 dominates at T=0.01 and lives in image 1 only


def test_sampler_rare_class_sampling_uses_label_counts(synthetic_root, tmp_path):
    dataset = DATASETS.build(dict(type='MultiSourceDataset', datasets=[
        _train(synthetic_root),
        dict(type='ImageFolderDataset', data_root=osp.join(synthetic_root, 'leftImg8bit'))]))
    cache = str(tmp_path / 'class_stats.json')
    sampler = DATA_SAMPLERS.build(dict(type='MultiSourceSampler', batch_size=2,
                                       source_ratio=[1, 1], seed=0, class_stats_file=cache,
                                       rare_class_sampling=dict(temperature=0.01)),
                                  default_args=dict(dataset=dataset))
    it = iter(sampler)
    batches = [[next(it), next(it)] for _ in range(8)]
    assert all(a < 4 <= b for a, b in batches) and osp.isfile(cache)
    with pytest.raises(ValueError, match=r"takes temperature and min_pixels, got \['temp'\]"):
        DATA_SAMPLERS.build(dict(type='MultiSourceSampler', batch_size=2, source_ratio=[1, 1],
                                 rare_class_sampling=dict(temp=1)),
                            default_args=dict(dataset=dataset))


def test_class_statistics_describe_the_labelled_part(synthetic_root):
    from cityseg.datasets.class_stats import label_files
    from cityseg.datasets.multi_source import labelled_part
    labelled = DATASETS.build(_train(synthetic_root))
    dataset = DATASETS.build(dict(type='MultiSourceDataset', datasets=[
        labelled, _train(synthetic_root, with_labels=False)]))
    assert labelled_part(dataset) is labelled and labelled_part(labelled) is labelled
    assert len(label_files(labelled_part(dataset))) == len(labelled)


def test_sampler_draws_a_mix_partner_for_every_unlabelled_sample(synthetic_root):
    """mix_partners: (index, partner) pairs, the partner another image of the same unlabelled
    source, from a stream of its own (replayed exactly); labelled samples get None."""
    dataset = DATASETS.build(dict(type='MultiSourceDataset', datasets=[
        _train(synthetic_root), _train(synthetic_root, with_labels=False)]))
    build = dict(type='MultiSourceSampler', batch_size=2, source_ratio=[1, 1], seed=0)
    sampler = DATA_SAMPLERS.build(dict(build, mix_partners=True),
                                  default_args=dict(dataset=dataset))
    plain = iter(DATA_SAMPLERS.build(build, default_args=dict(dataset=dataset)))
    it = iter(sampler)
    pairs = [next(it) for _ in range(40)]
    assert [index for index, _ in pairs] == [next(plain) for _ in range(40)]
    labelled, unlabelled = pairs[0::2], pairs[1::2]
    assert all(partner is None for _, partner in labelled)
    assert all(4 <= partner < 8 and partner != index for index, partner in unlabelled)
    assert len({partner for _, partner in unlabelled}) == 4  # every image is a partner
    again = iter(sampler)
    assert [next(again) for _ in range(40)] == pairs  # resume replays exactly
    one = DATASETS.build(dict(type='MultiSourceDataset', datasets=[
        _train(synthetic_root), dict(type='SubsetDataset', fraction=0.25,
                                     dataset=_train(synthetic_root, with_labels=False))]))
    with pytest.raises(ValueError, match=r'datasets \[1\] hold fewer than 2 samples'):
        DATA_SAMPLERS.build(dict(build, mix_partners=True), default_args=dict(dataset=one))


def test_dataset_packs_the_partners_views_beside_the_samples(synthetic_root):
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    branches = ['sup', 'unsup_weak', 'unsup_strong']
    packed = dict(type='MultiBranch', branch_field=branches,
                  unsup_weak=[dict(type='PackSegInputs')],
                  unsup_strong=[dict(type='PackSegInputs')])
    dataset = DATASETS.build(dict(type='MultiSourceDataset', datasets=[
        _train(synthetic_root, pipeline=[
            dict(type='LoadCityscapesImage'), dict(type='LoadCityscapesLabel'),
            dict(type='MultiBranch', branch_field=branches, sup=[dict(type='PackSegInputs')])]),
        _train(synthetic_root, with_labels=False,
               pipeline=[dict(type='LoadCityscapesImage'), packed])]))
    sampler = DATA_SAMPLERS.build(dict(type='MultiSourceSampler', batch_size=2,
                                       source_ratio=[1, 1], seed=0, mix_partners=True),
                                  default_args=dict(dataset=dataset))
    batch = next(iter(DataLoader(dataset, batch_size=2, sampler=sampler,
                                 collate_fn=pseudo_collate)))
    samples = batch['data_samples']
    assert set(samples) == {*branches, *(f'{b}_partner' for b in branches)}
    assert samples['sup'][1] is None and samples['sup_partner'] == [None, None]
    own, partner = samples['unsup_weak'][1], samples['unsup_weak_partner'][1]
    assert own.img_path != partner.img_path
    assert samples['unsup_strong_partner'][1].img_path == partner.img_path


def test_semi_split_takes_one_split_for_both_halves(synthetic_root, tmp_path):
    """A split file given (one key) replaces the config's default fraction; the unlabelled
    half is the rest, without labels."""
    stems = _stems(DATASETS.build(_train(synthetic_root)))
    split = tmp_path / 'split.txt'
    split.write_text(f'{stems[3]}\n')
    build = dict(type='SemiSplitDataset', fraction=0.5, seed=0, labelled=_train(synthetic_root),
                 unlabelled=_train(synthetic_root, with_labels=False))
    by_file = DATASETS.build(dict(build, split_file=str(split)))
    labelled, unlabelled = by_file.datasets
    assert _stems(labelled) == [stems[3]] and _stems(unlabelled) == stems[:3]
    assert 'seg_map_path' not in unlabelled.get_data_info(0)
    drawn = DATASETS.build(build).datasets
    assert len(drawn[0]) == 2 and sorted(_stems(drawn[0]) + _stems(drawn[1])) == sorted(stems)
