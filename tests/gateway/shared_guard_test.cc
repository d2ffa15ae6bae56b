// The lease rule's arithmetic (gateway/shared_guard.h), without a database.
#include "gateway/shared_guard.h"

#include <catch2/catch.hpp>

using ordergate::gateway::LeaseState;
using ordergate::gateway::LeaseStateName;
using ordergate::gateway::LeaseTiming;

namespace {
constexpr int64_t kMs = 1'000'000;
}

TEST_CASE(
    "a lease of 3000 ms is renewed every 1000 ms and lets the gateway send for 2000 ms after the "
    "start of its last successful renewal, never before one",
    "[gateway]") {
  const LeaseTiming t{3000};
  CHECK(t.renew_interval_ms() == 1000);
  CHECK(t.sendable_for_ms() == 2000);
  const int64_t renewed = 50'000 * kMs;
  CHECK(t.MaySend(renewed, renewed));
  CHECK(t.MaySend(renewed, renewed + 1999 * kMs));
  CHECK_FALSE(t.MaySend(renewed, renewed + 2000 * kMs));
  CHECK_FALSE(t.MaySend(0, 1));  // never acquired
  // One missed renewal (at +1000) still sends until +2000: a second success at +1000 would have
  // moved the reference; the margin of a third is what is left for the database's own expiry.
  CHECK(t.sendable_for_ms() + t.lease_ms / 3 == t.lease_ms);
}

TEST_CASE("the smallest lease (300 ms) keeps a margin of 100 ms, and every state has a name",
          "[gateway]") {
  const LeaseTiming t{300};
  CHECK(t.renew_interval_ms() == 100);
  CHECK(t.sendable_for_ms() == 200);
  CHECK(LeaseStateName(LeaseState::kHeld) == "held");
  CHECK(LeaseStateName(LeaseState::kStale) == "stale");
  CHECK(LeaseStateName(LeaseState::kLost) == "lost");
  CHECK(LeaseStateName(LeaseState::kReleased) == "released");
}
