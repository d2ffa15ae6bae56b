// BridgeCapacity (gateway/bridge_capacity.h): how many requests may wait at the bridge, driven by
// a simulated clock.
#include "gateway/bridge_capacity.h"

#include <catch2/catch.hpp>
#include <cstdint>

namespace ordergate::gateway {
namespace {

constexpr int64_t kMs = 1'000'000;
constexpr int64_t kBudget = 4500 * kMs;

// A serial bridge taking `service_ms` per request, kept busy: one completion every service_ms.
int64_t DriveSerial(BridgeCapacity& cap, int64_t start_ns, int64_t service_ms, int n) {
  int64_t t = start_ns;
  cap.OnSent(t, true);
  for (int i = 0; i < n; ++i) {
    t += service_ms * kMs;
    cap.OnReply(start_ns, t);
  }
  return t;
}

TEST_CASE("before any reply the capacity is the cold-start limit", "[gateway]") {
  BridgeCapacity cap(kBudget, 900);
  CHECK(cap.Limit(0, false) == BridgeCapacity::kColdStartLimit);
  CHECK(cap.service_ns() == 0);
}

TEST_CASE("a serial bridge at 60 ms per order admits what it serves within the budget (~75)",
          "[gateway]") {
  BridgeCapacity cap(kBudget, 900);
  const int64_t t = DriveSerial(cap, 1000 * kMs, 60, 200);
  CHECK(cap.service_ns() == Approx(60 * kMs).epsilon(0.02));
  CHECK(cap.Limit(t, false) >= 73);
  CHECK(cap.Limit(t, false) <= 76);
}

TEST_CASE("a fast bridge opens up to the configured ceiling", "[gateway]") {
  BridgeCapacity cap(kBudget, 900);
  int64_t t = 1000 * kMs;
  cap.OnSent(t, true);
  for (int i = 0; i < 400; ++i) {
    t += 20'000;  // 20 us per completion
    cap.OnReply(t - 100'000, t);
  }
  CHECK(cap.Limit(t, false) == 900);
}

TEST_CASE("a stall in progress shrinks the limit at once and a finished one only for a while",
          "[gateway]") {
  BridgeCapacity cap(kBudget, 900);
  int64_t t = DriveSerial(cap, 1000 * kMs, 60, 200);
  const uint64_t steady = cap.Limit(t, true);
  // The bridge is in a 4 s MT5 call: after 1 s nothing new fits behind it.
  CHECK(cap.Limit(t + 1000 * kMs, true) <= 5);
  CHECK(cap.Limit(t + 3000 * kMs, true) == 1);
  // Not busy (nothing within its deadline outstanding): a lost request does not shut the gate.
  CHECK(cap.Limit(t + 3000 * kMs, false) == steady);
  t += 4000 * kMs;
  cap.OnReply(t - 4000 * kMs, t);
  const uint64_t after = cap.Limit(t, false);
  CHECK(after < steady);
  CHECK(after >= 10);
  t = DriveSerial(cap, t, 60, 100);
  CHECK(cap.Limit(t, false) >= steady - 2);
}

TEST_CASE("an idle bridge's replies measure the round trip, not the idle time", "[gateway]") {
  BridgeCapacity cap(kBudget, 900);
  int64_t t = 1000 * kMs;
  for (int i = 0; i < 100; ++i) {
    t += 10'000 * kMs;  // ten seconds idle between requests
    cap.OnSent(t, true);
    cap.OnReply(t, t + 60 * kMs);
  }
  CHECK(cap.service_ns() == Approx(60 * kMs).epsilon(0.05));
}

TEST_CASE("the limit never drops below one nor rises above the ceiling", "[gateway]") {
  BridgeCapacity cap(kBudget, 3);
  CHECK(cap.Limit(0, false) == 3);
  cap.OnSent(0, true);
  cap.OnReply(0, 100'000 * kMs);  // capped at the budget
  CHECK(cap.Limit(100'000 * kMs, false) == 1);
  cap.OnDisconnected();
  CHECK(cap.Limit(100'000 * kMs, false) == 1);
}

}  // namespace
}  // namespace ordergate::gateway
