#!/usr/bin/env bash
# The gateway on issue 16's shared guard (PostgreSQL) beside the embedded one (RocksDB), measured
# in one invocation: the same loads against three set-ups, each run beside its own raw-ZeroMQ
# forwarder baseline (ordergate-bench --baseline), the set-ups alternated PASSES times so that
# drift on a shared box shows up as spread, not as a difference:
#   rocksdb     - one ordergated, guard rocksdb, durability sync (the default), one simulator
#   postgres-1  - one ordergated, guard postgres (deploy/postgres/cluster.sh: a primary and a
#                 synchronous standby on loopback), the same simulator settings
#   postgres-2  - two ordergated (gateway ids gw-a, gw-b) on the same database and one simulator;
#                 two ordergate-bench processes at once, one per gateway, the same load each
# Each set-up runs an open-loop load (RATE orders/s per harness, 30 % retries) and a closed-loop
# one (window WINDOW per client). Every pass of a PostgreSQL set-up gets a schema of its own (an
# empty store, like RocksDB's fresh data directory). Every harness reads the simulator's journal
# (--journal): a uuid executed twice is a FAILED line and exit code 1, which this script reports
# and turns into its own exit code 1 after the summary.
#
#   bench/guard_bench.sh [--build DIR] [--out DIR] [--passes N] [--rate R] [--duration-s S]
#                        [--window W]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build"
OUT=""
PASSES=2
RATE=1000
DUR=6
WINDOW=16
usage() {
  echo "usage: $0 [--build DIR] [--out DIR] [--passes N] [--rate R] [--duration-s S] [--window W]" >&2
  exit 2
}
while [[ $# -gt 0 ]]; do
  [[ $# -ge 2 ]] || usage
  case "$1" in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --passes) PASSES=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --duration-s) DUR=$2; shift 2 ;;
    --window) WINDOW=$2; shift 2 ;;
    *) usage ;;
  esac
done
BIN="$BUILD/bin"
for b in ordergated ordergate-bridge-sim ordergate-bench ordergate-forwarder; do
  [ -x "$BIN/$b" ] || { echo "guard_bench: $BIN/$b not built" >&2; exit 2; }
done
PSQL=$(command -v psql || echo /usr/lib/postgresql/15/bin/psql)
OUT=${OUT:-"$ROOT/bench-results/guard-$(date -u +%Y%m%dT%H%M%SZ)"}
mkdir -p "$OUT"
WORK=$(mktemp -d /var/tmp/ordergate-guard.XXXXXX)  # a real disk: the sync figures need its fsync
PGDIR=$(mktemp -d /var/tmp/ordergate-guard-pg.XXXXXX)  # cluster.sh gives it to the servers' user
PIDS=()
stop_all() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}
cleanup() {
  stop_all
  "$ROOT/deploy/postgres/cluster.sh" stop "$PGDIR" >/dev/null 2>&1 || true
  rm -rf "$WORK" "$PGDIR"
}
trap cleanup EXIT
source "$ROOT/scripts/lib/pair.sh"

DSN=$("$ROOT/deploy/postgres/cluster.sh" start "$PGDIR" | tail -n 1)

# The simulator queues up to 100 000 requests and the gateway is told so, as in run_targets.sh.
SIM_FLAGS=(--log-level warn --seed 7 --socket-hwm 100000 --latency fixed:0)
GW_FLAGS=(--log-level warn --bridge-receive-hwm 100000 --bridge-max-in-flight 1024)

FAILED=()
# bench NAME PREFIX ENDPOINT METRICS GW_PID JOURNAL LOAD: one ordergate-bench invocation (in the
# background when the caller adds &); its exit code other than 0 is recorded in $OUT/NAME.rc.
bench() {
  local name=$1 prefix=$2 ep=$3 metrics=$4 gw_pid=$5 journal=$6 load=$7
  local load_flags=(--rate "$RATE" --retry-ratio 0.3)
  [ "$load" = closed ] && load_flags=(--rate 0 --window "$WINDOW" --retry-ratio 0)
  echo "== $name" >"$OUT/$name.txt"
  local rc=0
  "$BIN/ordergate-bench" --endpoint "$ep" --bridge "$OG_SIM_EP" --journal "$journal" \
      --metrics "$metrics" --gateway-pid "$gw_pid" --bridge-pid "$OG_SIM_PID" --no-progress \
      --prefix "$prefix" --json "$OUT/$name.json" --baseline --rounds 1 --duration-s "$DUR" \
      --warmup-s 1 --clients 4 "${load_flags[@]}" >>"$OUT/$name.txt" 2>&1 || rc=$?
  echo "$rc" >"$OUT/$name.rc"
}

