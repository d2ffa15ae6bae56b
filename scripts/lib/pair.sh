# Shell helpers for the scripts that run ordergate-bridge-sim and ordergated on loopback
# (scripts/demo.sh, scripts/soak.sh, bench/run_targets.sh, tests/bench/smoke.sh). Source it.
# Everything binds tcp://127.0.0.1:* (ports from the kernel), so runs may overlap.

# og_wait_line FILE PATTERN [PID]: waits up to 20 s for PATTERN in FILE, giving up early when PID
# died. On failure prints FILE and its .err sibling to stderr and returns 1.
og_wait_line() {
  local file=$1 pattern=$2 pid=${3:-}
  for _ in $(seq 1 200); do
    grep -q "$pattern" "$file" 2>/dev/null && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "timed out waiting for '$pattern' in $file" >&2
  cat "$file" "${file%.out}.err" >&2 2>/dev/null || true
  return 1
}

# og_start_sim BIN_DIR DIR [SIM FLAGS...]: the simulator, output in DIR/sim.{out,err}.
# Sets OG_SIM_PID and OG_SIM_EP (the endpoint it bound).
og_start_sim() {
  local bin=$1 dir=$2
  shift 2
  "$bin/ordergate-bridge-sim" --bind 'tcp://127.0.0.1:*' "$@" >"$dir/sim.out" 2>"$dir/sim.err" &
  OG_SIM_PID=$!
  # A child that never got ready is stopped here: the caller's cleanup may not know it yet.
  og_wait_line "$dir/sim.out" "listening on" "$OG_SIM_PID" || { kill "$OG_SIM_PID" 2>/dev/null; return 1; }
  OG_SIM_EP=$(sed -n 's/.*listening on \(tcp:[^ ]*\).*/\1/p' "$dir/sim.out" | head -1)
}

# og_start_gateway BIN_DIR DIR BRIDGE_ENDPOINT [ORDERGATED FLAGS...]: ordergated with its store in
# DIR/data, its HTTP endpoint on a free port and its output in DIR/gw.{out,err} (its ready line on
# stdout, its log on stderr). Sets OG_GW_PID, OG_GW_EP and OG_METRICS_PORT (0 only when the flags
# turn the endpoint off with --metrics-listen "": a metrics address that cannot be bound makes
# ordergated refuse to start, so this returns 1).
og_start_gateway() {
  local bin=$1 dir=$2 bridge=$3
  shift 3
  "$bin/ordergated" --listen 'tcp://127.0.0.1:*' --bridge "$bridge" --data-dir "$dir/data" \
      --metrics-listen 127.0.0.1:0 "$@" >"$dir/gw.out" 2>"$dir/gw.err" &
  OG_GW_PID=$!
  og_wait_line "$dir/gw.out" "ordergated ready" "$OG_GW_PID" || { kill "$OG_GW_PID" 2>/dev/null; return 1; }
  OG_GW_EP=$(sed -n 's/.*listen=\([^ ]*\).*/\1/p' "$dir/gw.out" | head -1)
  OG_METRICS_PORT=$(sed -n 's/.*metrics_port=\([0-9]*\).*/\1/p' "$dir/gw.out" | head -1)
  OG_METRICS_PORT=${OG_METRICS_PORT:-0}
}
