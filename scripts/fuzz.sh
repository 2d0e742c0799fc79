#!/usr/bin/env bash
# Runs the cargo-fuzz targets of mcp-tower-guard, each for a bounded time, on
# the stable toolchain (RUSTC_BOOTSTRAP=1 lets stable rustc take the
# sanitizer flags cargo-fuzz passes).
#
#   scripts/fuzz.sh [SECONDS_PER_TARGET] [TARGET...]
#
#   SECONDS_PER_TARGET  wall-clock seconds per target (default 60)
#   TARGET...           a subset of the targets (default: all, see `cargo fuzz list`)
#
# Environment:
#   FUZZ_NICE   nice level of the build and the fuzzers (default 10)
#   FUZZ_JOBS   libFuzzer worker processes per target (default 1)
#   FUZZ_ARGS   extra libFuzzer flags, e.g. "-only_ascii=1"
#   MCP_FUZZ_KNOWN  open findings the oracles step over, e.g. "F2" (see fuzz/src/lib.rs)
#
# New corpus entries go to fuzz/corpus-work/<target>/ (not committed); the
# committed seeds in fuzz/corpus/<target>/ are read, never written. A crash
# leaves its input in fuzz/artifacts/<target>/: minimise it with
# `RUSTC_BOOTSTRAP=1 cargo fuzz tmin <target> <file>`, copy it to
# fuzz/regressions/<target>/ (replayed by tests/guard/properties/fuzz_regressions.rs), and
# record it in SECURITY.md. Needs `cargo install cargo-fuzz`.
set -euo pipefail

secs="${1:-60}"
shift || true
if ! [[ "$secs" =~ ^[0-9]+$ ]] || [ "$secs" -eq 0 ]; then
    echo "usage: $0 [SECONDS_PER_TARGET] [TARGET...]" >&2
    exit 2
fi
nice_level="${FUZZ_NICE:-10}"
jobs="${FUZZ_JOBS:-1}"

cd "$(dirname "$0")/../fuzz"
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is not installed: cargo install cargo-fuzz" >&2
    exit 2
fi

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

nice -n "$nice_level" cargo fuzz build

dict_for() {
    case "$1" in
        envelope) echo dict/envelope.dict ;;
        full_stack) echo dict/full_stack.dict ;;
        host_authority | origin) echo dict/host.dict ;;
        accept) echo dict/accept.dict ;;
        *) echo "" ;;
    esac
}

mkdir -p logs
summary=()
failed=0
for t in "${targets[@]}"; do
    work="corpus-work/$t"
    mkdir -p "$work" "corpus/$t"
    dict="$(dict_for "$t")"
    flags=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1)
    if [ -n "$dict" ]; then flags+=(-dict="$dict"); fi
    if [ "$jobs" -gt 1 ]; then flags+=(-jobs="$jobs" -workers="$jobs"); fi
    # shellcheck disable=SC2206
    flags+=(${FUZZ_ARGS:-})
    log="logs/$t.log"
    echo "== $t: ${secs}s"
    start=$(date +%s)
    set +e
    nice -n "$nice_level" cargo fuzz run "$t" "$work" "corpus/$t" -- "${flags[@]}" >"$log" 2>&1
    code=$?
    set -e
    took=$(($(date +%s) - start))
    execs=$(grep -ho 'stat::number_of_executed_units: [0-9]*' "$log" | awk '{s += $2} END {print s + 0}')
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
    corpus=$(find "$work" -type f | wc -l)
    if [ "$code" -eq 0 ]; then
        status=ok
    else
        status="FAILED (exit $code, see fuzz/$log and fuzz/artifacts/$t/)"
        failed=1
    fi
    summary+=("$(printf '%-18s %6ss %12s execs  cov %6s  corpus %6s  %s' "$t" "$took" "$execs" "${cov:-?}" "$corpus" "$status")")
done

echo
echo "target               time        executions  coverage   corpus  result"
printf '%s\n' "${summary[@]}"
exit "$failed"
