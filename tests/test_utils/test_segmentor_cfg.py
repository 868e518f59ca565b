"""A self-training config's segmentor settings live in model.student: the class-count checks, the
offline loading (no encoder weights read when a checkpoint replaces them) and the checkpoint
argument find them there, as they find a supervised config's in model."""
from __future__ import annotations

import pytest
import torch
from helpers.cli import QUICKSTART
from helpers.self_training_checkpoint import SEMI, UDA
from mmengine.config import Config

from cityseg.utils import resolve_checkpoint
from cityseg.utils.checkpoint_loading import check_resume_classes
from cityseg.utils.config import check_num_classes
from cityseg.utils.errors import CitysegError
from cityseg.utils.segmentor_cfg import drop_encoder_weights, segmentor_cfg


@pytest.mark.parametrize('config', [SEMI, UDA])
def test_a_self_training_configs_segmentor_is_its_student(config):
    cfg = Config.fromfile(config)
    key, section = segmentor_cfg(cfg.model)
    assert key == 'model.student' and section['type'] == 'SMPSegmentor'
    section['num_classes'] = 7  # the stored section: a change reaches the config
    assert cfg.model.student.num_classes == 7


def test_a_supervised_configs_segmentor_is_the_model():
    cfg = Config.fromfile(QUICKSTART)
    assert segmentor_cfg(cfg.model) == ('model', cfg.model)


@pytest.mark.parametrize('config', [SEMI, QUICKSTART])
def test_drop_encoder_weights_where_the_segmentor_is(config):
    cfg = Config.fromfile(config)
    key, section = segmentor_cfg(cfg.model)
    section['encoder_weights'] = 'imagenet'
    drop_encoder_weights(cfg)
    assert section['encoder_weights'] is None
    if key == 'model.student':  # SemiSegmentor takes no encoder_weights of its own
        assert 'encoder_weights' not in cfg.model


def test_class_count_check_reads_the_students_num_classes():
    cfg = Config.fromfile(SEMI)
    cfg.val_dataloader.dataset.metainfo = dict(classes=('road', 'sky'))
    with pytest.raises(ValueError, match=r'model\.student\.num_classes=19 but val_dataloader'
                                         r'\.dataset has 2 classes .*set '
                                         r'model\.student\.num_classes=2'):
        check_num_classes(cfg)


def test_resume_class_check_reads_the_students_num_classes(tmp_path):
    path = str(tmp_path / 'iter_2.pth')
    torch.save(dict(meta=dict(dataset_meta=dict(classes=['a', 'b'])), state_dict={}), path)
    with pytest.raises(ValueError, match=r'trained on 2 classes but x\.py builds a model with '
                                         r'num_classes=19: .*model\.student\.num_classes=2'):
        check_resume_classes(path, Config.fromfile(SEMI).model, 'x.py')


def test_no_checkpoint_needs_the_students_pretrained():
    cfg = Config.fromfile(SEMI)
    with pytest.raises(CitysegError, match=r'sets no model\.student\.pretrained: .*--cfg-options '
                                         r'model\.student\.pretrained=FOLDER_OR_HUB_ID'):
        resolve_checkpoint('-', cfg, SEMI)
    cfg.model.student.pretrained = 'published_folder'
    assert resolve_checkpoint('-', cfg, SEMI) is None
