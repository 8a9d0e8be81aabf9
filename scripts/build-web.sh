#!/usr/bin/env bash
# Rebuilds web/dist/index.html, the page `tabledata serve` embeds, from
# web/src (npm: apache-arrow, uPlot, esbuild, pinned in web/package-lock.json).
# The built page is committed, so building the program needs no npm.
set -euo pipefail
cd "$(dirname "$0")/../web"
npm ci --no-audit --no-fund --silent
node build.mjs
