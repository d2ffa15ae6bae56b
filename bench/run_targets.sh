#!/usr/bin/env bash
# Every end-to-end figure of docs/BENCHMARKS.md in one invocation, each beside a raw-ZeroMQ
# baseline measured in the same run (ordergate-bench --baseline: the same load through a plain
# ROUTER->DEALER forwarder to the same simulator). Writes one JSON and one text report per scenario
# under OUT (default bench-results/<UTC time>/) and prints the table lines. Run it on a quiet
# machine: these boxes are shared, so the load average is printed with every scenario.
#
#   bench/run_targets.sh [--build DIR] [--out DIR] [--quick] [--only LETTERS]
#
# Scenarios (issue 4's targets):
#   A  async, simulator fixed:0, open-loop 10 k orders/s, 30 % retries        -> p50 / p99 ratios
#      (and the same at 2 k orders/s)
#   B  async, closed-loop at maximum rate, windows 32..256 per client          -> throughput ratio
#      and each process's CPU time per order at saturation (issue 12: ordergated <= 2x the forwarder)
#   C  sync, closed-loop at maximum rate; then sync and async open-loop 10 k/s alternating, each after
#      an fdatasync probe on the same disk as both data directories           -> sync figures and
#      issue 12's "sync p99 <= async p99 + 3 x fdatasync p99" line
#   D  simulator at the seed's latency (lognormal p50 60 ms / p99 201 ms, concurrent bridge),
#      1 000 orders/s, 30 % retries                                            -> p99 vs the bridge
#   E  the embedded gateway (in the harness's process) at A's load             -> beside the daemon
# --quick shortens every run (a smoke check of the script, not figures). --only runs the scenarios
# named (e.g. --only BC: the CPU per order at saturation and the sync figures).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build"
OUT=""
DUR=8
ROUNDS=3
ONLY=ABCDE
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --quick) DUR=2; ROUNDS=1; shift ;;
    --only) ONLY=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--out DIR] [--quick] [--only LETTERS]" >&2; exit 2 ;;
  esac
done
BIN="$BUILD/bin"
want() { [[ $ONLY == *"$1"* ]]; }
OUT=${OUT:-"$ROOT/bench-results/$(date -u +%Y%m%dT%H%M%SZ)"}
mkdir -p "$OUT"
WORK=$(mktemp -d /var/tmp/ordergate-targets.XXXXXX)  # a real disk: sync figures need its fsync
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

source "$ROOT/scripts/lib/pair.sh"

# The simulator's socket queues up to 100 000 requests (--socket-hwm, its default, given here
# explicitly), not the real bridge's 1 000, and the gateway is told so (--bridge-receive-hwm): it
# then accepts the 1 024 in flight that scenario B drives (4 clients x window 256) and every figure
# was measured with (bridge_max_in_flight must stay below the bridge's receive HWM).
SIM_RECEIVE_HWM=100000
GW_MAX_IN_FLIGHT=1024

# start_pair NAME DURABILITY SIM-ARGS...: a simulator and an ordergated in $WORK/NAME; sets SIM_EP,
# GW_EP, METRICS, SIM_PID, GW_PID.
start_pair() {
  local name=$1 durability=$2; shift 2
  local dir="$WORK/$name"
  mkdir -p "$dir"
  og_start_sim "$BIN" "$dir" --journal "$dir/journal.jsonl" --log-level warn --seed 7 \
      --socket-hwm "$SIM_RECEIVE_HWM" "$@"
  PIDS+=("$OG_SIM_PID")
  SIM_EP=$OG_SIM_EP
  SIM_PID=$OG_SIM_PID
  og_start_gateway "$BIN" "$dir" "$SIM_EP" --durability "$durability" --log-level warn \
      --bridge-receive-hwm "$SIM_RECEIVE_HWM" --bridge-max-in-flight "$GW_MAX_IN_FLIGHT"
  PIDS+=("$OG_GW_PID")
  GW_EP=$OG_GW_EP
  GW_PID=$OG_GW_PID
  METRICS="127.0.0.1:$OG_METRICS_PORT"
  JOURNAL="$dir/journal.jsonl"
  sleep 0.3
}
stop_pair() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

