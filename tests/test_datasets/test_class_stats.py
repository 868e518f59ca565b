"""Per-image class pixel counts against cityscapesscripts' own label table."""
import os

import numpy as np
import pytest
from helpers.class_counts import reference_counts
from helpers.seg_folder_tree import five_class_dataset, mapped_counts, write_five_class_tree
from PIL import Image

from cityseg.datasets import CityscapesDataset, class_stats


@pytest.mark.parametrize('label_type', ['labelIds', 'labelTrainIds'])
def test_counts_match_cityscapesscripts_for_either_label_type(synthetic_root, label_type):
    dataset = CityscapesDataset(synthetic_root, 'train', label_type=label_type)
    files = class_stats.label_files(dataset)
    assert {fields['label_type'] for _, fields in files} == {label_type}
    counts = class_stats.per_image_class_counts(files)
    np.testing.assert_array_equal(counts, reference_counts(synthetic_root))


def test_parallel_equals_sequential(synthetic_root):
    files = class_stats.label_files(CityscapesDataset(synthetic_root, 'train'))
    np.testing.assert_array_equal(class_stats.per_image_class_counts(files, nproc=2),
                                  class_stats.per_image_class_counts(files, nproc=1))


def test_cache_is_reused_and_invalidated_by_a_changed_label(synthetic_root, tmp_path,
                                                            monkeypatch):
    files = class_stats.label_files(CityscapesDataset(synthetic_root, 'val'))
    cache = str(tmp_path / 'stats.json')
    first = class_stats.per_image_class_counts(files, cache_file=cache)
    counted = []
    real = class_stats.count_label_pixels
    monkeypatch.setattr(class_stats, 'count_label_pixels',
                        lambda f, **kw: counted.append(f) or real(f, **kw))
    np.testing.assert_array_equal(class_stats.per_image_class_counts(files, cache_file=cache),
                                  first)
    assert counted == []
    stat = os.stat(files[0][0])
    os.utime(files[0][0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    try:
        class_stats.per_image_class_counts(files, cache_file=cache)
    finally:
        os.utime(files[0][0], ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert len(counted) == len(files)


def test_unlabelled_split_is_refused(synthetic_root):
    with pytest.raises(KeyError, match='seg_map_path'):
        class_stats.label_files(CityscapesDataset(synthetic_root, 'test'))


def test_corrupt_label_is_named(synthetic_root, tmp_path):
    bad = tmp_path / 'bad_gtFine_labelIds.png'
    Image.fromarray(np.full((4, 4), 40, np.uint8)).save(bad)
    with pytest.raises(ValueError, match=str(bad)):
        class_stats.count_label_pixels((str(bad), {'label_type': 'labelIds'}))



def test_seg_folder_counts_are_the_bincount_of_the_mapped_labels(tmp_path):
    raw = write_five_class_tree(tmp_path)
    dataset = five_class_dataset(tmp_path)
    files = class_stats.label_files(dataset)
    assert class_stats.dataset_num_classes(dataset) == 5
    counts = class_stats.per_image_class_counts(files, 5, cache_file=str(tmp_path / 's.json'))
    expected = [mapped_counts(r) for r in raw.values()]
    np.testing.assert_array_equal(counts, expected)
    assert counts.shape == (3, 5) and counts.sum() < sum(r.size for r in raw.values())
    np.testing.assert_array_equal(  # read back from the cache, in the same shape
        class_stats.per_image_class_counts(files, 5, cache_file=str(tmp_path / 's.json')),
        expected)


def test_cache_of_other_label_settings_is_not_reused(tmp_path):
    raw = write_five_class_tree(tmp_path)
    cache = str(tmp_path / 's.json')
    files = class_stats.label_files(five_class_dataset(tmp_path))
    class_stats.per_image_class_counts(files, 5, cache_file=cache)
    plain = [(path, {**fields, 'label_map': [], 'num_classes': 10}) for path, fields in files]
    np.testing.assert_array_equal(  # read as they are: classes 0..5, void 9
        class_stats.per_image_class_counts(plain, 10, cache_file=cache),
        [np.bincount(r[r != 9], minlength=10) for r in raw.values()])
