#!/usr/bin/env bash
# Issue 12's figures "with cores to spare", in one invocation, on the 16-core device machine
# (../shared/device/README.md): every process on cores of its own, ordergate and the plain ZeroMQ
# forwarder (ordergate-bench --baseline) alternating in front of the same simulator.
#
#   bench/device_run.sh [--bin DIR] [--out DIR] [--duration-s S] [--rounds N] [--pin|--no-pin]
#                       [--quick]
#
#   --bin DIR       ordergated, ordergate-bench, ordergate-forwarder, ordergate-bridge-sim
#                   (default: .dev/bin of the repo, with LD_LIBRARY_PATH=.dev/lib: the bundle made by
#                   ../shared/device/bundle.sh)
#   --out DIR       where the results go (default: $OUT when set, else bench-results/device-<time>):
#                   summary.txt (the figures), log.txt (every run's report) and results.tar.gz (each
#                   run's JSON and text); three files, as the device tool brings back at most eight
#   --duration-s S  measured seconds per run (default 5; 1 s of warm-up comes before each)
#   --rounds N      alternations of forwarder and ordergate per figure (default 2)
#   --no-pin        no taskset (the default when the machine has fewer than 14 CPUs, e.g. here)
#   --pin           taskset whatever the machine (with the CPU lists below, or SIM_CPUS, GW_CPUS,
#                   HARNESS_CPUS, FWD_CPUS, EMB_CPUS from the environment, e.g. all 0-1 here)
#   --quick         --duration-s 2 --rounds 1 (a check that the script runs, not figures)
#
# Pinning (taskset -c, every thread of the process): the simulator on CPUs 2-3, ordergated on 4-7,
# the harness (ordergate-bench) on 8-9, the forwarder on 10-13 (started by the harness through a
# wrapper that execs it under taskset), the embedded gateway's run on 8-9,14-15 (the harness and
# the gateway are one process there). CPUs 0-1 are left to the rest of the machine.
#
# Figures (each from one ordergate-bench invocation with its exact command in log.txt):
#   closed loop 4 x 64, 2 x 128, 8 x 128 (async)  -> maximum, ratio to the forwarder, 8 x 128 vs best
#   the same 4 x 64 run                            -> each process's CPU time per order (/proc)
#   open loop 50 k/s, 30 % retries                 -> every order FILLED?
#   open loop 10 k/s, 30 % retries                 -> p50 / p99 and their ratios to the forwarder
#   sync open loop 10 k/s beside async             -> sync p99 <= async p99 + 3 x fdatasync p99
#   --embedded --sequential-orders (when the harness has it) -> SubmitAndWait latency beside the
#                                                    daemon's and the forwarder's, one at a time
# At the defaults the whole script takes about 3 minutes.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN="$ROOT/.dev/bin"
OUTDIR=${OUT:-}
DUR=5
ROUNDS=2
PIN=auto
while [[ $# -gt 0 ]]; do
  case "$1" in
    --bin) BIN=$(cd "$2" && pwd); shift 2 ;;
    --out) OUTDIR=$2; shift 2 ;;
    --duration-s) DUR=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --no-pin) PIN=no; shift ;;
    --pin) PIN=yes; shift ;;
    --quick) DUR=2; ROUNDS=1; shift ;;
    *) echo "usage: $0 [--bin DIR] [--out DIR] [--duration-s S] [--rounds N] [--pin|--no-pin] [--quick]" >&2
       exit 2 ;;
  esac
done
if [ -d "$ROOT/.dev/lib" ]; then export LD_LIBRARY_PATH="$ROOT/.dev/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"; fi
OUTDIR=${OUTDIR:-"$ROOT/bench-results/device-$(date -u +%Y%m%dT%H%M%SZ)"}
mkdir -p "$OUTDIR"
for b in ordergated ordergate-bench ordergate-forwarder ordergate-bridge-sim; do
  [ -x "$BIN/$b" ] || { echo "device_run: no $BIN/$b (build, then ../shared/device/bundle.sh .dev ...)" >&2; exit 2; }
