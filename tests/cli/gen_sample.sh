#!/usr/bin/env bash
# tabledata gen-sample: the hive trees it promises (15 locations for 5 days,
# one file per location and format), the requested row count in every
# format, the same rows in every format, byte-identical output for the same
# arguments, a different seed giving other data, and its error exits.
set -euo pipefail
prog=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0
check() { if [ "$2" = "$3" ]; then echo "ok: $1"; else echo "FAIL: $1: expected '$3', found '$2'"; fail=1; fi; }

"$prog" gen-sample "$work/a" --rows 100003 >/dev/null
"$prog" gen-sample "$work/b" --rows 100003 >/dev/null
"$prog" gen-sample "$work/c" --rows 100003 --seed 7 --format parquet >/dev/null
for fmt in parquet arrow csv; do
  check "$fmt files" "$(find "$work/a/$fmt" -type f | wc -l)" 15
  check "$fmt rows" "$("$prog" query --format csv "SELECT count(*) FROM '$work/a/$fmt'" | tail -1)" 100003
  check "$fmt is deterministic" "$(cd "$work/a/$fmt" && find . -type f | sort | xargs cat | md5sum)" \
    "$(cd "$work/b/$fmt" && find . -type f | sort | xargs cat | md5sum)"
done
check "2024-01-08 is the 5th trading day" "$(ls "$work/a/parquet" | tr '\n' ' ')" \
  "Date=2024-01-02 Date=2024-01-03 Date=2024-01-04 Date=2024-01-05 Date=2024-01-08 "
sql="SELECT Exchange, Symbol, count(*), sum(Size), sum(Volume), count(Flag), sum(Tick), sum(Code), min(Timestamp), max(Price) FROM '%s' GROUP BY Exchange, Symbol ORDER BY Exchange, Symbol"
p=$("$prog" query --format csv "$(printf "$sql" "$work/a/parquet")" | md5sum)
check "arrow rows equal parquet rows" "$("$prog" query --format csv "$(printf "$sql" "$work/a/arrow")" | md5sum)" "$p"
check "csv rows equal parquet rows" "$("$prog" query --format csv "$(printf "$sql" "$work/a/csv")" | md5sum)" "$p"
if [ "$("$prog" query --format csv "$(printf "$sql" "$work/c/parquet")" | md5sum)" = "$p" ]; then
  echo "FAIL: --seed 7 gave the same data as the default seed"; fail=1
fi
"$prog" gen-sample "$work/z" --rows 0 --days 1 --format csv >/dev/null
check "--rows 0 writes headers only" "$(cat "$work/z/csv/Date=2024-01-02/Exchange=NYSE/data.csv" | wc -l)" 1

set +e
"$prog" gen-sample "$work/x" --format orc >/dev/null 2>"$work/err"; check "bad --format exits 2" $? 2
grep -q "expects parquet, arrow, csv or all, found 'orc'" "$work/err" || { echo "FAIL: bad --format message: $(cat "$work/err")"; fail=1; }
"$prog" gen-sample "$work/x" --rows -5 >/dev/null 2>&1; check "negative --rows exits 2" $? 2
"$prog" gen-sample >/dev/null 2>&1; check "no directory exits 2" $? 2
touch "$work/file"
"$prog" gen-sample "$work/file/sub" >/dev/null 2>"$work/err"; check "unwritable directory exits 1" $? 1
grep -q "cannot create directory" "$work/err" || { echo "FAIL: unwritable directory message: $(cat "$work/err")"; fail=1; }
set -e
[ $fail -eq 0 ] && echo "gen-sample: passed"
exit $fail
