#!/usr/bin/env bash
# ThreadSanitizer pass: configures build-tsan (GCC 12, -DORDERGATE_TSAN=ON, RelWithDebInfo), builds
# only the suites it runs, and runs them through ctest with tests/tsan.supp. Any data race, lock-order
# inversion or thread leak TSan reports in ordergate's own code fails the run (halt_on_error=1).
# The suppressions name only uninstrumented libraries (libzmq, RocksDB); see tests/tsan.supp.
#
#   scripts/tsan.sh              # gateway_tests, transport_codec_tests, transport_zmq_tests,
#                                # transport_client_tests (CI set)
#   scripts/tsan.sh --all        # also idempotency, the bridge simulator's suite and e2e (real
#                                # ordergated processes under TSan); several of their cases bound
#                                # waits in ms and fail on TSan's 5-15x slowdown on 2 loaded cores
#   BUILD_DIR=/tmp/t scripts/tsan.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD_DIR=${BUILD_DIR:-build-tsan}
JOBS=${JOBS:-$(nproc)}
# transport_client_tests: the C++ client's I/O thread and its callers' threads (it starts the
# TSan-built ordergated and simulator, which it depends on).
TARGETS=(gateway_tests transport_codec_tests transport_zmq_tests transport_client_tests)
REGEX='^(gateway|transport_codec|transport_zmq|transport_client):'
if [ "${1:-}" = "--all" ]; then
  TARGETS+=(idempotency_tests idempotency_crash_child bridge_sim_tests ordergate-bridge-sim e2e_tests
            ordergated)
  REGEX='^(gateway|transport_codec|transport_zmq|transport_client|transport_sim|idempotency|e2e):'
fi
# Cases that assert a wall-clock bound (a reply within 300 ms; an UNKNOWN seen before the 100 ms
# status query resolves it; TTLs and latencies of the simulator) and so fail on TSan's 5-15x
# slowdown whatever the threads do. They run in the Release and ASan passes; here they are left out
# by name, so that a TSan failure always means a report or a real break.
TIMING_BOUND='deadline comes first gets PENDING|left RESERVED by a crash becomes UNKNOWN'
TIMING_BOUND+='|waits in the serial queue past the signature TTL|late fault in worker mode'
TIMING_BOUND+='|With workers N orders are handled concurrently|PING answers ok with the uuid'
TIMING_BOUND+='|no-reply fault executes and journals'
# Its share of untorn snapshots (> half with a paced writer) is a matter of speed: under TSan a
# snapshot's copy takes long enough to overlap the writer's records most of the time.
TIMING_BOUND+='|snapshots taken while the writer records are consistent and monotone'
start=$(date +%s)

echo "== TSan build ($BUILD_DIR: ${TARGETS[*]})"
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORDERGATE_TSAN=ON \
  -DORDERGATE_SANITIZE=OFF -DORDERGATE_BUILD_BENCH=OFF -DORDERGATE_WERROR=ON \
  -DORDERGATE_ROCKSDB_STATIC=OFF >/dev/null  # tests/tsan.supp names librocksdb.so
cmake --build "$BUILD_DIR" -j "$JOBS" --target "${TARGETS[@]}"
built=$(date +%s)

# TSan's runtime (GCC 12's libtsan2, LLVM 14's) cannot map its shadow memory when the kernel
# randomizes mmap with more than 28 bits (vm.mmap_rnd_bits=32 on some newer kernels): it then dies
# with "unexpected memory mapping". Running without ASLR avoids it without touching the host.
RUN=()
if [ "$(cat /proc/sys/vm/mmap_rnd_bits 2>/dev/null || echo 28)" -gt 28 ]; then
  RUN=(setarch "$(uname -m)" -R)
  echo "vm.mmap_rnd_bits > 28: running the suites without ASLR (setarch -R)"
fi

echo "== TSan tests (ctest -R '$REGEX', without the timing-bound cases)"
# Reports go to files (log_path), one per reporting process, so that a report is seen even when it
# came from a child process (ordergated under e2e) or from an attempt ctest retried. Retries exist
# only for timing: TSan slows the code 5-15x, and a few tests bound a wait (e.g. < 300 ms); a test
# that fails its timing twice more still fails, and any report fails the run whatever the retries.
REPORTS="$ROOT/$BUILD_DIR/tsan-reports"
rm -rf "$REPORTS"
mkdir -p "$REPORTS"
export TSAN_OPTIONS="suppressions=$ROOT/tests/tsan.supp:halt_on_error=1:second_deadlock_stack=1:report_thread_leaks=1:log_path=$REPORTS/tsan${TSAN_EXTRA:+:$TSAN_EXTRA}"
status=0
(cd "$BUILD_DIR" && ${RUN[@]+"${RUN[@]}"} ctest -j "$JOBS" -R "$REGEX" -E "$TIMING_BOUND" --output-on-failure \
  --timeout 600 --repeat until-pass:3) || status=$?
end=$(date +%s)
if compgen -G "$REPORTS/tsan.*" >/dev/null; then
  echo "tsan: ThreadSanitizer reported (files in $REPORTS):"
  cat "$REPORTS"/tsan.*
  status=1
fi
echo "tsan: build $((built - start)) s, tests $((end - built)) s, total $((end - start)) s"
exit $status
