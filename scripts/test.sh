#!/usr/bin/env bash
# Builds ordergate (Release, warnings are errors), checks format and lint, and runs every test
# through ctest: the unit and end-to-end suites, the harness smoke run, the nemesis run (label
# reliability) and a 60 s soak (label soak). Then 60 s of libFuzzer per decoder (clang), the suite
# again under ASan+UBSan (without the long-running labels), and the gateway/transport suites under
# TSan. Exits non-zero on any failure.
#   scripts/test.sh [--no-sanitize]     (--no-sanitize: the Release pass only)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
JOBS=$(nproc)
sanitize=1
[ "${1:-}" = "--no-sanitize" ] && sanitize=0
started=$(date +%s)
phase() { echo "== $1 (at $(( $(date +%s) - started )) s)"; }

phase "Format (clang-format, .clang-format)"
if command -v clang-format >/dev/null 2>&1; then
  git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror
else
  echo "clang-format not installed: format check skipped"
fi

phase "Release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DORDERGATE_WERROR=ON
cmake --build build -j "$JOBS"
phase "clang-tidy (.clang-tidy) over the libraries and binaries"
if command -v clang-tidy >/dev/null 2>&1; then
  git ls-files 'gateway/*.cc' 'idempotency/*.cc' 'transport/*.cc' 'bench/*.cc' |
    xargs -P "$JOBS" -n 4 clang-tidy -p build --quiet --warnings-as-errors='*' \
      --extra-arg=-Wno-unknown-warning-option 2>/dev/null
else
  echo "clang-tidy not installed: lint skipped"
fi

phase "Release tests (incl. the nemesis run, which runs alone)"
(cd build && ctest -j "$JOBS" -LE soak --output-on-failure --timeout 900)
# Alone, after the rest: the soak judges p99 and memory, which other tests' load would disturb.
phase "Soak (60 s at 300 orders/s; CSV and PNG in build/tests/soak/soak-60s/)"
(cd build && ctest -L soak --output-on-failure)

if [ "$sanitize" = 1 ]; then
  phase "Fuzz (libFuzzer + ASan + UBSan, ${FUZZ_SECONDS:-60} s per target)"
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-60}"

  # RocksDB is not instrumented either way: the shared library keeps the sanitizer links quick.
  phase "ASan+UBSan build"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORDERGATE_SANITIZE=ON \
        -DORDERGATE_BUILD_BENCH=OFF -DORDERGATE_WERROR=ON -DORDERGATE_ROCKSDB_STATIC=OFF
  cmake --build build-asan -j "$JOBS"
  phase "ASan+UBSan tests (without the long labels: the nemesis and soak ran above)"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest -j "$JOBS" -LE long --output-on-failure --timeout 900)

  phase "TSan (gateway and transport suites)"
  bash scripts/tsan.sh
fi
phase "all passed"
