#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz for a bounded time each and fails on any finding.
# Usage: scripts/fuzz.sh [SECONDS_EACH]      (default 60; CI runs 60)
#
# Installs nothing (scripts/install-deps.sh lists clang and libclang-rt-14-dev). Configures a clang
# build in build-fuzz with -DORDERGATE_FUZZ=ON, builds only the fuzz targets, and runs each one on
# a copy of its seed corpus (tests/fuzz/corpus/<name>/ is never written to) with the protocol
# dictionary. A crash, sanitizer report, broken property (trap), leak, timeout or OOM fails the
# script and prints the reproducer's path and the command that replays it.
# Each run's corpus, artifacts and log stay in build-fuzz/runs/<target>-<time>/; to keep what a
# run found, minimise it into the seed corpus by hand:
#   build-fuzz/bin/fuzz_decode_request -merge=1 tests/fuzz/corpus/request build-fuzz/runs/.../corpus
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_EACH="${1:-60}"
BUILD_DIR="${FUZZ_BUILD_DIR:-build-fuzz}"
# Above max_request_bytes (16384), so OVERSIZE bodies and the 10 000-deep nesting seed are explored.
MAX_LEN=20480

if ! command -v clang++ >/dev/null 2>&1; then
  echo "fuzz.sh: clang++ not found (scripts/install-deps.sh installs clang and libclang-rt-14-dev)" >&2
  exit 2
fi

echo "== Fuzz build (clang, libFuzzer + ASan + UBSan) in $BUILD_DIR"
CC=clang CXX=clang++ cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DORDERGATE_FUZZ=ON -DORDERGATE_BUILD_BENCH=OFF -DORDERGATE_WERROR=ON >/dev/null
cmake --build "$BUILD_DIR" --target fuzz_decode_request fuzz_decode_bridge_reply

failed=0
run_target() {
  local target="$1" corpus="$2"
  local run_dir
  run_dir="$BUILD_DIR/runs/$target-$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$run_dir/corpus" "$run_dir/artifacts"
  cp -R "tests/fuzz/corpus/$corpus/." "$run_dir/corpus/"
  echo "== $target: ${SECONDS_EACH}s, seeds $(ls "$run_dir/corpus" | wc -l), log $run_dir/fuzz.log"
  local rc=0
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
    "$BUILD_DIR/bin/$target" "$run_dir/corpus" \
      -dict=tests/fuzz/ordergate.dict -max_len="$MAX_LEN" -max_total_time="$SECONDS_EACH" \
      -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$run_dir/artifacts/" >"$run_dir/fuzz.log" 2>&1 || rc=$?
  grep -E '^(stat::number_of_executed_units|stat::new_units_added|#[0-9]+ +DONE)' "$run_dir/fuzz.log" || true
  local found
  found=$(find "$run_dir/artifacts" -type f | sort)
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    failed=1
    echo "FAIL: $target exited $rc" >&2
    grep -E 'ERROR: |runtime error:|fuzz property violated|SUMMARY: ' "$run_dir/fuzz.log" | head -20 >&2 || true
    for f in $found; do
      echo "reproducer: $f" >&2
      echo "  replay:   $BUILD_DIR/bin/$target $f" >&2
    done
    [ -n "$found" ] || echo "  (no artifact written; see $run_dir/fuzz.log)" >&2
  fi
}

run_target fuzz_decode_request request
run_target fuzz_decode_bridge_reply bridge_reply

if [ "$failed" -ne 0 ]; then
  echo "== fuzz: FAILED" >&2
  exit 1
fi
echo "== fuzz: no findings (${SECONDS_EACH}s per target)"
