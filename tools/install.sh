#!/usr/bin/env bash
# Install cityseg and its dependencies into the current Python environment.
#   bash tools/install.sh          # runtime dependencies (train, test, demo)
#   bash tools/install.sh --dev    # plus the test tools (pytest, ruff, playwright), optional
#                                  # extras, and Debian's chromium for the report's browser test
# Why a script: mmcv-lite 2.2.0 ships only as an sdist whose setup.py imports pkg_resources,
# which setuptools >= 81 removed. It must be built with setuptools < 81 present and without
# build isolation (an isolated build would fetch the newest setuptools again).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
extras=""
if [[ "${1:-}" == "--dev" ]]; then
  extras="[tests,tensorboard,onnx]"
  # The report's browser test drives this Chromium through playwright, which downloads none.
  if ! command -v chromium > /dev/null; then
    SUDO=""; if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium > /dev/null
  fi
fi

"$PY" -m pip install --quiet --upgrade "pip>=23" "setuptools>=69,<81" wheel
"$PY" -m pip install --quiet --no-build-isolation "mmcv-lite==2.2.0"
"$PY" -m pip install --quiet --no-build-isolation -e ".${extras}"
"$PY" -c "import cityseg, mmcv, mmengine, torch; print(f'cityseg {cityseg.__version__} installed (torch {torch.__version__}, mmengine {mmengine.__version__}, mmcv {mmcv.__version__})')"
