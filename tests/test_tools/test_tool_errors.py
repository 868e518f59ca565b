"""How the tools end on a named error, as a user types them: one line ``error: ...`` on
stderr, status 1, no traceback (``CITYSEG_DEBUG=1`` adds it), and nothing left behind: a
config file that is not a config (issue 31's fault run) and a checkpoint that is not one."""
import os.path as osp

import pytest
from helpers.cli import QUICKSTART, tool_process

# Runs the tools as subprocesses: the integration tier (docs/contributing.md).
pytestmark = pytest.mark.integration


def error_line(proc) -> str:
    """The one ``error:`` line a named error ends a tool with (status 1, no traceback)."""
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert 'Traceback' not in proc.stderr, proc.stderr[-3000:]
    lines = proc.stderr.rstrip('\n').splitlines()
    assert [line for line in lines if line.startswith('error:')] == lines[-1:], lines[-5:]
    return lines[-1]


@pytest.fixture
def not_python(tmp_path) -> str:
    path = tmp_path / 'my_config.py'
    path.write_text("model:\n  type: SMPSegmentor\n")  # YAML in a .py file
    return str(path)


@pytest.fixture
def unreadable_checkpoint(tmp_path) -> str:
    path = tmp_path / 'model.pth'
    path.write_text('not a checkpoint\n')  # e.g. a failed download's error page
    return str(path)


@pytest.fixture
def image(tmp_path) -> str:
    import numpy as np
    from PIL import Image
    path = tmp_path / 'street.png'
    Image.fromarray(np.zeros((64, 128, 3), np.uint8)).save(path)
    return str(path)


def tool_args(tool: str, config: str, checkpoint: str, image: str, tmp_path) -> list[str]:
    """A command line of ``tool`` as its docs give it."""
    out = str(tmp_path / 'out')
    return {
        'train.py': [config, '--work-dir', str(tmp_path / 'work')],
        'test.py': [config, checkpoint, '--work-dir', str(tmp_path / 'work')],
        'infer.py': [config, checkpoint, image, '--out', out],
        'export_onnx.py': [config, checkpoint, '--out', str(tmp_path / 'model.onnx')],
        'analysis_tools/robustness.py': [config, checkpoint, '--work-dir', out],
    }[tool]


# Every tool ends through cityseg.utils.cli.run_cli; these are the ones issue 31 names, and
# an analysis tool.
TOOLS = ['train.py', 'test.py', 'infer.py', 'export_onnx.py', 'analysis_tools/robustness.py']


@pytest.mark.parametrize('tool', TOOLS)
def test_a_config_that_is_not_python_ends_every_tool_with_one_line(tool, not_python,
                                                                   unreadable_checkpoint,
                                                                   image, tmp_path):
    proc = tool_process(tool, *tool_args(tool, not_python, unreadable_checkpoint, image,
                                         tmp_path))
    assert error_line(proc) == (f'error: {not_python} is not a Python config: invalid syntax '
                                'at line 1')
    assert sorted(p.name for p in tmp_path.iterdir()) == ['model.pth', 'my_config.py',
                                                          'street.png']  # nothing written


@pytest.mark.parametrize('tool', ['test.py', 'infer.py', 'export_onnx.py'])
def test_a_checkpoint_that_is_not_one_ends_with_one_line(tool, unreadable_checkpoint, image,
                                                         tmp_path):
    """Found after the config is read (export_onnx.py builds the model first): a traceback
    ending in torch's UnpicklingError, naming no file, before issue 31."""
    args = tool_args(tool, QUICKSTART, unreadable_checkpoint, image, tmp_path)
    proc = tool_process(tool, *args, '--cfg-options', 'model.encoder_weights=None')
    line = error_line(proc)
    assert line.startswith(f'error: checkpoint {unreadable_checkpoint} ')
    assert line.endswith('cannot be read by torch.load (Unsupported operand 110): it may be '
                         'truncated (an interrupted copy or download) or not a PyTorch file')


def test_cityseg_debug_adds_the_traceback(unreadable_checkpoint, image, tmp_path):
    args = tool_args('infer.py', QUICKSTART, unreadable_checkpoint, image, tmp_path)
    proc = tool_process('infer.py', *args, '--cfg-options', 'model.encoder_weights=None',
                        env={'CITYSEG_DEBUG': '1'})
    assert proc.returncode == 1
    assert 'Traceback (most recent call last):' in proc.stderr
    assert 'in safe_torch_load' in proc.stderr  # where it was raised
    assert proc.stderr.rstrip('\n').splitlines()[-1].startswith(
        f'error: checkpoint {unreadable_checkpoint} ')


@pytest.mark.parametrize('name, content, message', [
    ('a.py', "_base_ = ['b.py']\n", '{a} inherits itself through _base_: {a} -> {b} -> {a}; '
     'remove one of these _base_ entries'),
    ('latin1.py', "model = dict(type='Stra\xdfe')\n".encode('latin-1'),
     '{a} is not a config file: it is not UTF-8 text (invalid continuation byte at byte 23)'),
    ('metrics.json', '{"mIoU": 0.5}', "{a} sets no model, which this tool needs; is it a "
     "cityseg config? Its top-level keys: ['mIoU']"),
])
def test_train_names_a_bad_config_and_leaves_no_work_dir(name, content, message, tmp_path):
    """The fault run's three: a RecursionError after 2,505 lines, a bare UnicodeDecodeError,
    and a KeyError: 'model' that left an empty work dir holding .train.lock."""
    a, b = tmp_path / name, tmp_path / 'b.py'
    b.write_text(f"_base_ = ['{name}']\n")
    if isinstance(content, bytes):
        a.write_bytes(content)
    else:
        a.write_text(content)
    work_dir = tmp_path / 'work'
    proc = tool_process('train.py', str(a), '--work-dir', str(work_dir))
    assert error_line(proc) == 'error: ' + message.format(a=a, b=b)
    assert not osp.exists(work_dir)
