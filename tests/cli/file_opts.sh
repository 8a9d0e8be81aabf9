#!/usr/bin/env bash
# The file options of the command line (issue 10, item 7) with query,
# schema and locations: each option's effect and its error path.
set -uo pipefail
prog=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0
fail=0
# check NAME WANT-EXIT NEEDLE CMD...: runs CMD, wants its exit status and NEEDLE in stdout+stderr
check() {
  local name=$1 want=$2 needle=$3
  shift 3
  local out rc
  out=$("$@" 2>&1)
  rc=$?
  if [ "$rc" -eq "$want" ] && [[ "$out" == *"$needle"* ]]; then
    pass=$((pass + 1))
  else
    echo "FAIL: $name: exit $rc (wanted $want), output lacks '$needle':"
    echo "$out" | head -8 | sed 's/^/    /'
    fail=$((fail + 1))
  fi
}
mkdir -p "$work/t/n=1" "$work/t/n=20" "$work/semi" "$work/nulls" "$work/late"
printf 'a,b\n1,x\n2,y\n' > "$work/t/n=1/f.csv"
printf 'a,b\n3,z\n' > "$work/t/n=20/f.csv"
printf "a;b\n1;'x;y'\n2;'it''s'\n" > "$work/semi/f.csv"
printf 'v,w\n1,a\nNULL,NULL\n3,c\n' > "$work/nulls/f.csv"
printf 'v\n1\n2\n2.5\n' > "$work/late/f.csv"
printf 'a BIGINT,\nb VARCHAR\n' > "$work/schema.txt"

check "partition types inferred" 0 "n     int64                    partition" "$prog" schema "$work/t"
check "--partition-types none" 0 "n     utf8" "$prog" schema --partition-types none "$work/t"
check "--partition-types declared" 0 "n     float64" "$prog" schema --partition-types 'n DOUBLE' "$work/t"
check "--partition-types bad type" 2 "unknown type 'GEOMETRY'" "$prog" schema --partition-types 'n GEOMETRY' "$work/t"
check "--schema" 0 "a     int32" "$prog" schema --schema 'a INTEGER, b VARCHAR' "$work/t"
check "--schema @file" 0 "a     int64" "$prog" schema --schema "@$work/schema.txt" "$work/t"
check "--schema no file" 2 "cannot read" "$prog" schema --schema "@$work/nope" "$work/t"
check "--schema no type" 2 "has no type" "$prog" query --schema 'a' "SELECT * FROM '$work/t'"
check "--schema mismatch" 1 "declared schema" "$prog" query --schema 'a BIGINT' "SELECT * FROM '$work/t'"
check "--csv-delim --csv-quote" 0 "it's" "$prog" query --format csv --csv-delim ';' --csv-quote "'" "SELECT b FROM '$work/semi'"
check "--csv-delim two chars" 2 "expects one character" "$prog" query --csv-delim ';;' "SELECT 1 FROM '$work/semi'"
check "--csv-quote same as delim" 1 "cannot be the quote" "$prog" query --csv-quote ',' "SELECT * FROM '$work/t'"
check "--csv-null" 0 $'2,4' "$prog" query --format csv --csv-null NULL "SELECT count(v), sum(v) FROM '$work/nulls'"
check "no --csv-null: hint" 1 "--schema 'v VARCHAR" "$prog" query --csv-sample-rows 1 "SELECT sum(v) FROM '$work/nulls'"
check "--csv-sample-rows all" 0 "5.5" "$prog" query --format csv --csv-sample-rows all "SELECT sum(v) FROM '$work/late'"
check "--csv-sample-rows small: hint" 1 "--csv-sample-rows all" "$prog" query --csv-sample-rows 2 "SELECT sum(v) FROM '$work/late'"
check "--csv-sample-rows bad" 2 "a number > 0 or 'all'" "$prog" locations --csv-sample-rows 0 "$work/t"
check "option without value" 2 "needs a value" "$prog" locations "$work/t" --csv-null
check "glob source" 0 "1 location, 1 rows" "$prog" locations "$work/t/*=2*/*.csv"
check "glob query" 0 "3" "$prog" query --format csv "SELECT count(*) FROM '$work/t/**/*.csv'"
check "partition dir as path" 0 "n=20  rows=1" "$prog" locations "$work/t/n=20"
check "follow with options" 0 "n" "$prog" follow --duration 0.3 --period 100 --partition-types none "SELECT n FROM '$work/t'"
check "help lists the options" 0 "--csv-sample-rows N|all" "$prog" query --help
# DuckDB's file table functions: the format forced whatever the extension,
# DuckDB's option syntax (name = value, TRUE/FALSE/integers), and their errors
mkdir -p "$work/tsv/k=1"
printf 'v\tw\n1\tNA\n2\tb\n' > "$work/tsv/k=1/part.tsv"
cp "$work/semi/f.csv" "$work/semi.txt"
check "read_csv forced format, delim, nullstr" 0 $'1,1,3' "$prog" query --format csv "SELECT count(*) FILTER (WHERE w IS NULL), min(k), sum(v) FROM read_csv('$work/tsv', delim = '\t', nullstr = 'NA', header = true)"
check "read_csv_auto sep quote" 0 "it's" "$prog" query --format csv "SELECT b FROM read_csv_auto('$work/semi.txt', sep = ';', quote = '''')"
check "read_csv sample_size" 0 "5.5" "$prog" query --format csv "SELECT sum(v) FROM read_csv('$work/late/f.csv', sample_size = -1)"
check "read_csv glob, hive options" 0 $'n\n1\n1\n20' "$prog" query --format csv "SELECT n FROM read_csv('$work/t/**/*.csv', hive_partitioning = true, hive_types_autocast => 'false') ORDER BY n"
check "read_csv_auto on a directory" 0 "3" "$prog" query --format csv "SELECT count(*) FROM READ_CSV_AUTO('$work/t')"
check "read_parquet on csv" 1 "read_parquet" "$prog" query "SELECT * FROM read_parquet('$work/semi.txt')"
check "unknown option" 1 "unknown option 'bogus' (expected hive_partitioning" "$prog" query "SELECT * FROM read_csv('$work/t', bogus = 1)"
check "bad boolean" 1 "option hive_types_autocast: expected true or false, found 'maybe'" "$prog" query "SELECT * FROM read_csv('$work/t', hive_types_autocast = 'maybe')"
check "header = false" 1 "header = false is not supported" "$prog" query "SELECT * FROM read_csv('$work/t', header = false)"
check "hive_partitioning = false" 1 "hive_partitioning = false is not supported" "$prog" query "SELECT * FROM read_csv('$work/t', hive_partitioning = false)"
check "delim of two characters" 1 "option delim: expected one character" "$prog" query "SELECT * FROM read_csv('$work/t', delim = ';;')"
check "no path" 1 "expected read_csv('path or glob'" "$prog" query "SELECT * FROM read_csv(header = true)"
check "option value not a literal" 1 "a quoted string, TRUE, FALSE or an integer" "$prog" query "SELECT * FROM read_csv('$work/t', header = yes)"
check "no such path" 1 "$work/nope" "$prog" query "SELECT * FROM read_parquet('$work/nope/*.parquet')"
# random() is one value a row, not one a batch (3 rows in 2 locations: 3 values)
check "random() per row" 0 $'d\n3' "$prog" query --format csv "SELECT count(DISTINCT random()) AS d FROM '$work/t'"
echo "file options: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
