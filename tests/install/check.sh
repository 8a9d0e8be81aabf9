#!/usr/bin/env bash
# Installs a build into a scratch prefix, then builds a downstream program
# with pkg-config and with find_package, and runs both.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"
cc -o "$prefix/pc_consumer" "$src/consumer.c" $(pkg-config --cflags --libs tabledata) -Wl,-rpath,"$prefix/lib"
"$prefix/pc_consumer"
cmake -S "$src" -B "$prefix/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$prefix/cmake-build" >/dev/null
LD_LIBRARY_PATH="$prefix/lib" "$prefix/cmake-build/consumer"
echo "install check: pkg-config and find_package consumers built and ran"
