#!/usr/bin/env bash
# The main job: builds ordergate, starts the MT5 bridge simulator and the gateway on loopback, sends
# a burst of orders with retries and conflicts through it, and prints the report: orders, fills,
# duplicates answered, duplicate executions at the bridge (must be 0), latency percentiles, the
# gateway's per-stage latency, and the same load through a plain ZeroMQ forwarder (--baseline) with
# the ratio ordergate / baseline for every figure (the forwarder has no guard: its retries execute
# twice, which is the MT5-CRS problem ordergate exists for).
# Usage: scripts/demo.sh [orders] [rate/s]   (defaults: 3000 orders at 1000/s)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
ORDERS=${1:-3000}
RATE=${2:-1000}
cmake -S . -B "${BUILD_DIR:-build}" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "${BUILD_DIR:-build}" -j "$(nproc)" --target ordergated ordergate-bridge-sim ordergate-bench \
    ordergate-forwarder
BIN="${BUILD_DIR:-build}/bin"
WORK=$(mktemp -d /tmp/ordergate-demo.XXXXXX)
cleanup() {
  [ -n "${GW_PID:-}" ] && kill "$GW_PID" 2>/dev/null || true
  [ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_line() {  # file, pattern
  for _ in $(seq 1 100); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "demo: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; return 1
}

"$BIN/ordergate-bridge-sim" --bind 'tcp://127.0.0.1:*' --journal "$WORK/journal.jsonl" \
    --latency lognormal:0.3:3 --seed 7 >"$WORK/sim.out" 2>"$WORK/sim.err" &
SIM_PID=$!
wait_line "$WORK/sim.out" "listening on"
SIM_EP=$(sed -n 's/.*listening on \(tcp:[^ ]*\).*/\1/p' "$WORK/sim.out" | head -1)

"$BIN/ordergated" --listen 'tcp://127.0.0.1:*' --bridge "$SIM_EP" --data-dir "$WORK/data" \
    --durability sync --log-level warn --metrics-listen 127.0.0.1:0 \
    >"$WORK/gw.out" 2>"$WORK/gw.err" &
GW_PID=$!
wait_line "$WORK/gw.out" "ordergated ready"
GW_EP=$(sed -n 's/.*listen=\([^ ]*\).*/\1/p' "$WORK/gw.out" | head -1)
METRICS_PORT=$(sed -n 's/.*metrics_port=\([0-9]*\).*/\1/p' "$WORK/gw.out" | head -1)
echo "demo: bridge simulator at $SIM_EP (serial like MT5-CRS, lognormal p50 0.3 ms / p99 3 ms), gateway at $GW_EP (durability sync)"
sleep 0.3

METRICS=()
[ "${METRICS_PORT:-0}" != 0 ] && METRICS=(--metrics "127.0.0.1:$METRICS_PORT")
set +e
"$BIN/ordergate-bench" --endpoint "$GW_EP" --orders "$ORDERS" --rate "$RATE" --clients 4 \
    --retry-ratio 0.3 --conflict-ratio 0.02 --journal "$WORK/journal.jsonl" "${METRICS[@]}" \
    --baseline --bridge "$SIM_EP" --json "$WORK/report.json"
status=$?
set -e
if command -v curl >/dev/null 2>&1 && [ "${METRICS_PORT:-0}" != 0 ]; then
  echo "gateway counters (/metrics):"
  curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | grep -E '^ordergate_(orders|duplicate|idempotency|unknown|store_batches)' | sed 's/^/  /'
fi
kill "$GW_PID"; wait "$GW_PID" || true; GW_PID=""
echo "demo: report in $WORK/report.json"
exit $status
