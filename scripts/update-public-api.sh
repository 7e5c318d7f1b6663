#!/usr/bin/env bash
# Regenerates the public API baseline (src/Warden and src/Warden.Server, PublicAPI.Unshipped.txt) after a
# deliberate change to the public surface: new public symbols are added (RS0016), removed ones dropped (RS0017).
# Review the diff before committing it. The convention: PublicAPI.Shipped.txt holds what a published release
# has (nothing yet: 0.1.0 is not on nuget.org); at a release, move Unshipped's lines into Shipped.
#   scripts/update-public-api.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
# A project's fixes only show once the projects it references compile without these errors (Warden.Server
# after Warden), so run until nothing changes (two passes when both change; three at most).
for pass in 1 2 3; do
  before="$(cat src/Warden/PublicAPI.*.txt src/Warden.Server/PublicAPI.*.txt | sha256sum)"
  dotnet format analyzers Warden.sln --diagnostics RS0016 RS0017 --severity warn -v q
  after="$(cat src/Warden/PublicAPI.*.txt src/Warden.Server/PublicAPI.*.txt | sha256sum)"
  if [[ "$before" == "$after" ]]; then
    echo "public API baseline up to date (pass $pass)"
    git --no-pager diff --stat -- 'src/*/PublicAPI.*.txt' 2>/dev/null || true
    exit 0
  fi
done
echo "the public API baseline still changed after 3 passes: check 'dotnet build Warden.sln' for RS00xx errors" >&2
exit 1
