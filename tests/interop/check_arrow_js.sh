#!/usr/bin/env bash
# `tabledata query --format arrow` read back by Apache Arrow JS (npm
# apache-arrow) gives the same rows as `--format jsonl`.
# usage: check_arrow_js.sh <tabledata program> <scratch dir> <testdata dir>
set -euo pipefail
cli=$1 work=$2 data=$3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"
if [ ! -d "$work/node_modules/apache-arrow" ]; then
  cp "$here/package.json" "$work/"
  (cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
fi
cp "$here/read_arrow.mjs" "$work/"
fail=0
check() {
  local sql=$1
  "$cli" query --format arrow "$sql" > "$work/out.arrows"
  node "$work/read_arrow.mjs" < "$work/out.arrows" > "$work/js.jsonl"
  "$cli" query --format jsonl "$sql" > "$work/td.jsonl"
  if cmp -s "$work/js.jsonl" "$work/td.jsonl"; then
    echo "ok: $(wc -l < "$work/td.jsonl") rows: $sql"
  else
    echo "MISMATCH: $sql"; diff "$work/td.jsonl" "$work/js.jsonl" | head -5; fail=1
  fi
}
check "SELECT * FROM demo"
check "SELECT Ticker, count(*) AS n, sum(Long) AS s, avg(Double) AS a FROM demo GROUP BY Ticker ORDER BY Ticker"
check "SELECT * FROM '$data/fixtures/ticks/parquet' WHERE Date = '2024-01-03' AND Exchange = 'BZX' LIMIT 700"
check "SELECT Symbol, Flag, Volume, Timestamp FROM '$data/fixtures/ticks/arrow' WHERE Volume IS NULL OR Symbol IS NULL LIMIT 50"
exit $fail
