"""A file that is not a config, read through load_config: named (file, line, cycle), in one
error, before any tool creates a work dir."""
import os
import os.path as osp
import re

import pytest
from helpers.cli import ROOT

from cityseg.utils import load_config
from cityseg.utils.errors import ConfigFileError


def write(path, text: str | bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def test_a_base_cycle_names_its_files(tmp_path):
    a = write(tmp_path / 'a.py', "_base_ = ['sub/b.py']\nmodel = dict(type='SMPSegmentor')\n")
    b = write(tmp_path / 'sub' / 'b.py', "_base_ = ['../a.py']\nx = 1\n")
    with pytest.raises(ConfigFileError) as raised:
        load_config(a)
    assert str(raised.value).startswith(f'{a} inherits itself through _base_: {a} -> {b} -> {a}')


def test_a_file_inheriting_itself_is_a_cycle_of_one(tmp_path):
    a = write(tmp_path / 'a.py', "_base_ = 'a.py'\n")
    with pytest.raises(ConfigFileError, match=re.escape(f'{a} -> {a};')):
        load_config(a)


def test_a_cycle_below_the_config_names_only_the_cycle(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # paths are shown relative to the working directory
    write(tmp_path / 'leaf.py', "_base_ = ['mid.py']\n")
    write(tmp_path / 'mid.py', "_base_ = ['loop.py']\n")
    write(tmp_path / 'loop.py', "_base_ = ['loop.py']\n")
    with pytest.raises(ConfigFileError, match=r'^loop\.py inherits itself through _base_: '
                       r'loop\.py -> loop\.py;'):
        load_config('leaf.py')


def test_a_shared_base_is_no_cycle(tmp_path):
    """Two bases inheriting one file (a diamond) load: only a file inheriting itself is."""
    write(tmp_path / 'common.py', "model = dict(type='SMPSegmentor', num_classes=3)\n")
    write(tmp_path / 'one.py', "_base_ = ['common.py']\nx = 1\n")
    write(tmp_path / 'two.py', "_base_ = ['common.py']\ny = 2\n")
    # mmengine refuses keys defined in two bases, so the leaf inherits one and reads the other
    leaf = write(tmp_path / 'leaf.py', "_base_ = ['one.py']\nz = 3\n")
    cfg = load_config(leaf, required=())
    assert (cfg.x, cfg.z, cfg.model.num_classes) == (1, 3, 3)


@pytest.mark.parametrize('name, content, message', [
    ('yaml_in_a.py', 'model:\n  type: SMPSegmentor\n  num_classes: [1, 2\n',
     r'is not a Python config: invalid syntax at line 1'),
    ('latin1.py', "model = dict(type='Stra\xdfe')\n".encode('latin-1'),
     r'is not a config file: it is not UTF-8 text \(invalid continuation byte at byte 23\)'),
    ('broken.json', '{"model": {"type": "SMPSegmentor",}}',
     r'is not a JSON config: Expecting property name'),
    ('list.json', '[1, 2]', r'holds a list, not a mapping of config keys'),
    ('notes.txt', 'model = 1\n', r'is not a config file: a config is a \.py / \.json / \.yaml '
     r'/ \.yml file, not \.txt'),
])
def test_a_file_that_is_not_a_config_is_named(tmp_path, name, content, message):
    path = write(tmp_path / name, content)
    with pytest.raises(ConfigFileError, match=rf'^{re.escape(path)} {message}'):
        load_config(path)


def test_a_base_that_is_not_python_is_named_not_its_child(tmp_path):
    base = write(tmp_path / '_base_' / 'model.py', 'model = dict(\n')
    leaf = write(tmp_path / 'leaf.py', "_base_ = ['_base_/model.py']\n")
    with pytest.raises(ConfigFileError,
                       match=rf"^{re.escape(base)} is not a Python config: '\(' was never"):
        load_config(leaf)


def test_an_error_in_the_config_code_names_its_file_and_line(tmp_path):
    """Python, but not a config (YAML that happens to parse): the NameError names the line."""
    path = write(tmp_path / 'yaml_like.py', 'x = 1\nmodel: {type: SMPSegmentor}\n')
    with pytest.raises(ConfigFileError, match=rf"^{re.escape(path)}, line 2: NameError: "
                       r"name 'SMPSegmentor' is not defined"):
        load_config(path)


def test_a_config_without_the_keys_a_tool_needs_is_named(tmp_path):
    path = write(tmp_path / 'metrics.json', '{"mIoU": 0.5, "aAcc": 0.9}')
    with pytest.raises(ConfigFileError, match=rf"^{re.escape(path)} sets no model, which this "
                       r"tool needs; is it a cityseg config\? Its top-level keys: "
                       r"\['aAcc', 'mIoU'\]"):
        load_config(path)
    assert load_config(path, required=()).mIoU == 0.5  # print_config needs none


def test_a_missing_config_is_named(tmp_path):
    missing = str(tmp_path / 'none.py')
    with pytest.raises(FileNotFoundError, match=re.escape(f'config file {missing} does not')):
        load_config(missing)


def test_every_shipped_config_passes_the_file_checks():
    configs = [osp.join(d, f) for d, _, files in os.walk(osp.join(ROOT, 'configs'))
               for f in files if f.endswith('.py')]
    assert len(configs) > 40
    from cityseg.utils.config_file import check_config_files
    for path in configs:
        assert osp.realpath(path) in check_config_files(path)


def test_what_mmengine_refuses_while_merging_names_the_config(tmp_path):
    write(tmp_path / 'base.py', 'model = dict(num_classes=3, label_map=None)\n')
    leaf = write(tmp_path / 'leaf.py',
                 "_base_ = ['base.py']\nmodel = dict(label_map={11: 255})\n")
    with pytest.raises(ConfigFileError, match=rf'^{re.escape(leaf)}: TypeError: '
                       r'label_map=\{11: 255\} in child config cannot inherit from base'):
        load_config(leaf)
