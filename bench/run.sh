#!/usr/bin/env bash
# Runs every benchmark of a build directory (default build/release).
set -euo pipefail
build=${1:-build/release}
"$build/bench/bench_core" "${TD_BENCH_LOCATIONS:-100}" "${TD_BENCH_ROWS:-500000}" "${TD_BENCH_REPEATS:-5}"
"$build/bench/bench_refresh" "${TD_BENCH_APPENDS:-10000}" "${TD_BENCH_SECONDS:-3}"
"$build/bench/bench_query" "${TD_BENCH_LOCATIONS:-100}" "${TD_BENCH_ROWS:-500000}" "${TD_BENCH_REPEATS:-3}"
"$build/bench/bench_join" "${TD_BENCH_TRADES:-1000000}" "${TD_BENCH_QUOTES:-1000000}" "${TD_BENCH_BATCH:-10000}" "${TD_BENCH_REPEATS:-3}"
"$build/bench/bench_window_live" "${TD_BENCH_TRADES:-1000000}" "${TD_BENCH_BATCH:-10000}" "${TD_BENCH_REPEATS:-3}"
"$build/bench/bench_parallel" "${TD_BENCH_PARALLEL_ROWS:-10000000}" 16 "${TD_BENCH_REPEATS:-3}"
"$build/bench/bench_files" "${TD_BENCH_FILES:-16000}" "${TD_BENCH_RECORD_MIB:-128}"
# shellcheck disable=SC2086
"$build/bench/bench_scale" ${TD_BENCH_SCALE:-100000 1000000}
# The PostgreSQL backend (a throwaway server; skipped without PostgreSQL).
if [ -x "$build/bench/bench_postgres" ]; then
  "$build/bench/bench_postgres" "${TD_BENCH_PG_ROWS:-1000000}" "${TD_BENCH_PG_COMMITS:-200}"
fi
# The Kafka backend on librdkafka's mock cluster (skipped without librdkafka).
if [ -x "$build/bench/bench_kafka" ]; then
  "$build/bench/bench_kafka" "${TD_BENCH_KAFKA_ROWS:-100000}" "${TD_BENCH_KAFKA_SAMPLES:-500}"
else
  echo "bench: built without librdkafka (TD_WITH_KAFKA=OFF); the Kafka benchmark skipped"
fi
"$build/bench/bench_types" "${TD_BENCH_TYPE_ROWS:-4000000}" "${TD_BENCH_REPEATS:-5}"
# decimals, string views and large strings from pyarrow files, against DuckDB
if [ -x .venv/bin/python ]; then
  .venv/bin/python bench/bench_types.py "$build/bench/bench_types" "${TD_BENCH_TYPE_ROWS:-4000000}" "${TD_BENCH_REPEATS:-5}"
