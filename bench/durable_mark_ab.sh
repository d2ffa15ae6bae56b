#!/usr/bin/env bash
# Sync latency beside each of several ordergated builds, alternating, on this machine's disk: how the
# durable mark's writes (idempotency/durable_mark.h) weigh on the WAL's fsyncs (docs/BENCHMARKS.md,
# issue 12, run 4 and after). Each build runs sync, behind a simulator at fixed:0, under
# `ordergate-bench --rate R` for 8 s; one line per run: FILLED p50/p99, the fdatasync probe's p99,
# the reservation and store_apply stages' p99/p99.9.
#
#   bench/durable_mark_ab.sh BIN_DIR RATE NAME=ORDERGATED [NAME=ORDERGATED ...]
#   e.g. bench/durable_mark_ab.sh build/bin 5000 old=/tmp/ab/og-old new=build/bin/ordergated
#
# (The session that added it built "old" from 68e4df7's idempotency/durable_mark.cc and "off" with
# DurableMarkWriter::kDefaultPeriodMs at an hour.)
set -u
[ $# -ge 3 ] || { sed -n 7,8p "$0" >&2; exit 2; }
B=$1 RATE=$2; shift 2
for round in 1 2; do
  for pair in "$@"; do
    v=${pair%%=*} gw_bin=${pair#*=}
    W=$(mktemp -d)
    "$B/ordergate-bridge-sim" --bind "tcp://127.0.0.1:*" --latency fixed:0 --log-level warn \
        --socket-hwm 100000 >"$W/sim.out" 2>&1 &
    SIM=$!
    for _ in $(seq 50); do grep -q "listening on" "$W/sim.out" && break; sleep 0.1; done
    SEP=$(sed -n 's/.*listening on \(tcp:[^ ]*\).*/\1/p' "$W/sim.out" | head -1)
    "$gw_bin" --listen "tcp://127.0.0.1:*" --bridge "$SEP" --data-dir "$W/data" --durability sync \
        --log-level warn --metrics-listen 127.0.0.1:0 >"$W/gw.out" 2>&1 &
    GW=$!
    for _ in $(seq 50); do grep -q "listen=" "$W/gw.out" && break; sleep 0.1; done
    GEP=$(sed -n 's/.*listen=\([^ ]*\).*/\1/p' "$W/gw.out" | head -1)
    MP=$(sed -n 's/.*metrics_port=\([0-9]*\).*/\1/p' "$W/gw.out" | head -1)
    "$B/ordergate-bench" --endpoint "$GEP" --rate "$RATE" --duration-s 8 --warmup-s 1 --clients 4 \
        --retry-ratio 0.3 --metrics "127.0.0.1:$MP" --fsync-probe "$W" --no-progress >"$W/bench.txt" 2>&1
    p=$(grep -E "^  FILLED latency p(50|99) us" "$W/bench.txt" | awk '{print $5}' | paste -sd/)
    f=$(grep -o "fdatasync.*p99 [0-9.]* us" "$W/bench.txt" | grep -o "p99 [0-9.]*")
    r=$(grep -E "^    reserve" "$W/bench.txt" | awk '{print $5"/"$6}')
    t=$(grep -E "^    store_apply" "$W/bench.txt" | awk '{print $5"/"$6}')
    echo "round $round $v: FILLED p50/p99 $p us; fdatasync $f us; reserve p99/p99.9 $r; store_apply p99/p99.9 $t"
    kill "$GW" "$SIM" 2>/dev/null
    wait "$GW" "$SIM" 2>/dev/null
    rm -rf "$W"
  done
done
