#!/usr/bin/env bash
# Runs every benchmark of a build directory (default build/release).
set -euo pipefail
build=${1:-build/release}
"$build/bench/bench_core" "${TD_BENCH_LOCATIONS:-100}" "${TD_BENCH_ROWS:-500000}" "${TD_BENCH_REPEATS:-5}"
"$build/bench/bench_refresh" "${TD_BENCH_APPENDS:-10000}" "${TD_BENCH_SECONDS:-3}"
"$build/bench/bench_query" "${TD_BENCH_LOCATIONS:-100}" "${TD_BENCH_ROWS:-500000}" "${TD_BENCH_REPEATS:-3}"
