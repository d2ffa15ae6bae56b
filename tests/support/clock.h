// Clock helpers for tests: the steady clock in the units tests compare against, and bounded
// waiting for a condition (never an unbounded loop). Header-only, thread-safe (pure reads of the
// clock; WaitUntil runs `done` on the calling thread).
#ifndef ORDERGATE_TESTS_SUPPORT_CLOCK_H_
#define ORDERGATE_TESTS_SUPPORT_CLOCK_H_

#include <chrono>
#include <cstdint>
#include <thread>

namespace ordergate::test_support {

using SteadyTime = std::chrono::steady_clock::time_point;

inline SteadyTime SteadyNow() { return std::chrono::steady_clock::now(); }

inline int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyNow().time_since_epoch())
      .count();
}

// Milliseconds (fractional) since `t0`.
inline double ElapsedMs(SteadyTime t0) {
  return std::chrono::duration<double, std::milli>(SteadyNow() - t0).count();
}

// Calls `done` until it returns true or `timeout` has passed, sleeping `poll` between calls.
// Returns whether `done` returned true (it is called at least once, and once more at the end).
template <typename Done>
bool WaitUntil(Done done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds poll = std::chrono::milliseconds(5)) {
  const SteadyTime deadline = SteadyNow() + timeout;
  while (SteadyNow() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(poll);
  }
  return done();
}

}  // namespace ordergate::test_support

#endif  // ORDERGATE_TESTS_SUPPORT_CLOCK_H_
