// The simulation's time and chance: one event queue under a simulated clock, and one seeded
// generator. Everything in a run is an event taken from this queue on one thread, in (time, order
// of scheduling) order, so a seed replays the same run exactly (on the same binary: see
// simulation_test.cc for why address-space randomisation is turned off).
#ifndef ORDERGATE_TESTS_SIMULATION_SIM_CORE_H_
#define ORDERGATE_TESTS_SIMULATION_SIM_CORE_H_

#include <cstdint>
#include <functional>
#include <queue>
#include <random>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "gateway/clock.h"

namespace ordergate::sim {

class Core {
 public:
  explicit Core(uint64_t seed) : rng(seed) {}

  // Runs `fn` at `at_us` (simulated microseconds since the start; clamped to now).
  void At(int64_t at_us, std::function<void()> fn) {
    queue_.push(Event{at_us < now_us_ ? now_us_ : at_us, next_seq_++, std::move(fn)});
  }
  void After(int64_t delay_us, std::function<void()> fn) { At(now_us_ + delay_us, std::move(fn)); }

  // Takes the next event, moves the clock to its time and runs it. False when none is left.
  bool Step() {
    if (queue_.empty()) return false;
    Event e = queue_.top();
    queue_.pop();
    if (e.at_us > now_us_) {
      clock.Advance(absl::Microseconds(e.at_us - now_us_));
      now_us_ = e.at_us;
    }
    ++events;
    e.fn();
    return true;
  }

  int64_t now_us() const { return now_us_; }
  // The pipeline's clock: steady ns and Unix µs, both moved by Step() only, in whole µs.
  gateway::ManualClock clock;
  std::mt19937_64 rng;
  uint64_t events = 0;

  bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; }
  int64_t Uniform(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  }

 private:
  struct Event {
    int64_t at_us;
    uint64_t seq;
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const {
      return a.at_us != b.at_us ? a.at_us > b.at_us : a.seq > b.seq;
    }
  };
  std::priority_queue<Event, std::vector<Event>, Later> queue_;
  int64_t now_us_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace ordergate::sim

#endif  // ORDERGATE_TESTS_SIMULATION_SIM_CORE_H_
