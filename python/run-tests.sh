#!/usr/bin/env bash
# Builds the tabledata Python package in a virtual environment and runs its
# pytest suite (ctest's test_python; also by hand).
#   python/run-tests.sh [CMAKE_BUILD_DIR] [pytest arguments...]
# CMAKE_BUILD_DIR: a build directory holding libtabledata.a to link (else
# setup.py builds the library itself).  The venv is $TD_VENV or .venv (the one scripts/setup-deps.sh makes);
# it is created when missing and given python/requirements-test.txt.
# Exit 77 (ctest: skipped) when the requirements cannot be installed.
# TD_PY_INSTALL_ONLY=1: build and install only (no tests); TD_PY_VENV_ONLY=1: the venv only.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
venv=${TD_VENV:-$root/.venv}
py=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
  "$py" -m venv "$venv" || { echo "run-tests: cannot create a venv with $py" >&2; exit 77; }
fi
stamp="$venv/.tabledata-requirements"
if ! cmp -s "$here/requirements-test.txt" "$stamp"; then
  if ! "$venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements-test.txt"; then
    echo "run-tests: cannot install python/requirements-test.txt (no network?); skipped" >&2
    exit 77
  fi
  cp "$here/requirements-test.txt" "$stamp"
fi

# TD_PY_VENV_ONLY=1: stop here (run-asan.sh builds its own extension).
[ -z "${TD_PY_VENV_ONLY:-}" ] || exit 0

if [ $# -gt 0 ]; then
  if [ -f "$1/libtabledata.a" ]; then export TABLEDATA_BUILD_DIR=$(cd "$1" && pwd); fi
  shift
fi
"$venv/bin/pip" install -q --disable-pip-version-check --no-build-isolation --no-deps "$here" 2>&1 \
  | grep -v -e "BetaConfiguration" -e "bdist_wheel" -e "^ *warn" || true
"$venv/bin/python" -c "import tabledata._tabledata" || { echo "run-tests: the package did not build" >&2; exit 1; }
# TD_PY_INSTALL_ONLY=1: stop here (bench/run.sh uses the venv).
[ -z "${TD_PY_INSTALL_ONLY:-}" ] || exit 0

# From tests/, so that the source tree's tabledata/ (no extension) is not on sys.path.
cd "$here/tests"
exec "$venv/bin/python" -X faulthandler -m pytest -q -p no:cacheprovider -o faulthandler_timeout=300 . "$@"
