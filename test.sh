#!/usr/bin/env bash
# The test command: restores, builds everything (benchmarks included, so CI checks they build),
# runs the whole test suite but the long one, then proves the packages (scripts/check-examples.sh:
# pack, the examples and the tool, ~2 min).
#   ./test.sh          the suite CI runs (~25 min on 2 cores)
#   ./test.sh --long   the long suite only: memory bombs at 1 GB and 4 GB (Category=Long; 7–20 min,
#                      needs ~6 GB of free memory), documented in docs/limits.md
set -euo pipefail
filter="Category!=Long"
if [[ "${1:-}" == "--long" ]]; then
  filter="Category=Long"
elif [[ $# -gt 0 ]]; then
  echo "usage: ./test.sh [--long]" >&2
  exit 64
fi
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$root"
# The lockdown tests need every OS layer: install its packages (as root) or stop with the command.
# shellcheck source=scripts/ensure-os-layers.sh
source "$root/scripts/ensure-os-layers.sh"
warden_ensure_os_layers
# The playground's browser test (PlaygroundBrowserTests) needs Debian's chromium and npm: the same, for them.
if [[ "$filter" != "Category=Long" ]]; then
  # shellcheck source=scripts/ensure-browser.sh
  source "$root/scripts/ensure-browser.sh"
  warden_ensure_browser
fi
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
dotnet build Warden.sln -c Release --nologo -v quiet "-clp:NoSummary;ErrorsOnly"
log="$(mktemp)"
set +e
dotnet test tests/Warden.Tests -c Release --no-build --nologo --filter "$filter" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# The packages (not with --long, which runs the long suite only): pack, the examples and the tool.
examples=""
if [[ "$filter" != "Category=Long" ]]; then
  set +e
  "$root/scripts/check-examples.sh"
  examples_status=$?
  set -e
  if [[ $examples_status -eq 0 ]]; then examples="; examples: ok"; else examples="; examples: FAILED"; fi
  # The tests' status when they failed, else the examples'.
  if [[ $status -eq 0 ]]; then status=$examples_status; fi
fi
# One plain closing line: "tests: N passed, N failed; examples: ok".
summary="$(grep -E 'Failed:[[:space:]]+[0-9]+, Passed:[[:space:]]+[0-9]+' "$log" | tail -1 || true)"
if [[ -n "$summary" ]]; then
  passed="$(sed -E 's/.*Passed:[[:space:]]+([0-9]+).*/\1/' <<<"$summary")"
  failed="$(sed -E 's/.*Failed:[[:space:]]+([0-9]+),.*/\1/' <<<"$summary")"
  echo "tests: $passed passed, $failed failed$examples"
elif [[ -n "$examples" ]]; then
  echo "tests: no summary${examples}"
fi
rm -f "$log"
exit "$status"
