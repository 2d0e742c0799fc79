#!/usr/bin/env bash
# Instructions per request of every `overhead` case, counted by callgrind
# (repeatable whatever else the machine is doing).
#
#   cargo bench --bench overhead --no-run
#   benches/support/callgrind.sh            # all cases
#   benches/support/callgrind.sh host bare  # some
#
# Each case runs twice, with N1 and N2 iterations; (Ir(N2) - Ir(N1)) / (N2 - N1)
# is the cost of one iteration without the setup.
set -euo pipefail
cd "$(dirname "$0")/../.."

N1=${N1:-2000}
N2=${N2:-12000}
bin=$(ls -t target/release/deps/overhead-* | grep -v '\.d$' | head -1)
cases=("$@")
if [ ${#cases[@]} -eq 0 ]; then
  cases=(bare bare_get host origin headers_get headers_post_1k headers_modern_call headers_modern_call_3_params session_hit session_hit_post full_stack_post_1k floor_session_path floor_moka_get floor_store_get floor_id_parse floor_echo floor_parse_1k floor_decode_1k)
fi

ir() {
  OVERHEAD_CASE=$1 OVERHEAD_ITERS=$2 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" 2>&1 |
    sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

printf '%-20s %12s\n' case 'Ir/iteration'
for c in "${cases[@]}"; do
  a=$(ir "$c" "$N1")
  b=$(ir "$c" "$N2")
  printf '%-20s %12d\n' "$c" $(( (b - a) / (N2 - N1) ))
done