fi
# tabledata against DuckDB (npm @duckdb/node-api) on the same files.
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  work="$build/bench-node"
  mkdir -p "$work"
  cp bench/duckdb/package.json bench/duckdb/bench.mjs bench/duckdb/joins.mjs bench/duckdb/windows.mjs bench/duckdb/compare.mjs "$work/"
  [ -d "$work/node_modules/@duckdb/node-api" ] || (cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
  node "$work/bench.mjs" "$(cd "$build" && pwd)/cli/tabledata" "$(cd "$build" && pwd)/bench-data" \
    "${TD_BENCH_DUCKDB_ROWS:-10000000}" "${TD_BENCH_REPEATS:-5}"
  # joins (hash and as-of) of the sample data against DuckDB
  [ -d /tmp/ticks/parquet ] || "$build/cli/tabledata" gen-sample /tmp/ticks >/dev/null
  node "$work/joins.mjs" "$(cd "$build" && pwd)/cli/tabledata" /tmp/ticks "${TD_BENCH_REPEATS:-3}"
  # SQL window functions (rolling 1-minute average per symbol) against DuckDB
  node "$work/windows.mjs" "$(cd "$build" && pwd)/cli/tabledata" /tmp/ticks "${TD_BENCH_REPEATS:-3}"
else
  echo "bench: node and npm are needed for the DuckDB comparison; skipped"
fi
# The Parquet read path against DuckDB (the .venv's duckdb): MB/s and peak RSS.
if [ -x .venv/bin/python ]; then
  .venv/bin/python bench/bench_read.py "$build/cli/tabledata" "$build/bench-data" \
    "${TD_BENCH_READ_ROWS:-10000000}" "${TD_BENCH_REPEATS:-3}"
  # COPY ... TO Parquet with the project's writer against DuckDB's COPY, same data.
  .venv/bin/python bench/bench_copy.py "$build/cli/tabledata" "$build/bench-data" \
    "${TD_BENCH_READ_ROWS:-10000000}" "${TD_BENCH_REPEATS:-3}"
else
  echo "bench: no .venv (scripts/setup-deps.sh); the read benchmark skipped"
fi
# Issue 11's comparison: tabledata, DuckDB and Polars at 1 and 2 threads on a
# 64-location hive tree (TD_BENCH_REAL_ROWS, default 10M; the table lands in
# $build/bench-realdata-<rows>.md).
bench/realdata/run.sh "$build" || echo "bench: the realdata comparison failed or its engines disagreed (see above)"
# Printing doubles: td_value_format's ns per value, then `tabledata query` and
# COPY ... TO CSV of 1M prices against DuckDB's COPY on the realdata tree.
"$build/bench/bench_format" "${TD_BENCH_FORMAT_VALUES:-10000000}" "${TD_BENCH_REPEATS:-3}"
if [ -x .venv/bin/python ]; then
  .venv/bin/python bench/bench_format.py "$build/cli/tabledata" \
    "$build/bench-data/realdata-${TD_BENCH_REAL_ROWS:-10000000}-${TD_BENCH_REAL_MANY:-20000}" \
    "${TD_BENCH_FORMAT_ROWS:-1000000}" "${TD_BENCH_REPEATS:-3}"
fi
# `tabledata serve`: append-to-WebSocket latency, HTTP snapshot throughput,
# 50 live clients (the project's .venv: pyarrow, websockets).
if [ -x .venv/bin/python ]; then
  .venv/bin/python bench/bench_serve.py "$build/cli/tabledata" "${TD_BENCH_APPENDS:-10000}" "${TD_BENCH_SERVE_ROWS:-1000000}"
else
  echo "bench: no .venv (scripts/setup-deps.sh); the serve benchmark skipped"
fi
# The Python package: a backend written in Python against the same data in the
# C memory backend (python/run-tests.sh makes the venv and installs the package).
if TD_PY_INSTALL_ONLY=1 ./python/run-tests.sh "$build" >/dev/null; then
  "${TD_VENV:-.venv}/bin/python" bench/bench_python.py "${TD_BENCH_LOCATIONS:-100}" "${TD_BENCH_ROWS:-500000}" "${TD_BENCH_REPEATS:-3}"
else
  echo "bench: the Python package could not be built (python3 -m venv, PyPI); skipped"
fi
# Against Deephaven's own table data service (pip install deephaven-server, Java 11+), in its
# own venv; TD_BENCH_DEEPHAVEN=0 skips it.
if [ "${TD_BENCH_DEEPHAVEN:-1}" != 0 ] && command -v java >/dev/null 2>&1 && [ -x "${TD_VENV:-.venv}/bin/python" ]; then
  dh=build/venv-dh
  [ -x "$dh/bin/python" ] || python3 -m venv "$dh"
  if "$dh/bin/python" -c "import deephaven_server" 2>/dev/null || "$dh/bin/pip" install -q deephaven-server numpy pyarrow; then
    TABLEDATA_BUILD_DIR=$(cd "$build" && pwd) "$dh/bin/pip" install -q --no-deps ./python >/dev/null 2>&1 || true
    "$dh/bin/python" bench/bench_deephaven.py "${TD_BENCH_DH_ROWS:-10000000}" "${TD_BENCH_DH_LOCATIONS:-100}" \
      || echo "bench: the Deephaven comparison failed (see above)"
  else
    echo "bench: deephaven-server could not be installed; Deephaven comparison skipped"
  fi
else
  echo "bench: Java 11+ and the Python venv are needed for the Deephaven comparison; skipped"
fi