run_setup() {
  local setup=$1 pass=$2
  local dir="$WORK/$setup-$pass"
  mkdir -p "$dir"
  og_start_sim "$BIN" "$dir" --journal "$dir/journal.jsonl" "${SIM_FLAGS[@]}"
  PIDS+=("$OG_SIM_PID")
  local eps=() metrics=() gw_pids=() ids=()
  case "$setup" in
    rocksdb) ids=(rocksdb) ;;
    postgres-1) ids=(gw-a) ;;
    postgres-2) ids=(gw-a gw-b) ;;
  esac
  local guard_flags=()
  if [ "$setup" != rocksdb ]; then
    local schema="og_${setup//-/_}_p$pass"
    "$PSQL" -X -q "$DSN" -c "CREATE SCHEMA $schema" >/dev/null
    guard_flags=(--guard postgres --guard-dsn "$DSN options='-c search_path=$schema'")
  fi
  for id in "${ids[@]}"; do
    mkdir -p "$dir/$id"
    local id_flags=()
    [ "$setup" != rocksdb ] && id_flags=(--gateway-id "$id")
    og_start_gateway "$BIN" "$dir/$id" "$OG_SIM_EP" "${GW_FLAGS[@]}" "${guard_flags[@]}" \
        "${id_flags[@]}"
    PIDS+=("$OG_GW_PID")
    eps+=("$OG_GW_EP")
    metrics+=("127.0.0.1:$OG_METRICS_PORT")
    gw_pids+=("$OG_GW_PID")
  done
  sleep 0.3
  for load in open closed; do
    echo "== $setup $load pass $pass (load average $(cut -d' ' -f1-3 /proc/loadavg))"
    local bench_pids=() names=()
    for i in "${!ids[@]}"; do
      local name="$setup-$load-$pass"
      [ "${#ids[@]}" -gt 1 ] && name="$setup-$load-$pass-${ids[$i]}"
      names+=("$name")
      # A uuid prefix per harness, set-up, load and pass: the journal of a simulator is shared by
      # both harnesses and both loads, and each counts its own uuids' executions.
      bench "$name" "${setup:0:1}${setup: -1}${load:0:1}$pass${ids[$i]: -1}-" "${eps[$i]}" \
          "${metrics[$i]}" "${gw_pids[$i]}" "$dir/journal.jsonl" "$load" &
      bench_pids+=($!)
    done
    for p in "${bench_pids[@]}"; do wait "$p"; done
    for name in "${names[@]}"; do
      grep -E "FAILED|WARNING|DUPLICATE" "$OUT/$name.txt" || true
      local rc
      rc=$(cat "$OUT/$name.rc")
      [ "$rc" = 0 ] || { echo "== $name: ordergate-bench exited $rc"; FAILED+=("$name (exit $rc)"); }
    done
  done
  stop_all
}

echo "guard_bench: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); PostgreSQL $("$PSQL" -X -A -t "$DSN" -c 'SHOW server_version'), primary + synchronous standby in $PGDIR; results in $OUT"
for pass in $(seq 1 "$PASSES"); do
  for setup in rocksdb postgres-1 postgres-2; do run_setup "$setup" "$pass"; done
done

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import glob, json, os, re, sys
out = sys.argv[1]
runs = {}  # (setup, load, pass) -> [(gateway id or "", report)]
for path in sorted(glob.glob(os.path.join(out, "*.json"))):
    m = re.fullmatch(r"(rocksdb|postgres-\d)-(open|closed)-(\d+)(?:-(gw-\w))?\.json",
                     os.path.basename(path))
    if m:
        runs.setdefault(m.group(1, 2, 3), []).append((m.group(4) or "", json.load(open(path))))
def cpu(run, role):
    for p in (run.get("cpu") or {}).get("processes", []):
        if p["role"] == role and p["us_per_order"] is not None:
            return p["us_per_order"]
    return None
def stage_p50(g, stage):
    s = (g.get("stages") or {}).get(stage)
    return "-" if not s else f"{s['p50_us'] / 1000:.1f}"
def row(label, g, b):
    gl, bl = g["latency_us"], b["latency_us"]
    c = cpu(g, "gateway")
    dup = g.get("duplicate_executions")
    every = f"{g['fates_all']['FILLED']} / {g['executed_uuids']} / {g['orders']}"
    print(f"| {label} | {g['throughput_per_s']:.0f} | {b['throughput_per_s']:.0f} | "
          f"{gl['p50']:.0f} / {gl['p99']:.0f} | {bl['p50']:.0f} / {bl['p99']:.0f} | "
          f"{g['success_rate']:.3f} | {every} | {'-' if dup is None else dup} | "
          f"{stage_p50(g, 'reserve')} / {stage_p50(g, 'store_apply')} | "
          f"{'-' if c is None else f'{c:.1f}'} |")
# ordergate FILLED / executed / orders: every order of the run, warm-up included: FILLED replies,
# uuids the simulator's journal executed, orders sent. reserve / store_apply: the gateway's own
# stage medians (GET /latency), in ms: an order's reservation and one store batch.
print("| run | ordergate /s | forwarder /s | ordergate FILLED p50 / p99 µs | forwarder FILLED p50 / p99 µs "
      "| ordergate success | FILLED / executed / orders | executed twice "
      "| reserve / store batch p50 ms | ordergated CPU µs/order |")
print("|---|---|---|---|---|---|---|---|---|---|")
order = {"rocksdb": 0, "postgres-1": 1, "postgres-2": 2}
for key in sorted(runs, key=lambda k: (k[1] != "open", order[k[0]], int(k[2]))):
    setup, load, p = key
    parts = sorted(runs[key], key=lambda x: x[0])
    for gid, d in parts:
        row(f"{setup} {load} pass {p}" + (f" {gid}" if gid else ""), d["ordergate"], d["baseline"])
    if len(parts) > 1:
        g = [d["ordergate"] for _, d in parts]
        b = [d["baseline"] for _, d in parts]
        dups = [x.get("duplicate_executions") for x in g]
        print(f"| {setup} {load} pass {p} sum | {sum(x['throughput_per_s'] for x in g):.0f} | "
              f"{sum(x['throughput_per_s'] for x in b):.0f} | - | - | - | "
              f"{sum(x['fates_all']['FILLED'] for x in g)} / {sum(x['executed_uuids'] for x in g)} / "
              f"{sum(x['orders'] for x in g)} | {'-' if None in dups else sum(dups)} | - | - |")
PY
if [ "${#FAILED[@]}" -gt 0 ]; then
  echo "guard_bench: FAILED: ${FAILED[*]}" >&2
  exit 1
fi
