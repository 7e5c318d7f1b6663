#!/usr/bin/env bash
# Makes sure the programs Warden's OS isolation layer needs are installed: bubblewrap (namespaces),
# setpriv (util-linux: the unprivileged uid when the host runs as root) and libseccomp 2 (the
# seccomp allowlist). As root it installs what is missing with apt-get; otherwise it stops with the
# exact command to run, so that nobody ends up with weaker isolation without knowing.
# Sourced by ./warden and ./test.sh; `warden doctor` then checks that the kernel allows each layer.
set -euo pipefail

warden_missing_os_packages() {
  local missing=()
  command -v bwrap >/dev/null 2>&1 || [[ -x /usr/bin/bwrap ]] || missing+=(bubblewrap)
  command -v setpriv >/dev/null 2>&1 || [[ -x /usr/bin/setpriv ]] || missing+=(util-linux)
  ldconfig -p 2>/dev/null | grep -q 'libseccomp\.so\.2' || [[ -e /usr/lib/x86_64-linux-gnu/libseccomp.so.2 ]] || missing+=(libseccomp2)
  echo "${missing[@]:-}"
}

warden_ensure_os_layers() {
  [[ "$(uname -s)" == "Linux" ]] || return 0   # elsewhere `warden doctor` explains; nothing to install
  local missing
  missing="$(warden_missing_os_packages)"
  [[ -z "$missing" ]] && return 0
  if [[ "$(id -u)" == "0" ]] && command -v apt-get >/dev/null 2>&1; then
    echo "warden: installing the OS isolation layer's packages: $missing" >&2
    if ! { apt-get install -y --no-install-recommends $missing || { apt-get update && apt-get install -y --no-install-recommends $missing; }; } >/tmp/warden-apt.log 2>&1; then
      cat /tmp/warden-apt.log >&2
      echo "warden: could not install: $missing" >&2
      exit 70
    fi
    return 0
  fi
  echo "warden: the OS isolation layer needs: $missing" >&2
  echo "warden: install it with:  sudo apt-get install -y $missing" >&2
  echo "warden: (or run with weaker isolation by choice: warden run --isolation best-effort|none ...)" >&2
  exit 70
}
