#!/usr/bin/env bash
# What one fetch costs a script, side by side (bench/README.md): N sequential fetches of a loopback origin,
# each body read as text, in
#   warden-v8, warden-quickjs   one Warden execution granted the origin (the host makes every request)
#   isolated-vm                 a script in an Isolate awaiting a host function that uses Node's fetch
#   native, warden-dotnet       Node's own fetch and .NET's HttpClient with no sandbox (the floors)
#   warden-hostcall-*           N calls of an empty host function: Warden's host-call path without HTTP
# Usage: bench/fetch/run.sh [--count N] [--path /small|/64k]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
count=200
path=/small
while [[ $# -gt 0 ]]; do
  case "$1" in
    --count) count="$2"; shift 2 ;;
    --path) path="$2"; shift 2 ;;
    *) echo "usage: bench/fetch/run.sh [--count N] [--path /small|/64k]" >&2; exit 64 ;;
  esac
done
paths="$("$root/bench/peers/install.sh" | tail -1)"
node24="$(node -e 'console.log(JSON.parse(process.argv[1]).node24)' "$paths")"
dotnet build "$root/bench/Warden.Bench" -c Release --nologo -v quiet "-clp:NoSummary;ErrorsOnly" >&2
bench="$root/bench/Warden.Bench/bin/Release/net10.0/Warden.Bench.dll"
port=18097
"$node24" "$root/bench/fetch/server.mjs" "$port" &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
sleep 0.5
url="http://127.0.0.1:$port$path"
echo "fetch of $url, $count sequential fetches per round, 3 rounds after a warm-up, $(nproc) cores, $(date -u +%F)" >&2
{
  "$node24" "$root/bench/fetch/peers.mjs" native "$url" "$count"
  "$node24" --no-node-snapshot "$root/bench/fetch/peers.mjs" isolated-vm "$url" "$count"
  dotnet "$bench" fetch "$url" "$count" dotnet
  dotnet "$bench" fetch "$url" "$count" v8
  dotnet "$bench" fetch "$url" "$count" quickjs
  dotnet "$bench" fetch "$url" "$count" hostcall-v8
  dotnet "$bench" fetch "$url" "$count" hostcall-quickjs
} | node -e '
  const lines = require("fs").readFileSync(0, "utf8").trim().split("\n").map((l) => JSON.parse(l));
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ivm = median(lines.find((l) => l.system === "isolated-vm").perFetchMs);
  console.log("| system | per fetch, median of 3 rounds (ms) | min | max | vs isolated-vm |");
  console.log("|---|---|---|---|---|");
  for (const l of lines) {
    const m = median(l.perFetchMs);
    console.log(`| ${l.system} | ${m.toFixed(3)} | ${Math.min(...l.perFetchMs).toFixed(3)} | ${Math.max(...l.perFetchMs).toFixed(3)} | ${(m / ivm).toFixed(2)}x |`);
  }'
