#!/usr/bin/env bash
# The installed package as a strategy's project meets it (issue 12):
#   1. `cmake --install BUILD_DIR` into a temp prefix; the files are where the README says, the
#      shared library's SONAME is libordergate.so.0, the installed headers include nothing but the
#      standard library, Abseil and each other;
#   2. tests/consumer built against that prefix three times: with CMake (find_package(ordergate) ->
#      ordergate::ordergate; COMPONENTS static -> ordergate::ordergate_static) and with the compiler
#      and `pkg-config --cflags --libs ordergate`;
#   3. the installed ordergate-bridge-sim on a kernel-chosen loopback port; each consumer sends one
#      order through the embedded gateway and must get FILLED;
#   4. the installed bin/embedded_strategy, --orders 20, each uuid from two threads: every uuid has
#      a final outcome, FILLED exactly once with duplicate:false, one ticket per uuid; run again on
#      the same data directory (a restart) every uuid is replayed FILLED, duplicate:true, same
#      ticket; the simulator's journal holds each uuid exactly once (executed at most once);
#   5. the installed ordergated against the same simulator: each consumer_client (the C++ client,
#      ordergate/client.h) sends one order through it and must get FILLED, and the installed
#      bin/cpp_client_strategy --orders 20 gets every order FILLED once and replayed;
#   6. the Python client: share/ordergate/python/ordergate_client.py imports with that folder on
#      PYTHONPATH (as the README says), and the installed python_client_strategy.py runs its orders
#      through the installed ordergated, each executed once (skipped without python3-zmq).
# Usage: tests/consumer/run.sh BUILD_DIR     (ctest: label consumer)
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 BUILD_DIR" >&2; exit 2; }
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ordergate-consumer.XXXXXX")
prefix=$tmp/prefix
sim_pid=
gw_pid=
cleanup() {
  if [ -n "$gw_pid" ]; then kill "$gw_pid" 2>/dev/null || true; wait "$gw_pid" 2>/dev/null || true; fi
  if [ -n "$sim_pid" ]; then kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

step "install into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" || { cat "$tmp/install.log"; fail "cmake --install"; }
for f in include/ordergate/gateway.h include/ordergate/options.h include/ordergate/order.h \
         include/ordergate/outcome.h include/ordergate/client.h \
         lib/libordergate.so lib/libordergate.so.0 lib/libordergate.a \
         lib/cmake/ordergate/ordergateConfig.cmake lib/cmake/ordergate/ordergateConfigVersion.cmake \
         lib/cmake/ordergate/ordergateTargets.cmake lib/pkgconfig/ordergate.pc \
         bin/ordergated bin/ordergatectl bin/ordergate-bridge-sim bin/embedded_strategy \
         bin/cpp_client_strategy share/ordergate/python/ordergate_client.py \
         share/ordergate/python/python_client_strategy.py; do
  [ -e "$prefix/$f" ] || fail "$f is not installed"
done
soname=$(readelf -d "$prefix/lib/libordergate.so.0" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libordergate.so.0" ] || fail "SONAME is '$soname', not libordergate.so.0"
echo "SONAME $soname; $(readlink "$prefix/lib/libordergate.so.0")"
# Only the public API leaves the shared library (cmake/ordergate.map).
exported=$(nm -D --defined-only -C "$prefix/lib/libordergate.so.0" | awk '$2 ~ /^[TWVDBR]$/' |
           grep -Ev ' ordergate::Gateway::(Gateway|~Gateway|Open|Submit|SubmitAndWait|Status|stats|Close)\(| ordergate::OutcomeStatusName\(| ordergate::Client::(Client|~Client|Connect|NewUuid(\[abi:cxx11\])?|Submit|SubmitAndWait|Status|gateway_info|request_timeout_ms|stats|Close)\(' ||
           true)
[ -z "$exported" ] || fail "libordergate.so exports more than the public API:"$'\n'"$exported"
# The installed headers: the standard library, absl/ and ordergate/ only.
bad=$(grep -h '^#include' "$prefix"/include/ordergate/*.h | grep -v '^#include <[a-z_]*>$' |
      grep -v '^#include "absl/\|^#include "ordergate/' || true)
[ -z "$bad" ] || fail "installed headers include more than std, absl and ordergate: $bad"

gen=()
command -v ninja >/dev/null 2>&1 && gen=(-G Ninja)
# build_consumer NAME STATIC: tests/consumer configured and built in $tmp/NAME.
build_consumer() {
  cmake -S "$here" -B "$tmp/$1" "${gen[@]}" -DCMAKE_BUILD_TYPE=Release -DCONSUMER_STATIC="$2" \
        -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/$1-configure.log" 2>&1 ||
    { cat "$tmp/$1-configure.log"; fail "configure tests/consumer (CONSUMER_STATIC=$2)"; }
  cmake --build "$tmp/$1" >"$tmp/$1-build.log" 2>&1 ||
    { cat "$tmp/$1-build.log"; fail "build tests/consumer (CONSUMER_STATIC=$2)"; }
  [ -x "$tmp/$1/consumer" ] || fail "tests/consumer (CONSUMER_STATIC=$2) built no consumer"
  [ -x "$tmp/$1/consumer_client" ] || fail "tests/consumer (CONSUMER_STATIC=$2) built no consumer_client"
}
step "build tests/consumer with CMake against the prefix: ordergate::ordergate (shared)"
build_consumer consumer-build OFF
step "build tests/consumer with CMake against the prefix: ordergate::ordergate_static"
build_consumer consumer-static-build ON
if readelf -d "$tmp/consumer-static-build/consumer" | grep -q 'libordergate\.so'; then
  fail "the static consumer needs libordergate.so"
fi

step "build tests/consumer with pkg-config"
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pc=$(pkg-config --cflags --libs ordergate) || fail "pkg-config --cflags --libs ordergate"
echo "pkg-config: $pc"
# The .pc file names its prefix relative to itself (${pcfiledir}), so the tree may be moved.
incdir=$(pkg-config --cflags-only-I ordergate | awk '{ sub(/^-I/, "", $1); print $1 }')
[ -n "$incdir" ] && [ "$(realpath "$incdir")" = "$(realpath "$prefix/include")" ] ||
  fail "pkg-config's first -I ($incdir) is not $prefix/include"
case " $pc " in *" -lordergate "*) ;; *) fail "pkg-config's libs miss -lordergate";; esac
# shellcheck disable=SC2086  # $pc is a list of flags
${CXX:-c++} -std=c++17 -Wall -Wextra -Werror "$here/main.cc" -o "$tmp/consumer-pc" $pc \
  -Wl,-rpath,"$prefix/lib" || fail "build tests/consumer/main.cc with pkg-config's flags"

step "start the installed ordergate-bridge-sim on a free loopback port"
"$prefix/bin/ordergate-bridge-sim" --bind 'tcp://127.0.0.1:*' --journal "$tmp/sim.journal" \
  --log-level warn >"$tmp/sim.log" 2>&1 &
sim_pid=$!
endpoint=
for _ in $(seq 150); do
  endpoint=$(sed -n 's/.*ordergate-bridge-sim listening on \(tcp:[^ ]*\).*/\1/p' "$tmp/sim.log" | head -1)
  [ -n "$endpoint" ] && break
  kill -0 "$sim_pid" 2>/dev/null || { cat "$tmp/sim.log"; fail "the simulator exited"; }
  sleep 0.1
done
[ -n "$endpoint" ] || { cat "$tmp/sim.log"; fail "the simulator did not say where it listens"; }
echo "bridge: $endpoint"

step "consumers (CMake shared, CMake static, pkg-config): one order each, FILLED"
timeout 60 "$tmp/consumer-build/consumer" "$endpoint" "$tmp/consumer-data" consumer-1 ||
  fail "the CMake-built consumer did not get FILLED"
timeout 60 "$tmp/consumer-static-build/consumer" "$endpoint" "$tmp/consumer-static-data" \
  consumer-3 || fail "the CMake-built static consumer did not get FILLED"
timeout 60 "$tmp/consumer-pc" "$endpoint" "$tmp/consumer-pc-data" consumer-2 ||
  fail "the pkg-config-built consumer did not get FILLED"

step "bin/embedded_strategy --orders 20, then again on the same data directory"
timeout 120 "$prefix/bin/embedded_strategy" --bridge "$endpoint" --data-dir "$tmp/strategy" \
  --orders 20 --prefix cs >"$tmp/run1.jsonl" 2>"$tmp/run1.stderr" ||
  { cat "$tmp/run1.jsonl" "$tmp/run1.stderr"; fail "embedded_strategy (first run) exited non-zero"; }
timeout 120 "$prefix/bin/embedded_strategy" --bridge "$endpoint" --data-dir "$tmp/strategy" \
  --orders 20 --prefix cs --durability async >"$tmp/run2.jsonl" 2>"$tmp/run2.stderr" ||
  { cat "$tmp/run2.jsonl" "$tmp/run2.stderr"; fail "embedded_strategy (restart) exited non-zero"; }
cat "$tmp/run1.stderr" "$tmp/run2.stderr"

step "the installed ordergated on a free loopback port, against the same simulator"
"$prefix/bin/ordergated" --listen 'tcp://127.0.0.1:*' --bridge "$endpoint" --data-dir "$tmp/gw-data" \
  --durability async --log-level warn --metrics-listen 127.0.0.1:0 >"$tmp/gw.log" 2>&1 &
gw_pid=$!
gateway=
for _ in $(seq 200); do
  gateway=$(sed -n 's/^ordergated ready listen=\(tcp:[^ ]*\).*/\1/p' "$tmp/gw.log" | head -1)
  [ -n "$gateway" ] && break
  kill -0 "$gw_pid" 2>/dev/null || { cat "$tmp/gw.log"; fail "ordergated exited"; }
  sleep 0.1
done
[ -n "$gateway" ] || { cat "$tmp/gw.log"; fail "ordergated did not say it is ready"; }
echo "gateway: $gateway"

step "consumer_client (CMake shared, CMake static): one order each through ordergated, FILLED"
timeout 60 "$tmp/consumer-build/consumer_client" "$gateway" client-1 ||
  fail "the CMake-built consumer_client did not get FILLED"
timeout 60 "$tmp/consumer-static-build/consumer_client" "$gateway" client-2 ||
  fail "the CMake-built static consumer_client did not get FILLED"

step "bin/cpp_client_strategy --orders 20 through ordergated"
timeout 120 "$prefix/bin/cpp_client_strategy" --gateway "$gateway" --orders 20 --prefix cc \
  >"$tmp/client.jsonl" 2>"$tmp/client.stderr" ||
  { cat "$tmp/client.jsonl" "$tmp/client.stderr"; fail "cpp_client_strategy exited non-zero"; }
cat "$tmp/client.stderr"

pyclient_uuids=
if /usr/bin/python3 -c 'import zmq' 2>/dev/null; then
  step "the installed Python client: import from PYTHONPATH, python_client_strategy.py through ordergated"
  (cd "$tmp" && PYTHONPATH="$prefix/share/ordergate/python" /usr/bin/python3 -c \
    'import ordergate_client as og, sys; sys.exit(0 if og.__file__.startswith(sys.argv[1]) else 1)' \
    "$prefix/share/ordergate/python/") || fail "ordergate_client does not import from the prefix"
  timeout 120 "$prefix/share/ordergate/python/python_client_strategy.py" --endpoint "$gateway" \
    --orders 5 >"$tmp/pyclient.json" 2>"$tmp/pyclient.stderr" ||
    { cat "$tmp/pyclient.json" "$tmp/pyclient.stderr"; fail "python_client_strategy.py exited non-zero"; }
  pyclient_uuids=$(/usr/bin/python3 -c 'import json, sys; s = json.load(open(sys.argv[1]))
assert s["opened"] == 5 and s["closed"] == 5 and not s["in_doubt"], s
print(" ".join(s["uuids"]))' "$tmp/pyclient.json") || fail "python_client_strategy.py: $(cat "$tmp/pyclient.json")"
else
  echo "python3-zmq is not installed: the Python client's run is skipped"
fi

python3 - "$tmp/run1.jsonl" "$tmp/run2.jsonl" "$tmp/sim.journal" $pyclient_uuids <<'EOF'
import collections, json, sys
run1, run2, journal = sys.argv[1:4]
pyclient_uuids = sys.argv[4:]  # the example strategy's opens and closes (10, or none if skipped)
uuids = [f"cs-{i}" for i in range(20)]
FINAL = {"FILLED", "REJECTED", "UNKNOWN"}
NOT_NOW = {"BRIDGE_DOWN", "GATEWAY_BUSY"}
errors = []

def outcomes(path):
    by_uuid = collections.defaultdict(list)
    for n, line in enumerate(open(path), 1):
        # stdout is the strategy's: one JSON object per line, nothing else (no library logging).
        try:
            o = json.loads(line)
        except ValueError:
            errors.append(f"{path}:{n}: not a JSON line: {line.strip()}")
            continue
        for key in ("uuid", "status", "ticket", "duplicate"):
            if key not in o:
                errors.append(f"{path}:{n}: no {key}: {line.strip()}")
        by_uuid[o["uuid"]].append(o)
    extra = set(by_uuid) - set(uuids)
    if extra:
        errors.append(f"{path}: outcomes for uuids never submitted: {sorted(extra)}")
    return by_uuid

first, restart = outcomes(run1), outcomes(run2)
tickets = {}
for u in uuids:
    got = first.get(u, [])
    finals = [o for o in got if o["status"] in FINAL and o.get("error_code") not in NOT_NOW]
    if len(finals) != 2:
        errors.append(f"run 1: {u}: {len(finals)} final outcomes for its 2 submissions: {got}")
    firsts = [o for o in got if o["status"] == "FILLED" and not o["duplicate"]]
    if len(firsts) != 1:
        errors.append(f"run 1: {u}: FILLED with duplicate:false {len(firsts)} times (want 1): {got}")
    filled = {o["ticket"] for o in got if o["status"] == "FILLED"}
    if len(filled) != 1 or 0 in filled:
        errors.append(f"run 1: {u}: FILLED tickets {sorted(filled)} (want one, > 0)")
    tickets[u] = min(filled) if filled else None
    again = [o for o in restart.get(u, []) if o.get("error_code") not in NOT_NOW]
    if len(again) != 2 or any(o["status"] != "FILLED" or not o["duplicate"] or
                              o["ticket"] != tickets[u] for o in again):
        errors.append(f"restart: {u}: want 2 replays FILLED duplicate:true ticket {tickets[u]}, "
                      f"got {restart.get(u, [])}")

executed = collections.Counter()
for line in open(journal):  # ordergate-bridge-sim's journal: one JSON line per executed order
    executed[json.loads(line).get("uuid")] += 1
for u in uuids + ["consumer-1", "consumer-2", "consumer-3", "client-1", "client-2"] + \
        [f"cc-{i}" for i in range(20)] + pyclient_uuids:
    if executed[u] != 1:
        errors.append(f"the bridge executed {u} {executed[u]} times (want 1)")

if errors:
    print("\n".join(errors), file=sys.stderr)
    sys.exit(1)
print(f"20 uuids x 2 submissions: each FILLED once (duplicate:false) and replayed after a restart; "
      f"the bridge executed each uuid once ({sum(executed.values())} executions)")
EOF
step "passed"
