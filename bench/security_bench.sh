#!/usr/bin/env bash
# The cost of issue 15's security on the order path, measured in one invocation: the same load
# against three ordergated variants, each run beside its own raw-ZeroMQ forwarder baseline
# (ordergate-bench --baseline), the variants alternated PASSES times so that drift on a shared box
# shows up as spread, not as a difference:
#   plain  - no CURVE, no audit log (the default of the library)
#   curve  - CURVE front end (keys from ordergatectl keygen; the bench is an allowlisted client)
#   audit  - no CURVE, audit log on (deploy/ordergate.toml's setting)
# Each variant runs an open-loop load (RATE orders/s, 30 % retries) and a closed-loop one
# (window 32 per client). The gateway is durability=async (scenario A of run_targets.sh), so that
# an fsync does not hide what is measured.
#
#   bench/security_bench.sh [--build DIR] [--out DIR] [--passes N] [--rate R] [--duration-s S]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build"
OUT=""
PASSES=2
RATE=5000
DUR=6
while [[ $# -gt 0 ]]; do
  case "$1" in
    --build) BUILD=$(cd "$2" && pwd); shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --passes) PASSES=$2; shift 2 ;;
    --rate) RATE=$2; shift 2 ;;
    --duration-s) DUR=$2; shift 2 ;;
    *) echo "usage: $0 [--build DIR] [--out DIR] [--passes N] [--rate R] [--duration-s S]" >&2
       exit 2 ;;
  esac
done
BIN="$BUILD/bin"
OUT=${OUT:-"$ROOT/bench-results/security-$(date -u +%Y%m%dT%H%M%SZ)"}
mkdir -p "$OUT"
WORK=$(mktemp -d /var/tmp/ordergate-security.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
source "$ROOT/scripts/lib/pair.sh"

keygen() { "$BIN/ordergatectl" keygen "$1" "$2" >/dev/null; }
keygen gateway "$WORK/keys"
keygen bench "$WORK/bench-keys"
mkdir -p "$WORK/clients"
cp "$WORK/bench-keys/bench.key" "$WORK/clients/"

run_variant() {
  local variant=$1 pass=$2
  local dir="$WORK/$variant-$pass"
  mkdir -p "$dir"
  local gw_flags=() bench_flags=()
  case "$variant" in
    curve)
      gw_flags=(--curve-secret-cert "$WORK/keys/gateway.key_secret"
                --curve-clients-dir "$WORK/clients")
      bench_flags=(--curve-server-key "$WORK/keys/gateway.key"
                   --curve-secret-cert "$WORK/bench-keys/bench.key_secret") ;;
    audit) gw_flags=(--audit-log "$dir/audit.jsonl") ;;
  esac
  og_start_sim "$BIN" "$dir" --journal "$dir/journal.jsonl" --log-level warn --seed 7 \
      --socket-hwm 100000 --latency fixed:0
  PIDS+=("$OG_SIM_PID")
  og_start_gateway "$BIN" "$dir" "$OG_SIM_EP" --durability async --log-level warn \
      --bridge-receive-hwm 100000 --bridge-max-in-flight 1024 "${gw_flags[@]}"
  PIDS+=("$OG_GW_PID")
  sleep 0.3
  for load in open closed; do
    local name="$variant-$load-$pass"
    local load_flags=(--rate "$RATE" --retry-ratio 0.3)
    [ "$load" = closed ] && load_flags=(--rate 0 --window 32 --retry-ratio 0)
    echo "== $name" | tee "$OUT/$name.txt"
    "$BIN/ordergate-bench" --endpoint "$OG_GW_EP" --bridge "$OG_SIM_EP" \
        --journal "$dir/journal.jsonl" --metrics "127.0.0.1:$OG_METRICS_PORT" \
        --gateway-pid "$OG_GW_PID" --bridge-pid "$OG_SIM_PID" --no-progress \
        --json "$OUT/$name.json" --baseline --rounds 1 --duration-s "$DUR" --warmup-s 1 \
        --clients 4 "${load_flags[@]}" "${bench_flags[@]}" 2>&1 | tee -a "$OUT/$name.txt"
  done
  if [ "$variant" = audit ]; then
    echo "== audit lines written: $(cat "$dir"/audit.jsonl* | wc -l)" | tee -a "$OUT/$variant-open-$pass.txt"
  fi
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
}

echo "security_bench: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg); results in $OUT"
for pass in $(seq 1 "$PASSES"); do
  for variant in plain curve audit; do run_variant "$variant" "$pass"; done
done

/usr/bin/python3 - "$OUT" <<'PY' | tee "$OUT/summary.txt"
import glob, json, os, sys
def cpu(run, role):
    for p in (run.get("cpu") or {}).get("processes", []):
        if p["role"] == role and p["us_per_order"] is not None:
            return p["us_per_order"]
    return None
rows = []
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    d = json.load(open(path))
    g, b = d["ordergate"], d["baseline"]
    name = os.path.basename(path)[:-5]
    rows.append((name, g, b))
print("| run | ordergate p50 / p99 µs | forwarder p50 / p99 µs | p50 / p99 ratio | ordergate /s | forwarder /s | success | ordergated CPU µs/order |")
print("|---|---|---|---|---|---|---|---|")
for name, g, b in rows:
    gl, bl = g["latency_us"], b["latency_us"]
    c = cpu(g, "gateway")
    print(f"| {name} | {gl['p50']:.0f} / {gl['p99']:.0f} | {bl['p50']:.0f} / {bl['p99']:.0f} | "
          f"{gl['p50'] / bl['p50']:.2f} / {gl['p99'] / bl['p99']:.2f} | {g['throughput_per_s']:.0f} | "
          f"{b['throughput_per_s']:.0f} | {g['success_rate']:.3f} | {'-' if c is None else f'{c:.1f}'} |")
PY
