#!/usr/bin/env bash
# Installs what tabledata needs to build, test and benchmark, on a bare
# Debian 12 machine (the "polyglot" kind: gcc, Python 3 with pip, Node.js
# with npm).  Idempotent: a second run changes nothing and prints nothing.
#
#   scripts/setup-deps.sh            Debian packages + the Python environment
#   scripts/setup-deps.sh --apt      Debian packages only
#   scripts/setup-deps.sh --venv     the Python environment only
#
# Debian packages: needs root (or sudo) only when something is missing, and
# runs `apt-get update` once, only then.
#
# The Python environment: a virtual environment at $TD_VENV (default .venv
# at the top of the repository) with scripts/requirements-test.txt installed
# (pytest, pyarrow, polars, duckdb, numpy: interoperability tests and
# benchmarks).  It is reinstalled only when the requirements file changes
# (a copy is kept in the venv as the stamp).  Tests and scripts find its
# interpreter at "$TD_VENV/bin/python".
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${TD_VENV:-$root/.venv}
requirements=$root/scripts/requirements-test.txt

apt_deps() {
  # build-essential brings gcc and g++ (src/keys/shortest.cc is C++17: libstdc++'s
  # std::to_chars); clang brings clang++ for the fuzz build.
  local pkgs=(build-essential g++ cmake pkg-config clang libclang-rt-14-dev valgrind
    libcmocka-dev libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libbrotli-dev
    libjansson-dev groff-base tmux libpq-dev postgresql libcivetweb-dev chromium
    librdkafka-dev libpcre2-dev)
  local missing=() p
  for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  # Node.js and npm run the interoperability tests and the DuckDB benchmark
  # (Debian's packages, unless a node is already installed).
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  # Python 3 with venv for the Python environment (the machine's own Python
  # is used when it can make one).
  if ! command -v python3 >/dev/null 2>&1; then
    missing+=(python3 python3-venv)
  elif ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    missing+=(python3-venv)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup-deps: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# Creates the virtual environment and installs the test requirements into it
# when they changed since the last run.
python_venv() {
  local stamp=$venv/.requirements-test.txt
  if [ -x "$venv/bin/python" ] && cmp -s "$requirements" "$stamp"; then return 0; fi
  echo "setup-deps: preparing the Python environment in $venv" >&2
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$requirements"
  cp "$requirements" "$stamp"
}

case "${1:-}" in
  --apt) apt_deps ;;
  --venv) python_venv ;;
  "") apt_deps; python_venv ;;
  *) echo "usage: scripts/setup-deps.sh [--apt | --venv]" >&2; exit 2 ;;
esac