# bench NAME ARGS...: one ordergate-bench invocation against the current pair, with the pair's pids
# for the CPU time per order of each process (--gateway-pid, --bridge-pid). A scenario whose
# bench exits non-zero (1: an invariant broke; 3: most orders were not FILLED, see its WARNING
# lines) is reported and the others still run; the script then exits 1 at the end.
FAILED_SCENARIOS=()
bench() {
  local name=$1; shift
  echo "== $name: ordergate-bench $*" | tee "$OUT/$name.txt"
  local rc=0
  "$BIN/ordergate-bench" --endpoint "$GW_EP" --bridge "$SIM_EP" --journal "$JOURNAL" \
      --metrics "$METRICS" --gateway-pid "$GW_PID" --bridge-pid "$SIM_PID" --no-progress \
      --json "$OUT/$name.json" "$@" 2>&1 |
    tee -a "$OUT/$name.txt" || rc=$?
  if [ "$rc" != 0 ]; then
    echo "== $name: ordergate-bench exited $rc" | tee -a "$OUT/$name.txt"
    FAILED_SCENARIOS+=("$name (exit $rc)")
  fi
}

echo "run_targets: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT"

if want A || want B; then
start_pair A async --latency fixed:0
if want A; then
bench A-async-10k --baseline --rounds "$ROUNDS" --rate 10000 --duration-s "$DUR" --warmup-s 1 \
    --clients 4 --retry-ratio 0.3 --plot "$OUT/A-async-10k.png"
# A's load at a fifth of the rate: how much of A's ratio is the gateway's own work and how much is
# three processes contending for two vCPUs (the ratio falls with the load).
bench A-async-2k --baseline --rounds "$ROUNDS" --rate 2000 --duration-s "$DUR" --warmup-s 1 \
    --clients 4 --retry-ratio 0.3
fi
if want B; then
# B: the maximum over client windows. A closed loop's throughput is what is in flight divided by
# the latency until something saturates, so one window measures one point of the curve, not the
# maximum. Up to 256 per client: 1 024 in flight, the gateway's bridge_max_in_flight here
# (GW_MAX_IN_FLIGHT; beyond it ordergate answers GATEWAY_BUSY, which is not throughput).
for w in 32 64 128 256; do
  bench "B-async-max-w$w" --baseline --rounds "$((ROUNDS > 2 ? 2 : ROUNDS))" --rate 0 --window "$w" \
      --duration-s "$DUR" --warmup-s 1 --clients 4 --retry-ratio 0
done
/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/B-async-max.txt"
import glob, json, sys
best = {}
for path in sorted(glob.glob(sys.argv[1] + "/B-async-max-w*.json")):
    d = json.load(open(path))
    for side in ("ordergate", "baseline"):
        r = d[side]
        if r["success_rate"] < 1.0:
            continue  # refusals are not throughput
        if r["throughput_per_s"] > best.get(side, (0.0, 0))[0]:
            best[side] = (r["throughput_per_s"], d["config"]["window"])
g, b = best.get("ordergate", (0.0, 0)), best.get("baseline", (0.0, 0))
print(f"== B-async-max: maximum over windows 32..256 per client: ordergate {g[0]:.0f}/s (window {g[1]}), "
      f"baseline {b[0]:.0f}/s (window {b[1]}), ratio {g[0] / b[0] if b[0] else 0:.2f}")
# Each process's CPU time per order completed at saturation (utime+stime of the whole process from
# /proc/PID/stat, end of the warm-up to the last send; ordergate-bench's "cpu"), per window.
def cpu(run, role):
    for p in (run.get("cpu") or {}).get("processes", []):
        if p["role"] == role and p["us_per_order"] is not None:
            return p["us_per_order"]
    return None
def us(v):
    return "-" if v is None else f"{v:.2f}"
for path in sorted(glob.glob(sys.argv[1] + "/B-async-max-w*.json"),
                   key=lambda p: json.load(open(p))["config"]["window"]):
    d = json.load(open(path))
    g, f = d["ordergate"], d["baseline"]
    gw, fw = cpu(g, "gateway"), cpu(f, "forwarder")
    print(f"== B-cpu-per-order window {d['config']['window']}: ordergated {us(gw)} us, forwarder "
          f"{us(fw)} us, ratio {gw / fw if gw and fw else 0:.2f} (issue 12: <= 2); simulator "
          f"{us(cpu(g, 'bridge'))} / {us(cpu(f, 'bridge'))} us, harness {us(cpu(g, 'harness'))} / "
          f"{us(cpu(f, 'harness'))} us (ordergate run / baseline run)")
PY
fi
stop_pair
fi

if want C; then
start_pair C sync --latency fixed:0
bench C-sync-max --baseline --rate 0 --window 32 --duration-s "$DUR" --warmup-s 1 --clients 4 \
    --retry-ratio 0 --fsync-probe "$WORK/C"