done
SIM_CPUS=${SIM_CPUS:-2-3} GW_CPUS=${GW_CPUS:-4-7} HARNESS_CPUS=${HARNESS_CPUS:-8-9}
FWD_CPUS=${FWD_CPUS:-10-13} EMB_CPUS=${EMB_CPUS:-8-9,14-15}
if [ "$PIN" = auto ]; then
  if [ "$(nproc)" -ge 14 ] && command -v taskset >/dev/null; then PIN=yes; else PIN=no; fi
fi
if [ "$PIN" = yes ] && ! taskset -c "$EMB_CPUS" true; then
  echo "device_run: taskset -c $EMB_CPUS fails here: running unpinned" >&2
  PIN=no
fi

TMP_BASE=${TMPDIR:-/var/tmp}
[ -d "$TMP_BASE" ] && [ -w "$TMP_BASE" ] || TMP_BASE=/tmp
WORK=$(mktemp -d "$TMP_BASE/ordergate-device.XXXXXX")  # a real disk for the sync figures
RES="$WORK/results"
mkdir -p "$RES"
LOG="$OUTDIR/log.txt"
: >"$LOG"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
say() { echo "$*" | tee -a "$LOG"; }

# The harness runs from a folder of its own, beside a wrapper named ordergate-forwarder: --baseline
# starts <the harness's folder>/ordergate-forwarder, so the wrapper puts the forwarder on its CPUs.
HBIN="$WORK/harness-bin"
mkdir -p "$HBIN"
cp "$BIN/ordergate-bench" "$HBIN/"
if [ "$PIN" = yes ]; then
  printf '#!/bin/sh\nexec taskset -c %s "%s" "$@"\n' "$FWD_CPUS" "$BIN/ordergate-forwarder" \
    >"$HBIN/ordergate-forwarder"
  chmod +x "$HBIN/ordergate-forwarder"
  pin() {  # every thread of a running process
    taskset -a -cp "$1" "$2" >/dev/null || say "device_run: WARNING: could not pin pid $2 to $1"
  }
  on() { local cpus=$1; shift; taskset -c "$cpus" "$@"; }
else
  ln -s "$BIN/ordergate-forwarder" "$HBIN/ordergate-forwarder"
  pin() { :; }
  on() { shift; "$@"; }
fi

source "$ROOT/scripts/lib/pair.sh"
SIM_RECEIVE_HWM=100000
GW_MAX_IN_FLIGHT=4096  # above 8 x 128 in flight: every figure is of orders admitted, not refused

# start_pair NAME DURABILITY: a simulator (fixed:0, serial) and an ordergated in $WORK/NAME, pinned.
start_pair() {
  local name=$1 durability=$2 dir="$WORK/$1"
  mkdir -p "$dir"
  og_start_sim "$BIN" "$dir" --journal "$dir/journal.jsonl" --log-level warn --seed 7 \
      --socket-hwm "$SIM_RECEIVE_HWM" --latency fixed:0
  PIDS+=("$OG_SIM_PID")
  pin "$SIM_CPUS" "$OG_SIM_PID"
  og_start_gateway "$BIN" "$dir" "$OG_SIM_EP" --durability "$durability" --log-level warn \
      --bridge-receive-hwm "$SIM_RECEIVE_HWM" --bridge-max-in-flight "$GW_MAX_IN_FLIGHT"
  PIDS+=("$OG_GW_PID")
  pin "$GW_CPUS" "$OG_GW_PID"
  SIM_EP=$OG_SIM_EP SIM_PID=$OG_SIM_PID GW_EP=$OG_GW_EP GW_PID=$OG_GW_PID
  METRICS="127.0.0.1:$OG_METRICS_PORT" JOURNAL="$dir/journal.jsonl"
  sleep 0.3
}

FAILED=()
# bench NAME ARGS...: ordergate-bench on the harness's CPUs against the current pair.
bench() {
  local name=$1; shift
  local args=(--endpoint "$GW_EP" --bridge "$SIM_EP" --journal "$JOURNAL" --metrics "$METRICS"
              --gateway-pid "$GW_PID" --bridge-pid "$SIM_PID" --no-progress
              --json "$RES/$name.json" "$@")
  say "== $name: ordergate-bench ${args[*]}"
  local rc=0
  on "$HARNESS_CPUS" "$HBIN/ordergate-bench" "${args[@]}" >"$RES/$name.txt" 2>&1 || rc=$?
  cat "$RES/$name.txt" >>"$LOG"
  grep -E "^  (result|FILLED orders/s|FILLED latency p(50|99) |CPU us/order)" "$RES/$name.txt" || true
  [ "$rc" = 0 ] || { say "== $name: exit $rc"; FAILED+=("$name (exit $rc)"); }
}

