#!/usr/bin/env bash
# Golden tests of the tabledata program: each case is a command line and its
# exact expected standard output (or its exit status and a piece of its
# error message).  usage: golden.sh <tabledata program> <testdata dir>
set -uo pipefail
cli=$1 data=$2
pass=0 fail=0

expect() { # expect ARGS... ; expected stdout on stdin
  local want got
  want=$(cat)
  got=$("$cli" "$@" 2>&1)
  if [ "$got" == "$want" ]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: tabledata $*"; diff <(echo "$want") <(echo "$got") | head -10
  fi
}

expect_error() { # expect_error STATUS TEXT ARGS...
  local status=$1 text=$2; shift 2
  local out; out=$("$cli" "$@" 2>&1 >/dev/null); local got=$?
  if [ "$got" == "$status" ] && [[ "$out" == *"$text"* ]]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: tabledata $* -> status $got, stderr: $out (wanted $status, '$text')"
  fi
}

expect query "SELECT Ticker, Exchange, Int, String, Datetime FROM demo WHERE Int < 0" <<'EOF'
Ticker | Exchange | Int | String | Datetime
-------+----------+-----+--------+-------------------------------
GOOG   | NYSE     | -1  | bar    | 2024-10-01T16:45:00.000000000Z
MSFT   | BZX      | -1  | bar    | 2024-10-01T16:45:00.000000000Z
MSFT   | BZY      | -1  | bar    | 2024-10-01T16:45:00.000000000Z
EOF

expect query --format csv "SELECT Ticker, Float, Double, Boolean, Char FROM demo WHERE Exchange = 'BZX'" <<'EOF'
Ticker,Float,Double,Boolean,Char
MSFT,1.01,1.01,true,45
MSFT,-1.01,-1.01,false,49
EOF

expect query --format jsonl "SELECT Exchange, count(*) AS n, sum(Byte) AS b, min(String) AS lo FROM demo GROUP BY Exchange ORDER BY Exchange DESC" <<'EOF'
{"Exchange":"NYSE","n":2,"b":0,"lo":"bar"}
{"Exchange":"BZY","n":2,"b":0,"lo":"bar"}
{"Exchange":"BZX","n":2,"b":0,"lo":"bar"}
EOF

expect query --format csv "SELECT DISTINCT Ticker FROM demo ORDER BY Ticker" <<'EOF'
Ticker
GOOG
MSFT
EOF

expect query --format csv "SELECT Long * 10 + 1 AS x, Double / 0 AS inf, String = 'foo' AS foo FROM demo LIMIT 2" <<'EOF'
x,inf,foo
11,,true
-9,,false
EOF

expect query --format jsonl "SELECT count(*) AS n, count(Symbol) AS symbols, max(Timestamp) AS ts FROM '$data/fixtures/ticks/parquet' WHERE Exchange = 'NYSE' AND Date BETWEEN '2024-01-03' AND '2024-01-04'" <<'EOF'
{"n":9197,"symbols":9094,"ts":"2024-01-04T09:30:05.194537000Z"}
EOF

expect query --format csv "SELECT 'a,b' AS s, 'say \"hi\"' AS q FROM demo LIMIT 1" <<'EOF'
s,q
"a,b","say ""hi"""
EOF

expect_error 1 "unknown column 'Prcie' at offset 7" query "SELECT Prcie FROM demo"
expect_error 1 "expected" query "SELECT FROM demo"
expect_error 1 "cannot convert 'x' to int32" query "SELECT Ticker FROM demo WHERE Int = 'x'"
expect_error 1 "cannot compare" query "SELECT Ticker FROM demo WHERE Ticker = 1"
expect_error 1 "unknown source 'nope'" query "SELECT * FROM nope"
expect_error 1 "'/no/such/dir': No such file or directory" query "SELECT * FROM '/no/such/dir'"
expect_error 2 "--format expects" query --format xml "SELECT * FROM demo"
expect_error 2 "unknown option" query --frobnicate "SELECT * FROM demo"
expect_error 2 "expected a query" query
expect_error 2 "unknown command" frobnicate
expect_error 2 "unknown option" demo --nope

