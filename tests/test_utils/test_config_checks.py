"""--cfg-options typos and unknown hook arguments stop a run before it starts, naming the key."""
import glob
import os.path as osp

import pytest
from helpers.cli import QUICKSTART, ROOT, run_tool

from cityseg.utils import load_config


@pytest.mark.integration
def test_misspelled_top_level_key_names_the_closest(tmp_path):
    out = run_tool('train.py', QUICKSTART, '--work-dir', str(tmp_path),
                   '--cfg-options', 'train_cfgg.max_iters=2', expect_failure=True)
    assert "--cfg-options train_cfgg.max_iters: " in out
    assert "did you mean 'train_cfg.max_iters'?" in out
    assert not list(tmp_path.glob('*/*.log')), 'the run started'


def test_runner_arguments_and_existing_keys_are_accepted():
    cfg = load_config(QUICKSTART, {'work_dir': 'x', 'randomness': dict(seed=1),
                                   'train_cfg.max_iters': 2})
    assert cfg.train_cfg.max_iters == 2 and cfg.randomness.seed == 1


@pytest.mark.parametrize('key,message', [
    ('default_hooks.checkpoint.intervall',
     'default_hooks.checkpoint.intervall in .* CheckpointHook takes no argument '
     "'intervall'; did you mean default_hooks.checkpoint.interval"),
    ('default_hooks.logger.interva',
     "LoggerHook takes no argument 'interva'; did you mean default_hooks.logger.interval"),
])
def test_unknown_hook_argument_is_an_error_at_load(key, message):
    with pytest.raises(TypeError, match=message):
        load_config(QUICKSTART, {key: 1})



@pytest.mark.parametrize('key,message', [
    ('train_cfg.val_intervall',
     "IterBasedTrainLoop takes no argument 'val_intervall'; did you mean train_cfg.val_interval"),
    ('test_cfg.fp17', "TestLoop takes no argument 'fp17'"),
])
def test_unknown_loop_argument_is_an_error_at_load(key, message):
    with pytest.raises(TypeError, match=message):
        load_config(QUICKSTART, {key: 1})


@pytest.mark.parametrize('config,key,message', [
    (QUICKSTART, 'model.encoder_nme',
     "SMPSegmentor takes no argument 'encoder_nme'; did you mean model.encoder_name"),
    (QUICKSTART, 'model.data_preprocessor.meen',
     "SegDataPreProcessor takes no argument 'meen'; did you mean model.data_preprocessor.mean"),
    (QUICKSTART, 'optim_wrapper.clip_gradd',
     "AmpOptimWrapper takes no argument 'clip_gradd'; did you mean optim_wrapper.clip_grad"),
    (QUICKSTART, 'optim_wrapper.optimizer.lrr',
     "AdamW takes no argument 'lrr'; did you mean optim_wrapper.optimizer.lr"),
    (QUICKSTART, 'val_dataloader.dataset.data_rot', "SyntheticCityscapesDataset takes no "
     "argument 'data_rot'; did you mean val_dataloader.dataset.data_root"),
    (osp.join(ROOT, 'configs', 'custom_dataset_example.py'), 'train_dataloader.dataset.img_suffx',
     "SegFolderDataset takes no argument 'img_suffx'; did you mean "
     "train_dataloader.dataset.img_suffix"),
])
def test_a_typo_in_model_optimizer_or_dataset_names_its_key_at_load(config, key, message):
    """Issue 23: these were TypeError ... unexpected keyword argument from inside the build,
    naming no config key (the optimizer's and the training data's only after the model)."""
    with pytest.raises(TypeError, match=rf'{key} in .*: {message}'):
        load_config(config, {key: 1})


def test_arguments_taken_through_kwargs_of_a_base_class_are_accepted():
    """SegFolderDataset passes **kwargs to BaseDataset (indices, serialize_data...); the AMP
    wrapper's go to OptimWrapper (accumulative_counts)."""
    cfg = load_config(QUICKSTART, {'train_dataloader.dataset.indices': 2,
                                   'optim_wrapper.accumulative_counts': 2})
    assert cfg.optim_wrapper.accumulative_counts == 2


LEAF_CONFIGS = sorted(p for p in glob.glob(osp.join(ROOT, 'configs', '**', '*.py'), recursive=True)
                      if '_base_' not in p)


@pytest.mark.parametrize('path', LEAF_CONFIGS, ids=lambda p: osp.relpath(p, ROOT))
def test_loop_arguments_of_every_config_are_accepted(path):
    """Every shipped config's loop arguments (max_iters, max_epochs, val_interval...) pass the
    check that refuses unknown ones."""
    cfg = load_config(path)
    assert cfg.train_cfg.type in ('IterBasedTrainLoop', 'EpochBasedTrainLoop')


def test_extra_loop_arguments_are_accepted():
    """val_begin and fp16 are arguments of mmengine's loops, not typos."""
    cfg = load_config(QUICKSTART, {'train_cfg.val_begin': 1, 'test_cfg.fp16': False})
    assert cfg.train_cfg.val_begin == 1 and cfg.test_cfg.fp16 is False


def test_a_misspelled_env_cfg_key_is_refused_naming_the_closest():
    with pytest.raises(TypeError, match=r"env_cfg\.cudnn_benchmar in .*quickstart_synthetic\.py "
                                        r"\(or --cfg-options\): mmengine's Runner\.setup_env "
                                        r"takes no argument 'cudnn_benchmar'; did you mean "
                                        r"env_cfg\.cudnn_benchmark\?"):
        load_config(QUICKSTART, {'env_cfg.cudnn_benchmar': True})


def test_runtime_keys_pass_the_override_check():
    """--cfg-options allow_existing_work_dir=True (the documented opt-in) is a known key."""
    cfg = load_config(QUICKSTART, {'allow_existing_work_dir': True, 'compile': False})
    assert cfg.allow_existing_work_dir is True


def test_config_section_changes_the_stored_section_where_setdefault_does_not():
    """--tta, --calibration, --uncertainty and the gloo launcher change a config section in
    place; a config without it (every semi-supervised one lacks model.test_cfg) must not lose
    the change, as ConfigDict.setdefault's result does."""
    from mmengine.config import Config

    from cityseg.utils import apply_tta, config_section
    lost = Config(dict(model=dict(type='SemiSegmentor')))
    lost.model.setdefault('test_cfg', {})['return_logits'] = True
    assert lost.model.test_cfg == {}  # the mmengine behaviour config_section works around
    cfg = Config(dict(model=dict(type='SemiSegmentor', test_cfg=None)))
    config_section(cfg.model, 'test_cfg')['return_logits'] = True
    assert cfg.model.test_cfg == dict(return_logits=True)
    config_section(config_section(cfg, 'env_cfg'), 'dist_cfg')['backend'] = 'gloo'
    assert cfg.env_cfg.dist_cfg.backend == 'gloo'
    tta = Config(dict(model=dict(type='SemiSegmentor'), tta_cfg=dict(flip=True, scales=[1, 2])))
    apply_tta(tta)
    assert tta.model.test_cfg == dict(flip=True, scales=[1, 2])
