#!/usr/bin/env bash
# Soak: a steady open-loop load held for a long time through the real processes
# (ordergate-bridge-sim -> ordergated -> ordergate-bench), sampling the gateway every --interval-s:
# RSS, open file descriptors (sockets/pipes apart from RocksDB's files), threads, the RocksDB data
# directory's size, and the p99 of the last window from GET /latency (stage "total"). Writes
# OUT/soak.csv and OUT/soak.png (2x2 gnuplot multiplot), prints a summary table, and exits non-zero
# when memory or descriptors grow without bound, the gateway died or did not stop cleanly, or the
# bridge executed a uuid twice. Judging starts after a warm-up share of the run, because RocksDB's
# memtables and block cache legitimately grow at first.
#
#   scripts/soak.sh                                  # 10 minutes at 500 orders/s, durability sync
#   scripts/soak.sh --duration-s 60 --out /tmp/soak  # the CI-sized run
#
# Flags (defaults in brackets):
#   --duration-s N            length of the load [600]
#   --interval-s N            sampling period [10]
#   --rate R                  orders/s over all bench clients, open loop [500]
#   --clients N               bench DEALER clients [4]
#   --retry-ratio X           share of orders sent again with the same uuid [0.3]
#   --conflict-ratio X        share sent again with another volume [0.01]
#   --durability sync|async   the gateway's store mode [sync]
#   --latency MODEL           bridge simulator latency model [lognormal:0.3:3]
#   --build-dir DIR           where bin/ordergated etc. are [the repository's build]
#   --bin-dir DIR             the binaries' directory itself [BUILD_DIR/bin]
#   --out DIR                 output directory [a fresh /tmp/ordergate-soak.XXXXXX]
#   --warmup-share X          share of the run not judged [0.5]
#   --max-rss-slope-mb-min X  slope allowed after warm-up of the RSS the memtables do not explain [3]
#   --min-growth-mb X         ... which fails only when it also gained this much meanwhile [8]
#   --memtable-per-wal-byte K memtable estimate = K x live WAL, when /metrics has no gauge [1.2]
#   --max-fd-growth N         non-store descriptors allowed above the first loaded sample [8]
#   --max-store-fds N         descriptors on RocksDB files allowed [256]
#   --max-thread-growth N     threads allowed above the first loaded sample [2]
#   --max-store-bytes-per-order N   data directory growth per order allowed [4096]
#   --max-p99-ms X            fail when a window's p99 exceeds this (0 = not judged) [0]
#   --max-p99-growth X        fail when the median window p99 after the warm-up is X times the one
#                             before it ... [10]
#   --p99-floor-ms X          ... and above X ms (a shared machine moves p99 a lot) [100]
#   --keep                    keep the data directory and logs (always kept on failure)
set -euo pipefail
# The whole script is one function, and its call and exit one line, all read before it runs:
# editing the file during a 10-minute soak cannot change what the running one does next.
main() {
ROOT=$(cd "$(dirname "$0")/.." && pwd)  # relative paths in flags are the caller's
PY=/usr/bin/python3  # Debian's python (a pyenv python3 on PATH may lack the Debian modules)

DURATION_S=600
INTERVAL_S=10
RATE=500
CLIENTS=4
RETRY_RATIO=0.3
CONFLICT_RATIO=0.01
DURABILITY=sync
LATENCY=lognormal:0.3:3
BUILD_DIR="$ROOT/build"
BIN=""
OUT=""
KEEP=0
JUDGE_ARGS=()
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --duration-s) DURATION_S=$2; shift 2 ;;
    --interval-s) INTERVAL_S=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --clients) CLIENTS=$2; shift 2 ;;
    --retry-ratio) RETRY_RATIO=$2; shift 2 ;;
    --conflict-ratio) CONFLICT_RATIO=$2; shift 2 ;;
    --durability) DURABILITY=$2; shift 2 ;;
    --latency) LATENCY=$2; shift 2 ;;
    --build-dir) BUILD_DIR=$2; shift 2 ;;
    --bin-dir) BIN=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --warmup-share | --max-rss-slope-mb-min | --min-growth-mb | --memtable-per-wal-byte | \
      --max-fd-growth | --max-store-fds | \
      --max-thread-growth | --max-store-bytes-per-order | --max-p99-ms | --max-p99-growth | \
      --p99-floor-ms)
      JUDGE_ARGS+=("$1" "$2"); shift 2 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "soak: unknown flag $1 (--help lists them)" >&2; exit 2 ;;
  esac
done
case "$DURABILITY" in sync | async) ;; *) echo "soak: --durability sync|async" >&2; exit 2 ;; esac

[ -n "$BIN" ] || BIN="$BUILD_DIR/bin"
for b in ordergated ordergate-bridge-sim ordergate-bench; do
  [ -x "$BIN/$b" ] || { echo "soak: $BIN/$b missing (build it, or pass --build-dir)" >&2; exit 2; }
done
command -v gnuplot >/dev/null 2>&1 || echo "soak: gnuplot not installed: no PNG (apt-get install gnuplot-nox)" >&2
[ -n "$OUT" ] || OUT=$(mktemp -d /tmp/ordergate-soak.XXXXXX)
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK="$OUT/run"
rm -rf "$WORK"
mkdir -p "$WORK"

