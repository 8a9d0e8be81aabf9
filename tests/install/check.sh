#!/usr/bin/env bash
# `make install` as a downstream user meets it: installs a build into a
# scratch prefix, then
#  - builds a consumer with pkg-config and one with find_package (shared
#    library, tabledata::tabledata) and one against tabledata::tabledata_static,
#    and runs each with no LD_LIBRARY_PATH and no other manual step;
#  - runs the installed program;
#  - checks the man page (renders without warnings, names every command) and
#    the documents are installed;
#  - uninstalls (cmake/uninstall.cmake, as `make uninstall`) and checks that
#    no file is left.
set -euo pipefail
build=$1
src=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$src/../.." && pwd)
prefix=$(mktemp -d)
work=$(mktemp -d)
trap 'rm -rf "$prefix" "$work"' EXIT
unset LD_LIBRARY_PATH
fail() { echo "install check: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
export PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig"

# pkg-config: the .pc file carries the RPATH.
cc -o "$work/pc_consumer" "$src/consumer.c" $(pkg-config --cflags --libs tabledata)
# (outputs are captured before grep -q: with pipefail, grep -q quitting early
# would make the writer's SIGPIPE fail the pipeline)
out=$("$work/pc_consumer") && grep -q "ok" <<<"$out" || fail "pkg-config consumer did not run"
out=$(ldd "$work/pc_consumer")
grep -q "$prefix/lib.*/libtabledata.so" <<<"$out" || fail "pkg-config consumer not linked to the installed library: $out"

# find_package: shared (tabledata::tabledata) and static (tabledata::tabledata_static).
for kind in shared static; do
  cmake -S "$src" -B "$work/cmake-$kind" -DCMAKE_PREFIX_PATH="$prefix" -DTD_CONSUMER_STATIC=$([ $kind = static ] && echo ON || echo OFF) >/dev/null
  cmake --build "$work/cmake-$kind" >/dev/null
  out=$("$work/cmake-$kind/consumer") && grep -q "ok" <<<"$out" || fail "find_package ($kind) consumer did not run"
done
out=$(ldd "$work/cmake-shared/consumer")
grep -q "$prefix/lib.*/libtabledata.so" <<<"$out" || fail "find_package consumer not linked to the installed library: $out"
out=$(ldd "$work/cmake-static/consumer")
grep -q libtabledata <<<"$out" && fail "static consumer depends on libtabledata.so"

# The installed program.
out=$("$prefix/bin/tabledata" --version) && grep -q "tabledata " <<<"$out" || fail "installed program does not run"
out=$("$prefix/bin/tabledata" demo) && grep -q "GOOG" <<<"$out" || fail "installed program's demo printed no table"

# Man page and documents.
man=$(find "$prefix" -path '*/man1/tabledata.1')
[ -n "$man" ] || fail "man page tabledata.1 not installed"
warnings=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
[ -z "$warnings" ] || fail "man page has troff warnings: $warnings"
text=$(MANWIDTH=200 man -l "$man" 2>/dev/null)
for cmd in $("$prefix/bin/tabledata" --help | awk '/^commands:/{on=1; next} on && /^  [a-z]/{print $1}'); do
  grep -q "^ *$cmd\$\|tabledata $cmd" <<<"$text" || fail "man page does not describe command '$cmd'"
done
for doc in README.md SPEC.md DESIGN.md QUERIES.md FILES.md CSV.md; do
  [ -f "$prefix/share/doc/tabledata/$doc" ] || fail "document $doc not installed in share/doc/tabledata"
done

# Uninstall removes every file.
cmake -DTD_MANIFEST="$build/install_manifest.txt" -P "$root/cmake/uninstall.cmake" >/dev/null
left=$(find "$prefix" -type f -o -type l -o -type d -name tabledata)
[ -z "$left" ] || fail "uninstall left: $left"
echo "install check: pkg-config, find_package (shared, static) consumers and the program ran; man page and docs installed; uninstall left nothing"
