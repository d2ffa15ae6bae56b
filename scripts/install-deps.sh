#!/usr/bin/env bash
# Installs the Debian 12 packages ordergate builds, tests and demos with. Idempotent: when every
# package is already present it does nothing (no apt-get update, no network).
set -euo pipefail
PACKAGES=(
  build-essential cmake ninja-build pkgconf git       # toolchain
  clang-format clang-tidy                             # style checks run by scripts/test.sh
  cppzmq-dev libzmq3-dev libsodium-dev                # ZeroMQ (+ CURVE/SHA-256 via libsodium)
  libabsl-dev librocksdb-dev libspdlog-dev            # Status/containers, the store, logs
  libsimdjson-dev libtomlplusplus-dev libcpp-httplib-dev  # JSON, config, /metrics
  libcli11-dev                                        # command-line flags of every binary
  catch2 libbenchmark-dev                             # tests, component benchmarks
  python3 python3-zmq procps curl                     # scripts, the MT5-CRS-style Python client, /metrics
  clang libclang-rt-14-dev                            # libFuzzer targets (tests/fuzz)
  gnuplot-nox                                         # latency and soak plots (PNG)
  prometheus prometheus-alertmanager                  # promtool/amtool checks, the alert path test (tests/deploy)
  fuse3 libfuse3-dev                                  # the power-loss test's file system (tests/reliability/power_loss)
  postgresql-15 libpq-dev                             # the shared guard (idempotency/postgres_store.h): libpq to link,
                                                      # the server binaries deploy/postgres/cluster.sh runs for its tests
)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