# Issue 8, items 20-26 (queries and CLI).
expect query --format csv "SELECT Ticker, Int FROM demo ORDER BY 2, 1" <<'EOF'
Ticker,Int
GOOG,-1
MSFT,-1
MSFT,-1
GOOG,1
MSFT,1
MSFT,1
EOF
expect_error 1 "ORDER BY position 3 is not in the select list" query "SELECT Ticker, Int FROM demo ORDER BY 3"
expect_error 1 "integer overflow in sum(Long * 9223372036854775807)" query "SELECT sum(Long * 9223372036854775807) FROM demo WHERE Long = 1"
expect_error 1 "timestamp '9999-12-31' at offset 43 is out of range" query "SELECT count(*) FROM demo WHERE Datetime < '9999-12-31'"
# messages show the user's text, not the plan's internal column names
expect_error 1 "sum expects a numeric argument, found utf8 in sum(String)" query "SELECT sum(String) FROM demo"
out=$("$cli" query "SELECT Ticker, avg(Boolean) FROM demo GROUP BY Ticker" 2>&1)
if [[ "$out" != *__* ]]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: internal name in: $out"; fi
# UTF-8 identifiers are whole characters; a byte that is not UTF-8 is named
expect_error 1 "unknown column 'Prix€' at offset 7" query "SELECT Prix€ FROM demo"
expect_error 1 "found the byte 0xFF, which is not UTF-8" query $'SELECT \xff FROM demo'
expect query --format csv "SELECT Ticker AS Tické FROM demo LIMIT 1" <<'EOF'
Tické
GOOG
EOF
# the grid pads to terminal columns (a wide character takes two, é one), and
# an error's caret stands under its token after such text
expect query "SELECT Ticker AS Tické, '日本語' AS wide, 'x' AS x FROM demo LIMIT 2" <<'EOF'
Tické | wide   | x
------+--------+--
GOOG  | 日本語 | x
GOOG  | 日本語 | x
EOF
expect query "SELECT '日本語' AS wide, nosuch(1) FROM demo" <<'EOF'
tabledata query: unknown function 'nosuch' at offset 28
  SELECT '日本語' AS wide, nosuch(1) FROM demo
                           ^
EOF
# a query that starts with a -- comment is a query; -- ends the options
expect query --format csv "-- the tickers
SELECT DISTINCT Ticker FROM demo ORDER BY 1" <<'EOF'
Ticker
GOOG
MSFT
EOF
expect query --format csv -- "--x
SELECT count(*) AS n FROM demo" <<'EOF'
n
6
EOF
expect_error 2 "unknown option '--x'" query --x "SELECT 1 FROM demo"
# a failed write to standard output is an error in every format
for fmt in grid csv jsonl arrow; do
  out=$("$cli" query --format $fmt "SELECT * FROM demo" 2>&1 >/dev/full); got=$?
  if [ "$got" == 1 ] && [[ "$out" == *"No space left on device"* ]]; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: query --format $fmt > /dev/full -> status $got, stderr: $out"; fi
done
# follow: a live query that fails ends the command, on stderr, with status 1
errf=$(mktemp)
out=$(timeout 60 "$cli" follow --duration 30 --period 50 --rate 100 "SELECT sum(Long * 2305843009213693952) FROM demo WHERE Long > 0" 2>"$errf"); got=$?
err=$(cat "$errf"); rm -f "$errf"
if [ "$got" == 1 ] && [[ "$err" == *"the live query failed: integer overflow in "* ]] && [[ "$out" != *failed* ]]; then
  pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: follow after a failure -> status $got, stderr: $err"; fi

for cmd in demo query follow schema locations; do
  if "$cli" "$cmd" --help | grep -q "usage: tabledata $cmd"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: tabledata $cmd --help"; fi
done

echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
