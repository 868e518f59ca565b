"""--cfg-options typos and unknown hook arguments stop a run before it starts, naming the key."""
import pytest
from helpers.cli import QUICKSTART, run_tool

from cityseg.utils import load_config


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


def test_loop_arguments_of_every_config_are_accepted():
    """The real loop arguments (max_iters, val_interval, val_begin, fp16...) pass."""
    cfg = load_config(QUICKSTART, {'train_cfg.val_begin': 1, 'test_cfg.fp16': False})
    assert cfg.train_cfg.val_begin == 1
