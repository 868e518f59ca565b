"""Class weights against hand-computed values."""
import logging
import math
from types import SimpleNamespace

import numpy as np
import pytest
from helpers.seg_folder_tree import FIVE, five_class_dataset, mapped_counts, write_five_class_tree

from cityseg.engine.hooks.class_weight_hook import ClassWeightHook, class_weights, weight_table

# Three images, three classes: class 0 everywhere, class 1 in image 0 only, class 2 never.
COUNTS = np.array([[60, 40, 0],
                   [100, 0, 0],
                   [50, 0, 0]])


def test_enet_weights_follow_the_formula():
    p = np.array([210, 40, 0]) / 250
    expected = [1 / math.log(1.02 + pi) for pi in p]
    np.testing.assert_allclose(class_weights(COUNTS, 'enet'), expected, rtol=1e-12)
    np.testing.assert_allclose(class_weights(COUNTS, 'enet', c=1.1),
                               [1 / math.log(1.1 + pi) for pi in p], rtol=1e-12)


def test_median_frequency_weights_follow_the_formula():
    # freq(c) = pixels of c / labelled pixels of the images that contain c
    f0 = 210 / (100 + 100 + 50)
    f1 = 40 / 100
    median = (f0 + f1) / 2  # of the classes that appear
    np.testing.assert_allclose(class_weights(COUNTS, 'median_freq'),
                               [median / f0, median / f1, 0.0], rtol=1e-12)


def test_normalise_then_clip():
    raw = class_weights(COUNTS, 'enet')
    norm = class_weights(COUNTS, 'enet', normalize=True)
    np.testing.assert_allclose(norm, raw / raw.mean(), rtol=1e-12)
    clipped = class_weights(COUNTS, 'enet', normalize=True, clip=(0.5, 2.0))
    np.testing.assert_allclose(clipped, np.clip(raw / raw.mean(), 0.5, 2.0), rtol=1e-12)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match='method'):
        class_weights(COUNTS, 'inverse')
    with pytest.raises(ValueError, match='no labelled pixel'):
        class_weights(np.zeros((2, 3)), 'enet')
    with pytest.raises(ValueError, match='method must be one of'):
        ClassWeightHook(method='inverse')


def test_table_names_classes():
    table = weight_table(np.array([3, 1]), np.array([1.5, 2.5]), ('road', 'sky'))
    assert 'road' in table and '75.000' in table and '2.5000' in table


class WeightRecorder:
    def set_class_weight(self, weights):
        self.weights = weights


def test_hook_on_a_five_class_seg_folder_dataset(tmp_path, caplog):
    raw = write_five_class_tree(tmp_path / 'data')
    loss = WeightRecorder()
    runner = SimpleNamespace(
        train_dataloader=SimpleNamespace(dataset=five_class_dataset(tmp_path / 'data')),
        work_dir=str(tmp_path), model=SimpleNamespace(loss_module=loss),
        logger=logging.getLogger('class_weight_test'))
    with caplog.at_level(logging.INFO, logger='class_weight_test'):
        ClassWeightHook(method='enet', nproc=1).before_train(runner)
    totals = np.sum([mapped_counts(r) for r in raw.values()], axis=0)
    p = totals / totals.sum()
    np.testing.assert_allclose(loss.weights, [1 / math.log(1.02 + pi) for pi in p], rtol=1e-12)
    assert all(f'{n:,}' in caplog.text for n in totals)
    assert all(name in caplog.text for name in FIVE)
