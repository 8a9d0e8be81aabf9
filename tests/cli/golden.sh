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
expect_error 1 "cannot compare" query "SELECT Ticker FROM demo WHERE Int = 'x'"
expect_error 1 "unknown source 'nope'" query "SELECT * FROM nope"
expect_error 1 "'/no/such/dir': No such file or directory" query "SELECT * FROM '/no/such/dir'"
expect_error 2 "--format expects" query --format xml "SELECT * FROM demo"
expect_error 2 "unknown option" query --frobnicate "SELECT * FROM demo"
expect_error 2 "expected a query" query
expect_error 2 "unknown command" frobnicate
expect_error 2 "unknown option" demo --nope


for cmd in demo query follow schema locations; do
  if "$cli" "$cmd" --help | grep -q "usage: tabledata $cmd"; then pass=$((pass + 1)); else
    fail=$((fail + 1)); echo "FAIL: tabledata $cmd --help"; fi
done

echo "golden: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