# Sync against async at 10 k/s in this invocation, on the same disk: both pairs' data directories
# and the fdatasync probe are in $WORK. The two pairs run side by side (the idle one costs nothing)
# and their runs alternate, each after its own probe, so that a slow minute of the disk or the
# machine falls on both.
C_SYNC=("$SIM_EP" "$GW_EP" "$METRICS" "$JOURNAL" "$SIM_PID" "$GW_PID")
start_pair C2 async --latency fixed:0
C_ASYNC=("$SIM_EP" "$GW_EP" "$METRICS" "$JOURNAL" "$SIM_PID" "$GW_PID")
use_pair() { SIM_EP=$1 GW_EP=$2 METRICS=$3 JOURNAL=$4 SIM_PID=$5 GW_PID=$6; }
for r in $(seq 1 "$((ROUNDS > 2 ? 2 : ROUNDS))"); do
  use_pair "${C_SYNC[@]}"
  bench "C-sync-10k-r$r" --rate 10000 --duration-s "$DUR" --warmup-s 1 --clients 4 \
      --retry-ratio 0.3 --fsync-probe "$WORK/C"
  use_pair "${C_ASYNC[@]}"
  bench "C-async-10k-r$r" --rate 10000 --duration-s "$DUR" --warmup-s 1 --clients 4 \
      --retry-ratio 0.3 --fsync-probe "$WORK/C"
done
stop_pair
/usr/bin/python3 - "$OUT" "$(df -P "$WORK" | awk 'NR == 2 {print $1 " (" $6 ")"}')" <<'PY' |
import glob, json, statistics, sys
out, disk = sys.argv[1], sys.argv[2]
def runs(kind):
    return [json.load(open(p)) for p in sorted(glob.glob(f"{out}/C-{kind}-10k-r*.json"))]
sync, asyn = runs("sync"), runs("async")
if not sync or not asyn:
    print("== C-sync-vs-async: missing runs"); sys.exit(0)
p99 = lambda ds: statistics.median(d["ordergate"]["latency_us"]["p99"] for d in ds)
p50 = lambda ds: statistics.median(d["ordergate"]["latency_us"]["p50"] for d in ds)
fs = [d["machine"]["fdatasync_4k_us"]["p99"] for d in sync + asyn if d["machine"]["fdatasync_4k_us"]]
f99 = statistics.median(fs)
s99, a99 = p99(sync), p99(asyn)
bound = a99 + 3 * f99
print(f"== C-sync-vs-async (open loop 10 k/s, medians of {len(sync)} alternation(s); data dirs and "
      f"fdatasync probe on {disk}): sync p50 / p99 {p50(sync):.0f} / {s99:.0f} us, async "
      f"{p50(asyn):.0f} / {a99:.0f} us, fdatasync p99 {f99:.0f} us (probes {min(fs):.0f}..{max(fs):.0f}); "
      f"sync p99 - async p99 = {s99 - a99:.0f} us = {(s99 - a99) / f99:.1f} fdatasync p99s; "
      f"issue 12: sync p99 <= async p99 + 3 x fdatasync p99 = {bound:.0f} us: "
      f"{'yes' if s99 <= bound else 'NO'}")
PY
  tee "$OUT/C-sync-vs-async.txt"
fi

# The seed's bridge latency; a serial bridge would take 60 ms per order, so 1 000/s needs a
# concurrent one (the real MT5-CRS bridge is serial: at its pace ordergate's GATEWAY_BUSY applies).
if want D; then
start_pair D async --latency lognormal:60:201 --workers 512
bench D-seed-latency --baseline --rounds 1 --rate 1000 --duration-s $((DUR * 2)) --warmup-s 2 \
    --clients 4 --retry-ratio 0.3 --timeout-ms 5000 --plot "$OUT/D-seed-latency.png"
stop_pair
fi

if want E; then
start_pair E async --latency fixed:0
kill "${PIDS[-1]}"; wait "${PIDS[-1]}" 2>/dev/null || true  # the daemon: E runs embedded
unset 'PIDS[-1]'
echo "== E-embedded-10k" | tee "$OUT/E-embedded-10k.txt"
E_RC=0
"$BIN/ordergate-bench" --embedded --durability async --data-dir "$WORK/E/embedded" \
    --bridge "$SIM_EP" --bridge-pid "$SIM_PID" --journal "$JOURNAL" --no-progress \
    --json "$OUT/E-embedded-10k.json" \
    --rate 10000 --duration-s "$DUR" --warmup-s 1 --clients 4 --retry-ratio 0.3 2>&1 |
  tee -a "$OUT/E-embedded-10k.txt" || E_RC=$?
[ "$E_RC" = 0 ] || FAILED_SCENARIOS+=("E-embedded-10k (exit $E_RC)")
stop_pair
fi
if [ "${#FAILED_SCENARIOS[@]}" -gt 0 ]; then
  echo "run_targets: done, but these scenarios failed: ${FAILED_SCENARIOS[*]}; results in $OUT"
  exit 1
fi
echo "run_targets: done; results in $OUT"
