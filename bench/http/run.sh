#!/usr/bin/env bash
# Load on `warden serve` from wrk on loopback: the tiny workload at a few concurrency levels.
# Usage: bench/http/run.sh [seconds-per-level]     (needs wrk: apt-get install -y wrk)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds="${1:-10}"
port=18099
"$root/warden" serve --urls "http://127.0.0.1:$port" >/tmp/warden-serve-bench.log 2>&1 &
server=$!
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 200); do
  curl -sf "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
for c in 1 2 4 8; do
  echo "== concurrency $c, ${seconds}s"
  wrk -t "$(( c < 2 ? 1 : 2 ))" -c "$c" -d "${seconds}s" --latency -s "$root/bench/http/tiny.lua" "http://127.0.0.1:$port/v1/run" \
    | grep -E "Requests/sec|50%|99%|Non-2xx|requests in"
done
