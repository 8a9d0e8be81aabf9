#!/usr/bin/env bash
# The query progress line: on a terminal (a pseudo-terminal made by
# script(1)), for an aggregation and for a streamed select, it shows the
# percentage, rows scanned of the total and the rate on stderr; with stderr
# not a terminal, nothing is shown.  TD_PROGRESS_AFTER_MS=0 makes it show
# on a short query.
set -euo pipefail
prog=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$prog" gen-sample "$work/t" --rows 200000 --days 2 --format parquet >/dev/null
fail=0
for sql in "SELECT Symbol, count(*), avg(Price) FROM '$work/t/parquet' GROUP BY Symbol" \
           "SELECT Price FROM '$work/t/parquet' WHERE Size > 100000"; do
  TD_PROGRESS_AFTER_MS=0 script -qec "$prog query \"$sql\" > $work/out" "$work/tty" >/dev/null
  line=$(tr '\r' '\n' < "$work/tty" | grep -a 'rows/s' | tail -1 || true)
  if [[ "$line" =~ 100\.0%\ +200\.0k\ of\ 200\.0k\ rows,\ [0-9.]+[kMG]?\ rows/s ]]; then
    echo "ok: $sql: ${line//$'\e'\[K/}"
  else
    echo "FAIL: $sql: expected a final progress line '100.0%  200.0k of 200.0k rows, N rows/s', found '$line'"
    fail=1
  fi
  TD_PROGRESS_AFTER_MS=0 "$prog" query "$sql" > "$work/out" 2> "$work/err"
  if [ -s "$work/err" ]; then
    echo "FAIL: $sql: printed to stderr that is not a terminal: $(cat "$work/err")"
    fail=1
  fi
done
[ $fail -eq 0 ] && echo "progress: passed"
exit $fail
