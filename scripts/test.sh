#!/usr/bin/env bash
# Builds ordergate (Release, warnings are errors) and runs every test through ctest; then the same
# suite under ASan+UBSan. Exits non-zero on any failure. Usage: scripts/test.sh [--no-sanitize]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
JOBS=$(nproc)
sanitize=1
[ "${1:-}" = "--no-sanitize" ] && sanitize=0

echo "== Format (clang-format, .clang-format)"
if command -v clang-format >/dev/null 2>&1; then
  git ls-files '*.cc' '*.h' | xargs clang-format --dry-run -Werror
else
  echo "clang-format not installed: format check skipped"
fi

echo "== Release build"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DORDERGATE_WERROR=ON
cmake --build build -j "$JOBS"
echo "== clang-tidy (.clang-tidy) over the libraries and binaries"
if command -v clang-tidy >/dev/null 2>&1; then
  git ls-files 'gateway/*.cc' 'idempotency/*.cc' 'transport/*.cc' 'bench/*.cc' |
    xargs -P "$JOBS" -n 4 clang-tidy -p build --quiet --warnings-as-errors='*' \
      --extra-arg=-Wno-unknown-warning-option 2>/dev/null
else
  echo "clang-tidy not installed: lint skipped"
fi

echo "== Release tests"
(cd build && ctest -j "$JOBS" --output-on-failure --timeout 600)

if [ "$sanitize" = 1 ]; then
  echo "== ASan+UBSan build"
  cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DORDERGATE_SANITIZE=ON \
        -DORDERGATE_BUILD_BENCH=OFF -DORDERGATE_WERROR=ON
  cmake --build build-asan -j "$JOBS"
  echo "== ASan+UBSan tests"
  (cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
     UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
     ctest -j "$JOBS" --output-on-failure --timeout 900)
fi
