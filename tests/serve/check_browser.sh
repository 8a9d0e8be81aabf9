#!/usr/bin/env bash
# The page of `tabledata serve` in headless Chromium, driven by Playwright
# (npm playwright-core, Debian's /usr/bin/chromium): it loads, shows the
# table, ticks while partitions are added to the served tree until the
# displayed count reaches the source's size, sorts and filters on click.
# Leaves a screenshot in <scratch dir>/serve_page.png.
# usage: check_browser.sh <tabledata program> <scratch dir>
set -euo pipefail
cli=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
[ -x /usr/bin/chromium ] || { echo "no /usr/bin/chromium: run scripts/setup-deps.sh"; exit 77; }
mkdir -p "$work"
if [ ! -d "$work/node_modules/playwright-core" ]; then
  cp "$here/package.json" "$work/"
  (cd "$work" && npm install --no-audit --no-fund --silent >/dev/null)
fi
cp "$here/browser.mjs" "$work/"
exec node "$work/browser.mjs" "$cli" "$work"
