// The harness's clocks: steady nanoseconds for every latency, Unix microseconds for the risk
// signatures the baseline signs (the simulator judges their age against its own wall clock).
// Header-only, thread-safe (pure reads of the clocks).
#ifndef ORDERGATE_BENCH_HARNESS_CLOCK_H_
#define ORDERGATE_BENCH_HARNESS_CLOCK_H_

#include <chrono>
#include <cstdint>

namespace ordergate::bench {

constexpr int64_t kNsPerMs = 1000000;
constexpr int64_t kNsPerS = 1000000000;

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

inline int64_t UnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_HARNESS_CLOCK_H_