SIM_PID=""
GW_PID=""
BENCH_PID=""
cleanup() {
  for p in $BENCH_PID $GW_PID $SIM_PID; do kill "$p" 2>/dev/null || true; done
  for p in $BENCH_PID $GW_PID $SIM_PID; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT

source "$ROOT/scripts/lib/pair.sh"
og_start_sim "$BIN" "$WORK" --journal "$WORK/journal.jsonl" --latency "$LATENCY" --seed 11 \
  --log-level warn
SIM_PID=$OG_SIM_PID
SIM_EP=$OG_SIM_EP
og_start_gateway "$BIN" "$WORK" "$SIM_EP" --durability "$DURABILITY" --log-level warn
GW_PID=$OG_GW_PID
GW_EP=$OG_GW_EP
METRICS_PORT=$OG_METRICS_PORT
if [ -z "$METRICS_PORT" ] || [ "$METRICS_PORT" = 0 ]; then
  echo "soak: the gateway serves no HTTP endpoint (metrics_port=0): p99 and order counts missing" >&2
  METRICS_PORT=0
fi

# The bench's flags: --duration-s when it has it (it then paces itself), else --orders = rate x time.
BENCH_HELP=$("$BIN/ordergate-bench" --help 2>&1 || true)
if grep -q -- '--duration-s' <<<"$BENCH_HELP"; then
  LOAD_ARGS=(--duration-s "$DURATION_S" --rate "$RATE")
  grep -q -- '--no-progress' <<<"$BENCH_HELP" && LOAD_ARGS+=(--no-progress)
  # The after-reply retry's delay (0 by default in that bench): 50 ms, as a strategy would.
  grep -q -- '--retry-delay-ms' <<<"$BENCH_HELP" && LOAD_ARGS+=(--retry-delay-ms 50)
else
  LOAD_ARGS=(--orders "$("$PY" -c "import sys; print(max(1, round(float(sys.argv[1]) * float(sys.argv[2]))))" "$RATE" "$DURATION_S")" --rate "$RATE")
fi
echo "soak: ${DURATION_S}s at ${RATE}/s (${CLIENTS} clients, retry ${RETRY_RATIO}, conflict ${CONFLICT_RATIO}), durability=$DURABILITY, bridge $LATENCY (serial); samples every ${INTERVAL_S}s -> $OUT"
echo "soak: gateway pid $GW_PID at $GW_EP, HTTP port $METRICS_PORT; bridge simulator at $SIM_EP"

"$BIN/ordergate-bench" --endpoint "$GW_EP" "${LOAD_ARGS[@]}" --clients "$CLIENTS" \
  --retry-ratio "$RETRY_RATIO" --conflict-ratio "$CONFLICT_RATIO" --timeout-ms 2000 \
  --journal "$WORK/journal.jsonl" --json "$WORK/bench.json" --prefix soak- \
  >"$WORK/bench.out" 2>"$WORK/bench.err" &
BENCH_PID=$!

# Samples until the run's length has passed (or the gateway died): one row per interval, t=0 first.
"$PY" "$ROOT/scripts/soak_sampler.py" sample --pid "$GW_PID" --http-port "$METRICS_PORT" \
  --data-dir "$WORK/data" --duration-s "$DURATION_S" --interval-s "$INTERVAL_S" \
  --csv "$OUT/soak.csv" || true

BENCH_RC=0
wait "$BENCH_PID" || BENCH_RC=$?
BENCH_PID=""
cat "$WORK/bench.out"
[ -s "$WORK/bench.err" ] && sed 's/^/bench stderr: /' "$WORK/bench.err" | tail -5

# The gateway must still be up, and stop cleanly on SIGTERM (exit 0).
GW_ALIVE=1
kill -0 "$GW_PID" 2>/dev/null || GW_ALIVE=0
GW_RC=0
kill -TERM "$GW_PID" 2>/dev/null || true
# It drains for at most bridge_timeout_ms (6 s); past 20 s it is stuck: SIGKILL (exit 137).
for _ in $(seq 1 200); do kill -0 "$GW_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$GW_PID" 2>/dev/null && { echo "soak: ordergated ignored SIGTERM for 20 s" >&2; kill -KILL "$GW_PID"; }
wait "$GW_PID" || GW_RC=$?
GW_PID=""
kill "$SIM_PID" 2>/dev/null || true
wait "$SIM_PID" 2>/dev/null || true
SIM_PID=""

VERDICT=0
"$PY" "$ROOT/scripts/soak_sampler.py" report --csv "$OUT/soak.csv" --png "$OUT/soak.png" \
  --bench-json "$WORK/bench.json" --bench-rc "$BENCH_RC" --gateway-alive "$GW_ALIVE" \
  --gateway-rc "$GW_RC" --duration-s "$DURATION_S" --interval-s "$INTERVAL_S" --rate "$RATE" --durability "$DURABILITY" \
  ${JUDGE_ARGS[@]+"${JUDGE_ARGS[@]}"} || VERDICT=$?

if [ "$VERDICT" != 0 ]; then
  echo "soak: FAILED — logs and data kept in $WORK (gw.err, sim.err, bench.out)" >&2
  exit 1
fi
if [ "$KEEP" = 0 ]; then
  rm -rf "$WORK/data" "$WORK/journal.jsonl"
fi
echo "soak: PASSED — $OUT/soak.csv, $OUT/soak.png"
}
main "$@"; exit $?
