"""requirements/lock.txt, the versions tools/install.sh installs, agrees with setup.py.

A bound raised in setup.py without refreshing the lock (tools/refresh_lock.sh) would make the
default install fail to resolve; this names the package instead, without installing anything.
"""
import ast
import re
from pathlib import Path

from helpers.cli import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

LOCK = Path(ROOT, 'requirements', 'lock.txt')


def _setup_requirements() -> list[Requirement]:
    """install_requires and every extra of setup.py, read without running it."""
    values = {node.targets[0].id: ast.literal_eval(node.value)
              for node in ast.parse(Path(ROOT, 'setup.py').read_text()).body
              if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
              and node.targets[0].id in ('INSTALL_REQUIRES', 'EXTRAS_REQUIRE')}
    extras = [r for reqs in values['EXTRAS_REQUIRE'].values() for r in reqs]
    return [Requirement(r) for r in values['INSTALL_REQUIRES'] + extras]


def _lock() -> dict[str, Version]:
    pins = {}
    for number, line in enumerate(LOCK.read_text().splitlines(), 1):
        if not line or line.startswith('#'):
            continue
        match = re.fullmatch(r'([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)', line)
        assert match, f'{LOCK}:{number}: {line!r} is not name==version'
        name = canonicalize_name(match[1])
        assert name not in pins, f'{LOCK}:{number}: {name} pinned twice'
        pins[name] = Version(match[2])
    return pins


def test_lock_pins_every_requirement_of_setup_py_within_its_bounds():
    pins = _lock()
    assert 'cityseg' not in pins, 'the lock pins dependencies, not cityseg itself'
    for req in _setup_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f'{req} (setup.py) is missing from {LOCK}: run tools/refresh_lock.sh'
        assert req.specifier.contains(pins[name], prereleases=True), (
            f'{LOCK} pins {name}=={pins[name]}, outside setup.py\'s {req}: '
            'run tools/refresh_lock.sh')
    # The build tools install.sh itself pins (mmcv-lite builds with setuptools < 81).
    assert {'pip', 'setuptools', 'wheel'} <= set(pins) and pins['setuptools'] < Version('81')
