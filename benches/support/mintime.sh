#!/usr/bin/env bash
# Nanoseconds per request of every `overhead` case: the best of R runs of N
# iterations each (the minimum filters out the time other processes on a
# shared machine took from ours; criterion's median does not).
#
#   cargo bench --bench overhead --no-run
#   benches/support/mintime.sh              # all cases
#   R=9 benches/support/mintime.sh host bare
set -euo pipefail
cd "$(dirname "$0")/../.."

N=${N:-200000}
R=${R:-7}
bin=$(ls -t target/release/deps/overhead-* | grep -v '\.d$' | head -1)
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  cases=(bare bare_get host origin headers_get headers_post_1k session_hit session_hit_post full_stack_post_1k)
fi

printf '%-20s %10s %10s\n' case 'best ns' 'median ns'
for c in "${cases[@]}"; do
  runs=()
  for _ in $(seq "$R"); do
    runs+=("$(OVERHEAD_CASE=$c OVERHEAD_ITERS=$N "$bin" 2>&1 | sed -n 's/.*, \([0-9]*\) ns each/\1/p')")
  done
  sorted=($(printf '%s\n' "${runs[@]}" | sort -n))
  printf '%-20s %10d %10d\n' "$c" "${sorted[0]}" "${sorted[$((R / 2))]}"
done
