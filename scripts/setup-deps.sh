#!/usr/bin/env bash
# Installs the Debian packages tabledata needs to build, test and benchmark.
# Idempotent: does nothing when everything is present.  Needs root (or sudo)
# only when something is missing.
set -euo pipefail
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev valgrind
      libcmocka-dev libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libbrotli-dev
      libjansson-dev)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js and npm run the interoperability tests and the DuckDB benchmark
# (Debian's packages, unless a node is already installed).
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then exit 0; fi
echo "setup-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
