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

source scripts/lib/pair.sh
og_start_sim "$BIN" "$WORK" --journal "$WORK/journal.jsonl" --latency lognormal:0.3:3 --seed 7
SIM_PID=$OG_SIM_PID
SIM_EP=$OG_SIM_EP
og_start_gateway "$BIN" "$WORK" "$SIM_EP" --durability sync --log-level warn
GW_PID=$OG_GW_PID
GW_EP=$OG_GW_EP
METRICS_PORT=$OG_METRICS_PORT
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
