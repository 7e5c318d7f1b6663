#!/usr/bin/env bash
# The packages, proved the way a user's app uses them: packs Warden.sln into artifacts/, then
#   examples/console-app   dotnet run (AddWarden from appsettings.json) and its published output: an "ok" outcome
#   examples/aspnet-app    started on a loopback port; POST /run with a script: an "ok" outcome; /healthz, /readyz Healthy
#   WardenJs.Cli           installed as a .NET tool into a temporary tool path: warden run examples/hello.js: "ok"
# The examples restore WardenJs from artifacts/ (their nuget.config) into a private package folder, so a
# re-pack of the same version is never served stale from the global package cache.
#   scripts/check-examples.sh      (~1.5-3 min; needs the OS isolation layers, like the tests)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

start=$SECONDS
step_start=$SECONDS
step() { echo "check-examples: $1 ($((SECONDS - step_start)) s)"; step_start=$SECONDS; }
fail() { echo "check-examples: FAILED: $*" >&2; exit 1; }
expect_ok() { # name, output
  grep -q '"status":"ok"' <<<"$2" || fail "$1 did not print an ok outcome; it printed: $2"
}

version="$(sed -nE 's#.*<Version>([^<]+)</Version>.*#\1#p' Directory.Build.props | head -1)"
[[ -n "$version" ]] || fail "no <Version> in Directory.Build.props"
for project in examples/console-app/console-app.csproj examples/aspnet-app/aspnet-app.csproj; do
  grep -q "Include=\"WardenJs\" Version=\"\[$version\]\"" "$project" \
    || fail "$project must reference WardenJs at exactly [$version] (the version Directory.Build.props packs)"
done

work="$(mktemp -d)"
app_pid=""
cleanup() {
  if [[ -n "$app_pid" ]] && kill -0 "$app_pid" 2>/dev/null; then
    kill "$app_pid" 2>/dev/null || true
    wait "$app_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
export NUGET_PACKAGES="$work/packages"

rm -rf artifacts
dotnet pack Warden.sln -c Release -o artifacts --nologo -v quiet "-clp:NoSummary;ErrorsOnly" >"$work/pack.log" 2>&1 \
  || { cat "$work/pack.log" >&2; fail "dotnet pack"; }
for package in WardenJs WardenJs.Server WardenJs.Cli; do
  [[ -f "artifacts/$package.$version.nupkg" && -f "artifacts/$package.$version.snupkg" ]] || fail "artifacts/$package.$version.(s)nupkg missing"
done
step "packed WardenJs, WardenJs.Server, WardenJs.Cli $version into artifacts/"

# The console app, from its directory like a user (its appsettings.json is read from there).
out="$(cd examples/console-app && dotnet run 2>"$work/console.err")" || { cat "$work/console.err" >&2; fail "console-app exited with an error: $out"; }
expect_ok "console-app (dotnet run)" "$out"
echo "  $out"
step "examples/console-app: dotnet run"

# Its publish output carries the worker too.
dotnet publish examples/console-app -c Release -o "$work/console-publish" --nologo -v quiet >"$work/publish.log" 2>&1 \
  || { cat "$work/publish.log" >&2; fail "dotnet publish console-app"; }
# In a folder of its own (warden-worker/), never flat beside the app, whose own assemblies it must not replace.
[[ -f "$work/console-publish/warden-worker/Warden.Worker.dll" && -f "$work/console-publish/warden-worker/runtimes/linux-x64/native/libwasmtime.so" ]] \
  || fail "the published console-app has no warden-worker/ folder with the worker and its natives"
[[ ! -e "$work/console-publish/Warden.Worker.dll" && ! -e "$work/console-publish/ClearScript.V8.dll" ]] \
  || fail "the worker's files were copied flat beside the published console-app"
out="$(cd "$work/console-publish" && dotnet console-app.dll 2>"$work/console.err")" || { cat "$work/console.err" >&2; fail "published console-app: $out"; }
expect_ok "console-app (published)" "$out"
step "examples/console-app: published and run"

# The web app on a loopback port the OS picks; the address is read from its log.
dotnet build examples/aspnet-app --nologo -v quiet >"$work/aspnet-build.log" 2>&1 || { cat "$work/aspnet-build.log" >&2; fail "build aspnet-app"; }
(cd examples/aspnet-app && exec dotnet bin/Debug/net10.0/aspnet-app.dll --urls http://127.0.0.1:0 >"$work/aspnet.log" 2>&1) &
app_pid=$!
url=""
for _ in $(seq 1 120); do
  url="$(sed -nE 's#.*Now listening on: (http://127\.0\.0\.1:[0-9]+).*#\1#p' "$work/aspnet.log" | head -1)"
  [[ -n "$url" ]] && break
  kill -0 "$app_pid" 2>/dev/null || { cat "$work/aspnet.log" >&2; fail "aspnet-app stopped during start"; }
  sleep 0.25
done
[[ -n "$url" ]] || { cat "$work/aspnet.log" >&2; fail "aspnet-app did not start listening in 30 s"; }
out="$(curl -sS --max-time 30 -H 'Content-Type: text/plain' --data-binary '[1, 2, 3].map(x => x * 2)' "$url/run")" || fail "POST $url/run"
expect_ok "aspnet-app (POST /run)" "$out"
grep -q '"result":\[2,4,6\]' <<<"$out" || fail "aspnet-app returned the wrong result: $out"
echo "  $out"
# After a run a locked-down worker has started: live and ready through AddWardenHealthChecks.
for probe in healthz readyz; do
  health="$(curl -sS --max-time 10 "$url/$probe")" || fail "GET $url/$probe"
  [[ "$health" == "Healthy" ]] || fail "aspnet-app /$probe answered '$health', expected Healthy"
done
kill "$app_pid"
wait "$app_pid" 2>/dev/null || true
app_pid=""
step "examples/aspnet-app: POST /run, /healthz and /readyz on $url"

dotnet tool install --tool-path "$work/tool" --add-source artifacts --version "$version" WardenJs.Cli >"$work/tool.log" 2>&1 \
  || { cat "$work/tool.log" >&2; fail "dotnet tool install WardenJs.Cli"; }
out="$("$work/tool/warden" run examples/hello.js --input-file examples/hello.json)" || fail "warden (the tool) run: $out"
expect_ok "warden run (the tool)" "$out"
echo "  $out"
step "WardenJs.Cli: installed as a tool, warden run examples/hello.js"

echo "check-examples: all ok in $((SECONDS - start)) s"
