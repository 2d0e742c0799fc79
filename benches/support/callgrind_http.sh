#!/usr/bin/env bash
# Server instructions per request of every `http_load` target, counted by
# callgrind: only the server runtime's worker thread is collected (hyper, the
# layers, the handler, rmcp's session workers, the I/O driver; user space only,
# not the kernel; the client runs on the main thread and is not counted).
# Repeatable whatever else the machine is doing.
#
#   cargo bench --bench http_load --no-run
#   benches/support/callgrind_http.sh                  # all targets
#   benches/support/callgrind_http.sh guarded unguarded
#
# Each target runs twice, with N1 and N2 calls per connection (4 connections);
# (Ir(N2) - Ir(N1)) / (4 * (N2 - N1)) is the cost of one tools/call.
set -euo pipefail
cd "$(dirname "$0")/../.."

N1=${N1:-100}
N2=${N2:-600}
CONNS=4
bin=$(ls -t target/release/deps/http_load-* | grep -v '\.d$' | head -1)
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  targets=(unguarded guarded guarded_outer demo rmcp_default rmcp_guarded)
fi

ir() {
  LOAD_TARGETS=$1 LOAD_REQUESTS=$2 LOAD_CONNS=$CONNS LOAD_ROUNDS=1 LOAD_MEM_SESSIONS=0 \
    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    '--toggle-collect=tokio::runtime::scheduler::multi_thread::worker::run' \
    "$bin" 2>&1 | sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}

printf '%-14s %14s\n' target 'server Ir/call'
for t in "${targets[@]}"; do
  a=$(ir "$t" "$N1")
  b=$(ir "$t" "$N2")
  printf '%-14s %14d\n' "$t" $(( (b - a) / (CONNS * (N2 - N1)) ))
done
