// SystemClock (gateway/clock.h).
#include "gateway/clock.h"

#include <chrono>

namespace ordergate::gateway {
namespace {

class System final : public Clock {
 public:
  int64_t SteadyNs() const override {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  int64_t UnixUs() const override {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace

const Clock& SystemClock() {
  static const System* clock = new System();
  return *clock;
}

}  // namespace ordergate::gateway
