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
# Removed symbols (RS0017) have no code fix: the build names each one with its file and line; those lines are
# dropped from PublicAPI.Unshipped.txt. One in PublicAPI.Shipped.txt is a breaking change: said, not edited.
warnings="$(dotnet build src/Warden.Server/Warden.Server.csproj -c Release --nologo -v q --no-incremental \
  -p:TreatWarningsAsErrors=false 2>&1 | grep -E 'warning RS0017' | sort -u || true)"
shipped_removals="$(grep -E 'PublicAPI\.Shipped\.txt\(' <<<"$warnings" || true)"
while read -r file; do
  [[ -n "$file" ]] || continue
  lines="$(grep -F "$file(" <<<"$warnings" | sed -nE 's#.*PublicAPI\.Unshipped\.txt\(([0-9]+),[0-9]+\): warning RS0017.*#\1#p' | sort -u | tr '\n' ' ')"
  awk -v drop=" $lines" '{ if (index(drop, " " NR " ") == 0) print }' "$file" >"$file.tmp" && mv "$file.tmp" "$file"
  echo "removed from $file (lines $lines)"
done < <(sed -nE 's#^(.*PublicAPI\.Unshipped\.txt)\([0-9]+,[0-9]+\): warning RS0017.*#\1#p' <<<"$warnings" | sed -E 's#^[[:space:]]+##' | sort -u)
# A project's fixes only show once the projects it references compile without these errors (Warden.Server
# after Warden), so run until nothing changes (two passes when both change; three at most).
for pass in 1 2 3; do
  before="$(cat src/Warden/PublicAPI.*.txt src/Warden.Server/PublicAPI.*.txt | sha256sum)"
  dotnet format analyzers Warden.sln --diagnostics RS0016 RS0017 --severity warn -v q
  after="$(cat src/Warden/PublicAPI.*.txt src/Warden.Server/PublicAPI.*.txt | sha256sum)"
  if [[ "$before" == "$after" ]]; then
    echo "public API baseline up to date (pass $pass)"
    if [[ -n "$shipped_removals" ]]; then
      echo "shipped symbols are gone (a breaking change; move them to Unshipped marked *REMOVED*, by hand):" >&2
      echo "$shipped_removals" >&2
      exit 1
    fi
    git --no-pager diff --stat -- 'src/*/PublicAPI.*.txt' 2>/dev/null || true
    exit 0
  fi
done
echo "the public API baseline still changed after 3 passes: check 'dotnet build Warden.sln' for RS00xx errors" >&2
exit 1
