#!/usr/bin/env bash
# The shipped deploy/ files checked by their own tools (issue 11). One check per call, so that ctest
# names each (tests/deploy/CMakeLists.txt):
#   check_deploy.sh prometheus SOURCE_DIR        promtool check config + check rules
#   check_deploy.sh rules-test SOURCE_DIR        promtool test rules (every alert fires and stays quiet)
#   check_deploy.sh alertmanager SOURCE_DIR      amtool check-config
#   check_deploy.sh systemd SOURCE_DIR           systemd-analyze verify + security --offline
#   check_deploy.sh metrics SOURCE_DIR BIN_DIR   promtool check metrics on a real ordergated's /metrics
#   check_deploy.sh toml SOURCE_DIR              every key of deploy/ordergate.toml has a comment above
# Exit 0: passed; 1: failed; 77: skipped because the tool is not installed (said on stdout).
set -euo pipefail

check="${1:?check name}"
src="${2:?source dir}"
bin="${3:-}"

need() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "SKIP: $1 not installed (Debian package $2; scripts/install-deps.sh installs it)"
    exit 77
  fi
}

case "$check" in
  prometheus)
    need promtool prometheus
    promtool check config "$src/deploy/prometheus.yml"
    promtool check rules "$src/deploy/ordergate.rules.yml"
    ;;
  rules-test)
    need promtool prometheus
    # promtool resolves rule_files relative to the test file.
    promtool test rules "$src/tests/deploy/ordergate.rules.test.yml"
    # Every alert of the rules file has cases in the test file.
    for alert in $(sed -n 's/^ *- alert: *//p' "$src/deploy/ordergate.rules.yml"); do
      grep -q "alertname: $alert\$" "$src/tests/deploy/ordergate.rules.test.yml" ||
        { echo "FAIL: no promtool test case for $alert"; exit 1; }
    done
    ;;
  alertmanager)
    need amtool prometheus-alertmanager
    amtool check-config "$src/deploy/alertmanager.yml"
    ;;
  systemd)
    need systemd-analyze systemd
    # verify checks that ExecStart= exists: point it at a stand-in executable, the rest unchanged.
    tmp="$(mktemp -d)"
    trap 'rm -rf "$tmp"' EXIT
    install -m 0755 /bin/true "$tmp/ordergated"
    sed "s#/usr/local/bin/ordergated#$tmp/ordergated#" "$src/deploy/ordergated.service" \
      >"$tmp/ordergated.service"
    # A unit systemd would not load (unknown directive, bad value) fails here, with its reason.
    out="$(systemd-analyze verify "$tmp/ordergated.service" 2>&1)" || { echo "$out"; exit 1; }
    if [ -n "$out" ]; then
      echo "$out"
      echo "FAIL: systemd-analyze verify had something to say about deploy/ordergated.service"
      exit 1
    fi
    # Its sandboxing: exposure at most 2.0 of 10 ("OK"; it is 1.2 as shipped).
    systemd-analyze security --offline=true --threshold=20 "$tmp/ordergated.service" | tail -1
    ;;
  metrics)
    need promtool prometheus
    [ -x "$bin/ordergated" ] || { echo "FAIL: no ordergated in $bin"; exit 1; }
    tmp="$(mktemp -d)"
    pid=""
    cleanup() {
      if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
      rm -rf "$tmp"
    }
    trap cleanup EXIT
    "$bin/ordergated" --data-dir "$tmp/data" --listen 'tcp://127.0.0.1:*' \
      --bridge tcp://127.0.0.1:1 --metrics-listen 127.0.0.1:0 >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    port=""
    for _ in $(seq 1 100); do
      port="$(sed -n 's/.*metrics_port=\([0-9]*\).*/\1/p' "$tmp/out")"
      [ -n "$port" ] && break
      sleep 0.1
    done
    [ -n "$port" ] || { cat "$tmp/err"; echo "FAIL: ordergated did not get ready"; exit 1; }
    curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" >"$tmp/metrics"
    # promtool prints one line per problem (and exits non-zero for some of them): none is allowed.
    lint="$(promtool check metrics <"$tmp/metrics" 2>&1)" || { echo "$lint"; exit 1; }
    if [ -n "$lint" ]; then
      echo "$lint"
      echo "FAIL: promtool check metrics has remarks on ordergated's /metrics"
      exit 1
    fi
    echo "promtool check metrics: clean ($(grep -vc '^#' "$tmp/metrics") samples)"
    ;;
  toml)
    # A key line ("key = value") must follow a comment line: each setting says what it does there.
    awk '/^[a-z_]+ = / { if (prev !~ /^#/) { print "FAIL: no comment above " $1; bad = 1 } }
         { prev = $0 } END { exit bad }' "$src/deploy/ordergate.toml"
    echo "$(grep -c '^[a-z_]* = ' "$src/deploy/ordergate.toml") keys, each with its comment"
    ;;
  *)
    echo "unknown check $check" >&2
    exit 2
    ;;
esac
