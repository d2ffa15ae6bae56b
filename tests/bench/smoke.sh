#!/usr/bin/env bash
# CI smoke run of ordergate-bench (ctest: "bench: the harness runs end to end and finds no duplicate
# execution"). Starts ordergate-bridge-sim (journal on) and ordergated on kernel-chosen ports in a
# temp dir, runs ordergate-bench for ~3 s open-loop with retries, conflicts and --baseline, and
# checks: exit code 0, duplicate executions 0 under ordergate (from the journal, via the JSON
# report), every order answered, and — when the gateway serves GET /latency (HTTP 200) — the
# per-stage section with its stages. Safe under ctest -j: nothing fixed is bound.
#
# With MODE mostly-refused (ctest: "bench: a run whose orders were mostly refused exits 3 with a
# warning line"): the simulator is serial at 20 ms an order (50 orders/s) and the bench offers
# 1 000 orders/s for 1.5 s. Most orders are refused (GATEWAY_BUSY); the run must say so: exit 3,
# a "WARNING: MOST ORDERS WERE NOT FILLED" line (stdout and stderr) naming GATEWAY_BUSY, every
# order still accounted for, latency figures of FILLED orders only, and no ratio to the baseline
# (which did not complete comparable work either).
#
# With MODE embedded (ctest: "bench: --embedded drives the public ordergate::Gateway in process,
# every order FILLED and none executed twice"): the bench opens ordergate::Gateway in its own
# process on a --data-dir here (no socket between its threads and the gateway) and runs 300 orders
# open loop from 2 submitting threads with in-flight and after-reply retries and conflicts, beside
# the forwarder (--baseline), then 40 orders one at a time per target (--sequential-orders: the
# forwarder, the daemon at --endpoint, SubmitAndWait), then 200 orders closed loop (window 8 per
# thread). Checks: exit 0 each time, every order FILLED, duplicate executions 0 under ordergate
# (the journal), every uuid executed once, the sequential section for the three targets, the
# store written in --data-dir.
# Usage: tests/bench/smoke.sh BIN_DIR [MODE]
set -euo pipefail
BIN=${1:?usage: smoke.sh BIN_DIR [mostly-refused|embedded]}
MODE=${2:-normal}
WORK=$(mktemp -d /tmp/ordergate-bench-smoke.XXXXXX)
SIM_PID=""
GW_PID=""
cleanup() {
  [ -n "$GW_PID" ] && kill "$GW_PID" 2>/dev/null || true
  [ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
fail() {
  echo "smoke: FAILED: $*" >&2
  for f in "$WORK"/*.out "$WORK"/*.err; do [ -f "$f" ] && { echo "--- $f" >&2; tail -20 "$f" >&2; }; done
  exit 1
}
source "$(dirname "$0")/../../scripts/lib/pair.sh"
SIM_LATENCY=fixed:0
[ "$MODE" = mostly-refused ] && SIM_LATENCY=fixed:20
og_start_sim "$BIN" "$WORK" --journal "$WORK/journal.jsonl" --latency "$SIM_LATENCY" --seed 11 \
    --log-level warn || fail "the simulator did not start"
SIM_PID=$OG_SIM_PID
SIM_EP=$OG_SIM_EP
og_start_gateway "$BIN" "$WORK" "$SIM_EP" --durability async --log-level warn ||
  fail "ordergated did not start"
GW_PID=$OG_GW_PID
GW_EP=$OG_GW_EP
METRICS_PORT=$OG_METRICS_PORT
METRICS=()
[ "${METRICS_PORT:-0}" != 0 ] && METRICS=(--metrics "127.0.0.1:$METRICS_PORT")

if [ "$MODE" = mostly-refused ]; then
  set +e
  "$BIN/ordergate-bench" --endpoint "$GW_EP" --rate 1000 --duration-s 1.5 --warmup-s 0.3 \
      --clients 2 --retry-ratio 0.1 --journal "$WORK/journal.jsonl" --baseline --bridge "$SIM_EP" \
      --json "$WORK/report.json" --plot "$WORK/report.png" --no-progress \
      >"$WORK/bench.out" 2>"$WORK/bench.err"
  rc=$?
  set -e
  cat "$WORK/bench.out"
  [ "$rc" = 3 ] || fail "ordergate-bench exited $rc, not 3, on a mostly refused run"
  grep -q '^WARNING: MOST ORDERS WERE NOT FILLED under ordergate' "$WORK/bench.out" ||
    fail "no WARNING line on stdout"
  grep -q '^WARNING: GATEWAY_BUSY [0-9]*: ' "$WORK/bench.out" || fail "the warning names no code"
  grep -q 'WARNING: MOST ORDERS WERE NOT FILLED' "$WORK/bench.err" || fail "no WARNING on stderr"
  grep -q '^  ratio withheld: ' "$WORK/bench.out" || fail "a ratio was printed for unlike work"
  /usr/bin/python3 - "$WORK/report.json" <<'PY' || fail "report check (mostly refused)"
import json, sys
r = json.load(open(sys.argv[1]))
g = r["ordergate"]
f = g["fates"]
assert r["exit_code"] == 3 and r["ok"] is False and r["mostly_refused"] is True, r
assert r["problems"] == [], r["problems"]
assert f["FILLED"] * 2 < f["orders"], f
assert f["refused_by_code"].get("GATEWAY_BUSY", 0) > 0, f
assert f["FILLED"] + f["refused"] + f["UNKNOWN"] + f["without_final_outcome"] == f["orders"], f
assert g["latency_us"]["count"] == f["FILLED"], "latency must be of FILLED orders only"
assert g["not_filled_latency_us"]["count"] == f["orders"] - f["FILLED"] - f["without_final_outcome"], g
assert r["ratio"] is None and r["ratio_withheld"], r.get("ratio")
assert g["duplicate_executions"] == 0, g
print("smoke: ok (mostly refused): exit 3, %s" % r["headline"])
PY
  exit 0
fi

if [ "$MODE" = embedded ]; then
  run_embedded() {  # NAME ARGS...: one --embedded invocation; its report in $WORK/NAME.json
    local name=$1 rc=0
    shift
    "$BIN/ordergate-bench" --embedded --durability async --data-dir "$WORK/embedded" \
        --bridge "$SIM_EP" --journal "$WORK/journal.jsonl" --json "$WORK/$name.json" \
        --no-progress --prefix "smoke-$name-" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
    cat "$WORK/$name.out"
    [ "$rc" = 0 ] || fail "ordergate-bench --embedded ($name) exited $rc"
  }
  run_embedded open --rate 600 --orders 300 --warmup-s 0.1 --clients 2 --retry-ratio 0.3 \
      --conflict-ratio 0.05 --baseline --endpoint "$GW_EP" --sequential-orders 40
  grep -q '^  result ordergate (embedded) 100.00% FILLED' "$WORK/open.out" ||
    fail "no embedded result line"
  grep -q 'ordergate (embedded) SubmitAndWait' "$WORK/open.out" || fail "no SubmitAndWait line"
  run_embedded closed --rate 0 --window 8 --orders 200 --clients 2 --retry-ratio 0.2
  [ -n "$(ls -A "$WORK/embedded" 2>/dev/null)" ] || fail "nothing written in --data-dir"
  /usr/bin/python3 - "$WORK/open.json" "$WORK/closed.json" <<'PY' || fail "report check (embedded)"
import json, sys
for path, orders in ((sys.argv[1], 300), (sys.argv[2], 200)):
    r = json.load(open(path))
    g = r["ordergate"]
    assert r["ok"] is True and r["exit_code"] == 0, r["problems"]
    assert r["config"]["embedded"] is True and r["config"]["durability"] == "async", r["config"]
    assert g["orders"] == orders, (path, g["orders"])
    for fates in (g["fates"], g["fates_all"]):
        assert fates["FILLED"] == fates["orders"], (path, fates)
    assert g["fates_all"]["orders"] == orders, (path, g["fates_all"])
    assert g["orders_without_final_outcome"] == 0, g
    assert g["duplicate_executions"] == 0, "duplicate executions under ordergate: %d" % g["duplicate_executions"]
    assert g["executed_uuids"] == orders, (path, g["executed_uuids"])
    assert g["latency_us"]["count"] == g["fates"]["FILLED"] == g["measured_orders"], g["fates"]
    assert g["sent_retries"] > 0 and g["duplicate_replies"] > 0, g
    assert g["replies_by_status"]["PENDING"] == 0 and g["sent_pending_followups"] == 0, g
open_run = json.load(open(sys.argv[1]))
assert open_run["baseline"]["orders"] == 300 and "p50" in open_run["ratio"], open_run.get("ratio")
assert open_run["baseline"]["duplicate_executions"] > 0, "the baseline's retries should execute twice"
assert open_run["ordergate"]["sent_conflicts"] > 0, open_run["ordergate"]
seq = {s["target"]: s for s in open_run["sequential"]}
assert set(seq) == {"baseline (forwarder)", "ordergate (daemon)",
                    "ordergate (embedded) SubmitAndWait"}, seq.keys()
for name, s in seq.items():
    assert s["orders"] == 40 and s["FILLED"] == 40 and s["latency_us"]["count"] == 40, (name, s)
    assert s["executed_uuids"] == 40 and s["duplicate_executions"] == 0, (name, s)
print("smoke: ok (embedded): 300 open-loop and 200 closed-loop orders FILLED, none executed "
      "twice; SubmitAndWait p50 %.0f us, daemon %.0f us, forwarder %.0f us"
      % (seq["ordergate (embedded) SubmitAndWait"]["latency_us"]["p50"],
         seq["ordergate (daemon)"]["latency_us"]["p50"],
         seq["baseline (forwarder)"]["latency_us"]["p50"]))
PY
  exit 0
fi

set +e
"$BIN/ordergate-bench" --endpoint "$GW_EP" --rate 400 --duration-s 1.5 --warmup-s 0.3 --clients 2 \
    --retry-ratio 0.3 --conflict-ratio 0.05 --journal "$WORK/journal.jsonl" "${METRICS[@]}" \
    --baseline --bridge "$SIM_EP" --json "$WORK/report.json" --no-progress \
    --gateway-pid "$GW_PID" --bridge-pid "$SIM_PID" >"$WORK/bench.out" 2>"$WORK/bench.err"
rc=$?
set -e
cat "$WORK/bench.out"
[ "$rc" = 0 ] || fail "ordergate-bench exited $rc"
grep -q '^  CPU us/order: gateway | forwarder ' "$WORK/bench.out" || fail "no CPU per order rows"

/usr/bin/python3 - "$WORK/report.json" "$GW_PID" "$SIM_PID" <<'PY' || fail "report check"
import json, sys
r = json.load(open(sys.argv[1]))
gw_pid, sim_pid = int(sys.argv[2]), int(sys.argv[3])
g, b = r["ordergate"], r["baseline"]
assert r["ok"] is True, r["problems"]
assert g["orders"] > 0 and g["measured_orders"] > 0, g
assert g["duplicate_executions"] == 0, "duplicate executions under ordergate: %d" % g["duplicate_executions"]
assert g["orders_without_final_outcome"] == 0, g
assert g["executed_uuids"] > 0, "the journal shows no execution of this run"
assert b["orders"] > 0 and b["duplicate_executions"] > 0, "the baseline's retries should execute twice"
assert g["latency_us"]["count"] == g["fates"]["FILLED"] == g["measured_orders"], g["fates"]
assert r["exit_code"] == 0 and r["mostly_refused"] is False, r["warnings"]
assert "p50" in r["ratio"] and "throughput" in r["ratio"], r["ratio"]
status = g.get("stages_http_status")
assert status == 200, "GET /latency answered %s: %s" % (status, g.get("stages_error"))
st = g["stages"]
for name in ("decode", "reserve", "bridge", "total", "store_apply"):
    assert name in st and st[name]["count"] > 0, "stage %s missing or empty: %s" % (name, st)
print("smoke: per-stage section present:", ", ".join(sorted(st)))
# CPU time per order of each process (/proc): the pids given, the forwarder found as the child.
for run, roles in ((g, {"gateway": gw_pid, "bridge": sim_pid}), (b, {"forwarder": None, "bridge": sim_pid})):
    cpu = run["cpu"]
    assert cpu["orders_completed"] > 0 and cpu["window_s"] > 0, cpu
    procs = {p["role"]: p for p in cpu["processes"]}
    assert set(procs) == set(roles) | {"harness"}, procs
    for role, pid in roles.items():
        assert pid is None or procs[role]["pid"] == pid, (role, procs[role])
        assert procs[role]["cpu_s"] is not None and procs[role]["us_per_order"] >= 0, procs[role]
cpu_of = lambda run, role: next(p for p in run["cpu"]["processes"] if p["role"] == role)
print("smoke: CPU per order: ordergated %.1f us, forwarder %.1f us"
      % (cpu_of(g, "gateway")["us_per_order"], cpu_of(b, "forwarder")["us_per_order"]))
print("smoke: ok: %d orders, duplicate executions 0 (baseline: %d), p99 %.0f us (baseline %.0f us)"
      % (g["orders"], b["duplicate_executions"], g["latency_us"]["p99"], b["latency_us"]["p99"]))
PY