say "device_run: $(nproc) CPUs, $(uname -r), pinned: $PIN (simulator $SIM_CPUS, ordergated" \
    "$GW_CPUS, harness $HARNESS_CPUS, forwarder $FWD_CPUS, embedded run $EMB_CPUS), $DUR s x" \
    "$ROUNDS rounds, load average $(cut -d' ' -f1-3 /proc/loadavg)"
COMMON=(--baseline --rounds "$ROUNDS" --duration-s "$DUR" --warmup-s 1)

start_pair async async
bench closed-4x64 "${COMMON[@]}" --rate 0 --clients 4 --window 64 --retry-ratio 0
bench closed-2x128 "${COMMON[@]}" --rate 0 --clients 2 --window 128 --retry-ratio 0
bench closed-8x128 "${COMMON[@]}" --rate 0 --clients 8 --window 128 --retry-ratio 0
bench open-50k "${COMMON[@]}" --rate 50000 --clients 4 --retry-ratio 0.3
bench open-10k "${COMMON[@]}" --rate 10000 --clients 4 --retry-ratio 0.3 --fsync-probe "$WORK"
ASYNC=("$SIM_EP" "$SIM_PID" "$GW_EP" "$GW_PID" "$METRICS" "$JOURNAL")
# Sync beside async at 10 k/s: both data directories and the fdatasync probe in $WORK.
start_pair sync sync
bench sync-10k --duration-s "$DUR" --warmup-s 1 --rate 10000 --clients 4 --retry-ratio 0.3 \
    --fsync-probe "$WORK"
SIM_EP=${ASYNC[0]} SIM_PID=${ASYNC[1]} GW_EP=${ASYNC[2]} GW_PID=${ASYNC[3]} METRICS=${ASYNC[4]} JOURNAL=${ASYNC[5]}

# Embedded SubmitAndWait beside the daemon and the forwarder, one order at a time, when the
# harness has --sequential-orders (the async pair's simulator; the daemon at --endpoint).
# (The help is read whole first: with pipefail, grep -q closing the pipe early fails the test.)
HELP=$("$HBIN/ordergate-bench" --help 2>&1 || true)
if grep -q -- "--sequential-orders" <<<"$HELP"; then
  name=embedded-sequential
  args=(--embedded --durability async --data-dir "$WORK/embedded" --bridge "$SIM_EP"
        --endpoint "$GW_EP" --journal "$JOURNAL" --bridge-pid "$SIM_PID" --baseline --no-progress
        --rate 10000 --clients 4 --duration-s "$DUR" --warmup-s 1 --retry-ratio 0.3
        --sequential-orders 2000 --json "$RES/$name.json")
  say "== $name: ordergate-bench ${args[*]}"
  rc=0
  on "$EMB_CPUS" "$HBIN/ordergate-bench" "${args[@]}" >"$RES/$name.txt" 2>&1 || rc=$?
  cat "$RES/$name.txt" >>"$LOG"
  [ "$rc" = 0 ] || { say "== $name: exit $rc"; FAILED+=("$name (exit $rc)"); }
else
  say "== embedded SubmitAndWait: this ordergate-bench has no --sequential-orders; left out"
fi

# The archive first: the device machine may lack python3, and the summary can be made from the
# archive afterwards (bench/device_summary.py RESULTS_DIR).
tar -czf "$OUTDIR/results.tar.gz" -C "$WORK" results
if command -v python3 >/dev/null; then
  python3 "$ROOT/bench/device_summary.py" "$RES" | tee "$OUTDIR/summary.txt" | tee -a "$LOG"
else
  say "device_run: no python3 here: make the summary from results.tar.gz with bench/device_summary.py"
fi
if [ "${#FAILED[@]}" -gt 0 ]; then
  say "device_run: done, but these runs failed: ${FAILED[*]}; results in $OUTDIR"
  exit 1
fi
say "device_run: done; results in $OUTDIR"
