#!/usr/bin/env bash
# The test command: restores, builds everything (benchmarks included, so CI checks they build)
# and runs the whole test suite.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
# The lockdown tests need every OS layer: install its packages (as root) or stop with the command.
# shellcheck source=scripts/ensure-os-layers.sh
source "$root/scripts/ensure-os-layers.sh"
warden_ensure_os_layers
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
dotnet build Warden.sln -c Release --nologo -v quiet "-clp:NoSummary;ErrorsOnly"
log="$(mktemp)"
set +e
dotnet test tests/Warden.Tests -c Release --no-build --nologo 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One plain closing line: "N passed, N failed".
summary="$(grep -E 'Failed:[[:space:]]+[0-9]+, Passed:[[:space:]]+[0-9]+' "$log" | tail -1 || true)"
if [[ -n "$summary" ]]; then
  passed="$(sed -E 's/.*Passed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")"
  failed="$(sed -E 's/.*Failed:[[:space:]]+([0-9]+),.*/\1/' <<<"$summary")"
  echo "tests: $passed passed, $failed failed"
fi
rm -f "$log"
exit "$status"
