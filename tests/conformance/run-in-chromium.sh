#!/usr/bin/env bash
# Runs the web API conformance cases in headless Chromium (Debian's chromium package) and writes
# results/chromium.json; `./test.sh` then checks that Warden gives the same answer for every case.
# Installs chromium (as root, with apt) and puppeteer-core (npm, pinned by package-lock.json) on first use.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
chromium="${CHROMIUM:-/usr/bin/chromium}"
if [[ ! -x "$chromium" ]]; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y chromium >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y chromium >/dev/null; }
  else
    echo "run-in-chromium: chromium is missing; install it: sudo apt-get install -y chromium (or set CHROMIUM=path)" >&2
    exit 69
  fi
fi
cd "$here"
[[ -d node_modules/puppeteer-core ]] || npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
node run-in-chromium.mjs "$chromium"
