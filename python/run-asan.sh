#!/usr/bin/env bash
# Runs the Python suite with the extension and the library under ASan+UBSan
# (ctest's test_python_asan in `make asan`; also by hand).
#   python/run-asan.sh ASAN_CMAKE_BUILD_DIR [pytest arguments...]
# The build dir must hold a libtabledata.a built with -DTD_SANITIZE=address,undefined.
# The extension is built into BUILD/python-asan (not installed); the venv is
# python/run-tests.sh's.  The make/release cycle tests skip their RSS check
# (ASan's quarantine keeps freed memory).  Exit 77 when no venv can be made.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "$1" && pwd)
shift
venv=${TD_VENV:-$(dirname "$here")/.venv}
TD_PY_VENV_ONLY=1 "$here/run-tests.sh" || exit $?
out="$build/python-asan"
cd "$here"
TABLEDATA_BUILD_DIR="$build" CFLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -g" \
  LDFLAGS="-fsanitize=address,undefined" "$venv/bin/python" setup.py -q build_ext \
  --build-lib "$out" --build-temp "$build/python-asan-tmp" >/dev/null 2>&1
cp tabledata/*.py "$out/tabledata/"
cc=${CC:-cc}
export PYTHONPATH="$out"
export LD_PRELOAD="$($cc -print-file-name=libasan.so):$($cc -print-file-name=libubsan.so)"
export ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export TD_PY_SANITIZED=1
cd "$here/tests"
exec "$venv/bin/python" -X faulthandler -m pytest -q -p no:cacheprovider -o faulthandler_timeout=600 . "$@"
