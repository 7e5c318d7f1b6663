#!/usr/bin/env bash
# Makes sure what the playground's browser test (PlaygroundBrowserTests) needs is installed: Debian's chromium
# (headless) and Node.js with npm (the driver, tests/playground/drive.mjs, uses puppeteer-core from the npm
# registry; the test runs `npm ci` there itself). As root it installs what is missing with apt-get; otherwise it
# stops with the exact command to run. With recommends: chromium recommends the fonts the screenshot needs.
# To be sourced by ./test.sh, like scripts/ensure-os-layers.sh.
set -euo pipefail

warden_missing_browser_packages() {
  local missing=()
  [[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || missing+=(chromium)
  command -v node >/dev/null 2>&1 || missing+=(nodejs)
  command -v npm >/dev/null 2>&1 || missing+=(npm)
  echo "${missing[@]:-}"
}

warden_ensure_browser() {
  local missing
  missing="$(warden_missing_browser_packages)"
  [[ -z "$missing" ]] && return 0
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "warden: installing the browser test's packages: $missing" >&2
    if ! { apt-get install -y $missing || { apt-get update && apt-get install -y $missing; }; } >/tmp/warden-apt-browser.log 2>&1; then
      cat /tmp/warden-apt-browser.log >&2
      echo "warden: could not install: $missing" >&2
      exit 70
    fi
    return 0
  fi
  echo "warden: the playground's browser test needs: $missing" >&2
  echo "warden: install it with:  sudo apt-get install -y $missing" >&2
  exit 70
}
