#!/usr/bin/env bash
# Rewrite requirements/lock.txt, the versions tools/install.sh installs, with the newest
# releases that setup.py's bounds allow today:
#   bash tools/refresh_lock.sh [VENV]    # VENV: where to build the fresh environment
#                                        # (default: a temporary folder, removed afterwards)
# It installs `tools/install.sh --dev --no-lock` into a new virtualenv and freezes that
# environment (every runtime, test and docs dependency, transitive ones, CUDA wheels and the
# build tools pip/setuptools/wheel included; cityseg itself left out). Then run the suite with
# the new lock (`PYTHON=VENV/bin/python`, or `bash .ci/run` in a fresh environment) before
# committing it: the lock must hold what CI tested.
set -euo pipefail
cd "$(dirname "$0")/.."
PY3=${PYTHON:-python3}
venv=${1:-}
if [[ -z "$venv" ]]; then
  venv=$(mktemp -d)/venv
  trap 'rm -rf "$(dirname "$venv")"' EXIT
fi
[[ -e "$venv" ]] && { echo "tools/refresh_lock.sh: $venv exists; give a new folder" >&2; exit 2; }
"$PY3" -m venv "$venv"
PYTHON="$venv/bin/python" bash tools/install.sh --dev --no-lock
{
  echo "# Versions tools/install.sh installs (pip constraints), written by tools/refresh_lock.sh"
  echo "# on $(date -u +%Y-%m-%d) with $("$venv/bin/python" -V) on $(uname -sm)."
  echo "# Refresh: bash tools/refresh_lock.sh, then run the suite with it before committing."
  "$venv/bin/python" -m pip freeze --all --exclude-editable
} > requirements/lock.txt
echo "requirements/lock.txt: $(grep -vc '^#' requirements/lock.txt) packages"
