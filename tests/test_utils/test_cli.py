"""How a tool ends (cityseg.utils.cli.run_cli): one line for a named error, status 130 for a
Ctrl-C however a library wrapped it, a traceback for a bug."""
import pytest
from mmengine.config import Config
from mmengine.config import config as mmengine_config

from cityseg.utils.cli import DEBUG_ENV, INTERRUPTED_STATUS, run_cli
from cityseg.utils.errors import (
    CitysegKeyError,
    CitysegRuntimeError,
    CitysegTypeError,
    ConfigFileError,
)


def raising(err: BaseException):
    def main():
        raise err
    return main


def ended(main, capsys) -> tuple[int, str]:
    """run_cli(main)'s exit status and stderr."""
    with pytest.raises(SystemExit) as exit_info:
        run_cli(main)
    return exit_info.value.code, capsys.readouterr().err


@pytest.mark.parametrize('err, line', [
    (ValueError('bad value 3 in x.py'), 'error: bad value 3 in x.py'),
    (FileNotFoundError('no such file: a.pth'), 'error: no such file: a.pth'),
    (ConfigFileError('a.py inherits itself'), 'error: a.py inherits itself'),
    # a KeyError prints its message in quotes; cityseg's own does not
    (CitysegKeyError("--cfg-options x.y: no key 'x'"), "error: --cfg-options x.y: no key 'x'"),
    (CitysegTypeError('model.encoder_nme: no such argument'),
     'error: model.encoder_nme: no such argument'),
    (CitysegRuntimeError('a.pth does not fit the model'), 'error: a.pth does not fit the model'),
    (ModuleNotFoundError("No module named 'onnxruntime'"),
     "error: No module named 'onnxruntime'"),
], ids=lambda v: type(v).__name__ if isinstance(v, BaseException) else '')
def test_a_named_error_ends_with_one_line_and_status_1(err, line, capsys, monkeypatch):
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    status, stderr = ended(raising(err), capsys)
    assert status == 1
    assert stderr == line + '\n'


@pytest.mark.parametrize('err', [KeyError('model'), TypeError("'NoneType' is not subscriptable"),
                                 RuntimeError('shape mismatch'), AttributeError('net')],
                         ids=lambda e: type(e).__name__)
def test_a_bug_keeps_its_traceback(err, monkeypatch):
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    with pytest.raises(type(err)) as raised:
        run_cli(raising(err))
    assert raised.value is err  # re-raised as it was: Python prints the traceback


def test_debug_switch_adds_the_traceback(capsys, monkeypatch):
    monkeypatch.setenv(DEBUG_ENV, '1')
    status, stderr = ended(raising(ValueError('bad value')), capsys)
    assert status == 1
    assert stderr.startswith('Traceback (most recent call last):')
    assert stderr.endswith('ValueError: bad value\nerror: bad value\n')
    monkeypatch.setenv(DEBUG_ENV, '0')  # '0' is off
    assert ended(raising(ValueError('bad value')), capsys) == (1, 'error: bad value\n')


def test_ctrl_c_ends_with_status_130_and_its_note(capsys, monkeypatch):
    monkeypatch.delenv(DEBUG_ENV, raising=False)
    assert ended(raising(KeyboardInterrupt()), capsys) == (INTERRUPTED_STATUS, 'interrupted\n')

    class Noted(KeyboardInterrupt):
        pass
    status, stderr = ended(raising(Noted('resume with --resume')), capsys)
    assert (status, stderr) == (130, 'interrupted: resume with --resume\n')


def test_ctrl_c_inside_mmengine_config_formatting_is_an_interruption(capsys, monkeypatch):
    """mmengine's Config.pretty_text turns anything raised while yapf formats the config, a
    KeyboardInterrupt included, into a SyntaxError; every checkpoint save formats it."""
    monkeypatch.delenv(DEBUG_ENV, raising=False)

    def interrupted_format(*args, **kwargs):
        raise KeyboardInterrupt
    monkeypatch.setattr(mmengine_config, 'FormatCode', interrupted_format)
    cfg = Config(dict(model=dict(type='SMPSegmentor')))
    with pytest.raises(SyntaxError, match='Failed to format the config file'):
        cfg.pretty_text  # noqa: B018 (the property is what raises)
    status, stderr = ended(lambda: cfg.pretty_text, capsys)
    assert (status, stderr) == (INTERRUPTED_STATUS, 'interrupted\n')
