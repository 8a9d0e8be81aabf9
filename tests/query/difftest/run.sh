#!/usr/bin/env bash
# The differential test: generated queries (gen.mjs) through tabledata and
# DuckDB (npm @duckdb/node-api) over `tabledata gen-sample` data, compared
# typed (difftest.mjs).  Exit 77 (skipped) when npm cannot install DuckDB.
# usage: run.sh <tabledata program> <scratch dir> [count] [seed]
set -euo pipefail
cli=$1 work=$2 count=${3:-400} seed=${4:-13}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
if [ ! -d "$work/node_modules/@duckdb/node-api" ]; then
  cp "$here/package.json" "$work/"
  (cd "$work" && npm install --no-audit --no-fund --silent >/dev/null 2>&1) ||
    { echo "npm could not install @duckdb/node-api: skipped"; exit 77; }
fi
cp "$here/gen.mjs" "$here/fixed.mjs" "$here/difftest.mjs" "$work/"
rm -rf "$work/sample"
"$cli" gen-sample --rows 2000 --format parquet "$work/sample" >/dev/null
exec node "$work/difftest.mjs" "$cli" "$work/sample/parquet" "$count" "$seed"
