#!/usr/bin/env bash
# Warden and its peers side by side: bench/run.sh [--quick|--full] [--systems a,b] [--workloads x,y]
# Builds the harness and the Jint runner, installs the other peers into bench/.peers (git-ignored) on
# first use, shows progress on stderr, and writes bench/results/<mode>.md, .json and .png.
# Quick (default) takes a few minutes on a 2-core machine; --full runs every figure three times.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
# Warden's own layers run with every OS layer, as in production.
# shellcheck source=scripts/ensure-os-layers.sh
source "$root/scripts/ensure-os-layers.sh"
warden_ensure_os_layers
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
echo "bench: building the harness and the Jint runner ..." >&2
dotnet build bench/Warden.Bench -c Release --nologo -v quiet "-clp:NoSummary;ErrorsOnly" >&2
dotnet build bench/peers/jint -c Release --nologo -v quiet "-clp:NoSummary;ErrorsOnly" >&2
mode=(--quick)
args=()
for arg in "$@"; do
  case "$arg" in
    --quick|--full) mode=("$arg") ;;
    *) args+=("$arg") ;;
  esac
done
exec dotnet bench/Warden.Bench/bin/Release/net10.0/Warden.Bench.dll compare "${mode[@]}" "${args[@]}"
