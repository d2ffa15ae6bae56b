// Clock: the pipeline's time, passed in rather than read from the system at every step, so that a
// test (and, later, a deterministic simulation) can drive the pipeline's deadlines — PENDING at a
// client's deadline, UNKNOWN at the bridge deadline, the retry of a failed store write, the
// questions about UNKNOWN orders — by moving time instead of sleeping through it.
//
//   ManualClock clock;                                  // starts at an arbitrary fixed instant
//   auto gw = Gateway::Start(cfg, nullptr, &clock);     // the pipeline reads only `clock`
//   clock.Advance(absl::Seconds(7));                    // every deadline due by then fires at the
//                                                       // loop's next step (at most kMaxPollMs)
//
// Both readings are what the pipeline needs: a monotonic one for deadlines and latencies, and the
// wall clock for what it writes down (record times, reply timestamps, risk signatures). The
// pipeline still waits for sockets in real time (at most 20 ms per step), so a ManualClock moves
// its decisions, not its polling.
// Thread-safety: every method of both clocks may be called from any thread.
#ifndef ORDERGATE_GATEWAY_CLOCK_H_
#define ORDERGATE_GATEWAY_CLOCK_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"

namespace ordergate::gateway {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds (an arbitrary origin): deadlines and latencies.
  virtual int64_t SteadyNs() const = 0;
  // Microseconds since the Unix epoch: what is written down and sent.
  virtual int64_t UnixUs() const = 0;
};

// std::chrono's steady_clock and system_clock. The default of every pipeline.
const Clock& SystemClock();

// A clock that moves only when told to. Starts at steady 1 000 s and at 2026-01-01T00:00:00Z.
class ManualClock final : public Clock {
 public:
  int64_t SteadyNs() const override { return steady_ns_.load(std::memory_order_acquire); }
  int64_t UnixUs() const override { return unix_us_.load(std::memory_order_acquire); }
  // Moves both readings forward by `d` (negative durations are ignored: time never goes back).
  void Advance(absl::Duration d) {
    const int64_t ns = absl::ToInt64Nanoseconds(d);
    if (ns <= 0) return;
    unix_us_.fetch_add(ns / 1000, std::memory_order_acq_rel);
    steady_ns_.fetch_add(ns, std::memory_order_acq_rel);
  }

 private:
  std::atomic<int64_t> steady_ns_{1000LL * 1000 * 1000 * 1000};
  std::atomic<int64_t> unix_us_{1767225600LL * 1000 * 1000};
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_CLOCK_H_
