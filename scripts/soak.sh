#!/usr/bin/env bash
# Soak test (not part of CI): churns sessions with short timeouts through the
# demo app (all four layers, GET streams, slow tool calls racing DELETEs,
# failed initializes, idle and lifetime expiry) for DURATION seconds and
# prints resident memory, the demo's outboxes and streams, and tokio's live
# tasks over time.
#
#   scripts/soak.sh DURATION [extra soak flags...]
#
#   DURATION    seconds to run (e.g. 600)
#   extra flags passed to the example: --clients N --idle-ms N --lifetime-ms N
#               --max-sessions N --interval SECONDS (see examples/soak.rs)
#
# Environment:
#   SOAK_NICE   nice level of the build and the run (default 10)
#   SOAK_LOG    file to copy the output to (default target/soak-<DURATION>s.log)
#
# The example prints VmRSS from /proc/self/status every --interval seconds
# (default 10) with the session store's counters; this script also samples
# /proc/<pid>/status from outside at the same interval, so a number that the
# process itself could not print (a hang) still shows. Memory is flat when,
# after the warm-up, VmRSS stops growing while sessions keep being created
# and closed (see the summary lines at the end). Exit status 1 when sessions,
# reservations, outboxes, streams or tasks were left behind.
set -euo pipefail

if [ "$#" -lt 1 ] || ! [[ "$1" =~ ^[0-9]+$ ]]; then
    echo "usage: $0 DURATION_SECONDS [soak flags...]" >&2
    exit 2
fi
duration="$1"
shift
nice_level="${SOAK_NICE:-10}"
cd "$(dirname "$0")/.."
log="${SOAK_LOG:-target/soak-${duration}s.log}"
mkdir -p "$(dirname "$log")"

nice -n "$nice_level" cargo build --release --example soak
bin=target/release/examples/soak

interval=10
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
    if [ "${args[$i]}" = "--interval" ] && [ $((i + 1)) -lt ${#args[@]} ]; then
        interval="${args[$((i + 1))]}"
    fi
done

nice -n "$nice_level" "$bin" --seconds "$duration" "$@" > >(tee "$log") &
pid=$!
# Outside view of the same process: VmRSS and VmHWM (peak) from /proc/<pid>/status.
(
    start=$(date +%s)
    while kill -0 "$pid" 2>/dev/null; do
        sleep "$interval"
        if [ -r "/proc/$pid/status" ]; then
            rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
            hwm=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
            [ -n "$rss" ] && echo "# /proc/$pid/status t=$(($(date +%s) - start))s VmRSS=${rss} kB VmHWM=${hwm} kB" >>"$log.proc"
        fi
    done
) &
sampler=$!
set +e
wait "$pid"
code=$?
set -e
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
echo
echo "outside samples (/proc/$pid/status):"
cat "$log.proc" 2>/dev/null || true
cat "$log.proc" >>"$log" 2>/dev/null || true
rm -f "$log.proc"
echo "log: $log"
exit "$code"
