#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, ASan + UBSan) and runs each briefly,
# seeded from its committed corpus (fuzz/corpus/<target>) and the vendored
# test files (tests/data), both read in place; new inputs go to a scratch
# corpus.  usage: fuzz-smoke.sh [seconds per target]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
build=build/fuzz
data=$(cd tests/data 2>/dev/null && pwd || true)
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all -O1 -g"
cmake -S . -B $build -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug -DTD_FUZZ=ON \
  -DTD_BUILD_TESTS=OFF -DTD_BUILD_BENCH=OFF -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
cmake --build $build -j "$(nproc)" --target fuzz_parquet fuzz_ipc fuzz_csv fuzz_sql fuzz_serve >/dev/null
seeds() { # the seed directories of a target that exist
  for d in "$@"; do [ -n "$data" ] && [ -d "$data/$d" ] && echo "$data/$d"; done
}
run() {
  local target=$1; shift
  local corpus; corpus=$(mktemp -d)
  echo "fuzz: $target for ${secs}s"
  # The fuzzer's own status decides (under pipefail, `|| true` would reset
  # PIPESTATUS and hide a crash); grep only trims the output.
  set +e
  "$build/fuzz/$target" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
    "$corpus" $(ls -d "fuzz/corpus/$target" 2>/dev/null) "$@" 2>&1 | grep -E "^(stat::number_of_executed_units|==.*ERROR|SUMMARY)"
  local rc=${PIPESTATUS[0]}
  set -e
  rm -rf "$corpus"
  [ "$rc" -eq 0 ] || { echo "fuzz: $target failed"; exit 1; }
}
run fuzz_parquet $(seeds parquet/conformance parquet/malformed parquet/malformed/fuzzing parquet/malformed/encoding-fuzzing)
run fuzz_ipc $(seeds arrow-ipc/golden/1.0.0-littleendian arrow-ipc/golden/2.0.0-compression arrow-ipc/malformed/file arrow-ipc/malformed/stream)
run fuzz_csv $(seeds csv csv/malformed)
run fuzz_sql
run fuzz_serve "$(cd fuzz/seeds/serve && pwd)"
echo "fuzz: all targets ran clean"
