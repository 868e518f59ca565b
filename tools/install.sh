#!/usr/bin/env bash
# Install cityseg and its dependencies into the current Python environment.
#   bash tools/install.sh               # runtime dependencies (train, test, demo)
#   bash tools/install.sh --dev         # plus the test and docs tools (pytest, ruff, playwright,
#                                       # mkdocs-material), the optional extras, and Debian's
#                                       # chromium for the report's browser test
#   bash tools/install.sh --no-lock     # newest releases setup.py allows, not the tested ones
#   PYTHON=/path/to/venv/bin/python bash tools/install.sh ...   # into another environment
# By default every package is held to the version in requirements/lock.txt, the set CI last
# tested (pip constraints: the file pins versions but installs nothing by itself, so the same
# file serves the runtime and the dev install). tools/refresh_lock.sh rewrites it.
# Why a script: mmcv-lite 2.2.0 ships only as an sdist whose setup.py imports pkg_resources,
# which setuptools >= 81 removed. It must be built with setuptools < 81 present and without
# build isolation (an isolated build would fetch the newest setuptools again).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
LOCK=requirements/lock.txt
dev=0; lock=1
for arg in "$@"; do
  case "$arg" in
    --dev) dev=1 ;;
    --no-lock) lock=0 ;;
    *) echo "tools/install.sh: unknown option '$arg' (use --dev, --no-lock)" >&2; exit 2 ;;
  esac
done

extras=""
if (( dev )); then
  extras="[tests,docs,tensorboard,onnx]"
  # The report's browser test drives this Chromium through playwright, which downloads none.
  if ! command -v chromium > /dev/null; then
    SUDO=""; if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium > /dev/null
  fi
fi
pins=()
if (( lock )); then pins=(-c "$LOCK"); fi

"$PY" -m pip install --quiet --upgrade "${pins[@]}" "pip>=23" "setuptools>=69,<81" wheel
"$PY" -m pip install --quiet --no-build-isolation "${pins[@]}" "mmcv-lite==2.2.0"
"$PY" -m pip install --quiet --no-build-isolation "${pins[@]}" -e ".${extras}"
"$PY" -c "import cityseg, mmcv, mmengine, torch; print(f'cityseg {cityseg.__version__} installed (torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__})')"
