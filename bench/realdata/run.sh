#!/usr/bin/env bash
# The issue-11 comparison on "real" data: generates (once) TD_BENCH_REAL_ROWS
# rows (default 10M; 100M for the issue's figures) as a 64-location hive tree
# of snappy Parquet written by DuckDB (npm @duckdb/node-api) and the same rows
# as Arrow IPC written by Polars (the project's .venv), then times
# `tabledata query` against DuckDB and Polars (.venv) at 1 and 2 threads,
# best of TD_BENCH_REAL_REPEATS (default 3), and writes the Markdown table to
# <build>/bench-realdata-<rows>.md.  A second tree of TD_BENCH_REAL_MANY (default
# 20,000) tiny locations times planning and pruning ("one partition").  Issue
# 13's joins (a 5,003-row ref table, as many quotes as trades, also written
# by gen.mjs) are timed against DuckDB in the same run ("joins").
# `--smoke` runs 100,000 rows and 200 locations once (CI).
#
# usage: bench/realdata/run.sh [build dir (build/release)] [--smoke]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build/release}" && pwd)
rows=${TD_BENCH_REAL_ROWS:-10000000}
repeats=${TD_BENCH_REAL_REPEATS:-3}
many=${TD_BENCH_REAL_MANY:-20000}
if [ "${2:-}" = --smoke ]; then rows=100000 repeats=1 many=200; fi
py=${TD_VENV:-$here/../../.venv}/bin/python
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1 || [ ! -x "$py" ] ||
   ! "$py" -c "import duckdb, polars, pyarrow" 2>/dev/null; then
  echo "bench: realdata needs node, npm and the .venv with duckdb, polars and pyarrow (scripts/setup-deps.sh); skipped"
  exit 0
fi
work="$build/bench-realdata-node"
mkdir -p "$work"
cp "$here/package.json" "$here/gen.mjs" "$work/"
[ -d "$work/node_modules/@duckdb/node-api" ] || (cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
data="$build/bench-data/realdata-$rows-$many"
node "$work/gen.mjs" "$data" "$rows"
"$py" "$here/gen_ipc.py" "$data"
"$py" "$here/gen_many.py" "$data" "$many"
"$py" "$here/run.py" "$build/cli/tabledata" "$data" --repeats "$repeats" --formats parquet,arrow,many,joins \
  --out "$build/bench-realdata-$rows.md"
"$py" "$here/summary.py" "$build/bench-realdata-$rows.md"
