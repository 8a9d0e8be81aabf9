#!/usr/bin/env bash
# Runs every benchmark of a build directory (default build/release).
set -euo pipefail
build=${1:-build/release}
"$build/bench/bench_core" "${TD_BENCH_LOCATIONS:-100}" "${TD_BENCH_ROWS:-500000}" "${TD_BENCH_REPEATS:-5}"
"$build/bench/bench_refresh" "${TD_BENCH_APPENDS:-10000}" "${TD_BENCH_SECONDS:-3}"
"$build/bench/bench_query" "${TD_BENCH_LOCATIONS:-100}" "${TD_BENCH_ROWS:-500000}" "${TD_BENCH_REPEATS:-3}"
"$build/bench/bench_files" "${TD_BENCH_FILES:-16000}" "${TD_BENCH_RECORD_MIB:-128}"
"$build/bench/bench_types" "${TD_BENCH_TYPE_ROWS:-4000000}" "${TD_BENCH_REPEATS:-5}"
# tabledata against DuckDB (npm @duckdb/node-api) on the same files.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  work="$build/bench-node"
  mkdir -p "$work"
  cp bench/duckdb/package.json bench/duckdb/bench.mjs "$work/"
  [ -d "$work/node_modules/@duckdb/node-api" ] || (cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
  node "$work/bench.mjs" "$(cd "$build" && pwd)/cli/tabledata" "$(cd "$build" && pwd)/bench-data" \
    "${TD_BENCH_DUCKDB_ROWS:-10000000}" "${TD_BENCH_REPEATS:-5}"
else
  echo "bench: node and npm are needed for the DuckDB comparison; skipped"
fi
# The Python package: a backend written in Python against the same data in the
# C memory backend (python/run-tests.sh makes the venv and installs the package).
if TD_PY_INSTALL_ONLY=1 ./python/run-tests.sh "$build" >/dev/null; then
  "${TD_VENV:-build/venv}/bin/python" bench/bench_python.py "${TD_BENCH_LOCATIONS:-100}" "${TD_BENCH_ROWS:-500000}" "${TD_BENCH_REPEATS:-3}"
else
  echo "bench: the Python package could not be built (python3 -m venv, PyPI); skipped"
fi
