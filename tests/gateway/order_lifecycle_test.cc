// Every row of the pipeline's order lifecycle (gateway/order_lifecycle.h), every missing row, and
// the counts derived from the moves.
#include "gateway/order_lifecycle.h"

#include <catch2/catch.hpp>
#include <map>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace {

using ordergate::gateway::LifecycleEvent;
using ordergate::gateway::NextPhase;
using ordergate::gateway::OrderLifecycle;
using ordergate::gateway::Phase;
using E = LifecycleEvent;

// The table as the header documents it: (from, event) -> to.
const std::map<std::pair<Phase, E>, Phase>& Rows() {
  static const auto* rows = new std::map<std::pair<Phase, E>, Phase>{
      {{Phase::kNew, E::kAdmitted}, Phase::kReserving},
      {{Phase::kNew, E::kRecoveredUnknown}, Phase::kUnknown},
      {{Phase::kReserving, E::kNotReserved}, Phase::kDone},
      {{Phase::kReserving, E::kSent}, Phase::kSent},
      {{Phase::kReserving, E::kReleased}, Phase::kDone},
      {{Phase::kReserving, E::kReleaseFailed}, Phase::kUnknown},
      {{Phase::kSent, E::kOutcomeLearned}, Phase::kSentSettling},
      {{Phase::kSentSettling, E::kOutcomeRecorded}, Phase::kDone},
      {{Phase::kSentSettling, E::kOutcomeRefused}, Phase::kDone},
      {{Phase::kSentSettling, E::kTimedOutRecorded}, Phase::kUnknown},
      {{Phase::kUnknown, E::kOutcomeLearned}, Phase::kUnknownSettling},
      {{Phase::kUnknown, E::kResolvedByOperator}, Phase::kDone},
      {{Phase::kUnknownSettling, E::kOutcomeRecorded}, Phase::kDone},
      {{Phase::kUnknownSettling, E::kOutcomeRefused}, Phase::kDone},
  };
  return *rows;
}

}  // namespace

TEST_CASE("every row of the order lifecycle moves to the phase its table names", "[lifecycle]") {
  for (const auto& [from_event, to] : Rows()) {
    const auto [from, event] = from_event;
    INFO(ordergate::gateway::PhaseName(from)
         << " + " << ordergate::gateway::LifecycleEventName(event));
    REQUIRE(NextPhase(from, event).has_value());
    CHECK(*NextPhase(from, event) == to);
  }
}

TEST_CASE("a phase and event without a row change nothing", "[lifecycle]") {
  int refused = 0;
  for (int p = 0; p < ordergate::gateway::kPhaseCount; ++p) {
    for (int e = 0; e < ordergate::gateway::kLifecycleEventCount; ++e) {
      const auto from = static_cast<Phase>(p);
      const auto event = static_cast<E>(e);
      if (Rows().count({from, event}) != 0) continue;
      INFO(ordergate::gateway::PhaseName(from)
           << " + " << ordergate::gateway::LifecycleEventName(event));
      CHECK_FALSE(NextPhase(from, event).has_value());
      OrderLifecycle life;
      Phase phase = from;
      CHECK_FALSE(life.Move(&phase, event));
      CHECK(phase == from);
      ++refused;
    }
  }
  CHECK(refused == ordergate::gateway::kPhaseCount * ordergate::gateway::kLifecycleEventCount -
                       static_cast<int>(Rows().size()));
}

TEST_CASE("an UNKNOWN order can never be sent again: no path leads from UNKNOWN to SENT",
          "[lifecycle]") {
  // Breadth-first over the table from UNKNOWN and from UNKNOWN_SETTLING.
  for (Phase start : {Phase::kUnknown, Phase::kUnknownSettling}) {
    std::vector<Phase> frontier = {start};
    std::set<Phase> seen = {start};
    while (!frontier.empty()) {
      const Phase p = frontier.back();
      frontier.pop_back();
      CHECK(p != Phase::kSent);
      CHECK(p != Phase::kReserving);
      for (int e = 0; e < ordergate::gateway::kLifecycleEventCount; ++e) {
        if (auto next = NextPhase(p, static_cast<E>(e)); next && seen.insert(*next).second) {
          frontier.push_back(*next);
        }
      }
    }
  }
}

TEST_CASE("in-flight and reserving counts follow a million seeded moves exactly", "[lifecycle]") {
  std::mt19937_64 rng(20261204);
  OrderLifecycle life;
  std::vector<Phase> orders(500, Phase::kNew);
  for (int step = 0; step < 1000000; ++step) {
    Phase& p = orders[rng() % orders.size()];
    if (p == Phase::kDone) p = Phase::kNew;  // a pooled order reused, as the pipeline does
    (void)life.Move(&p, static_cast<E>(rng() % ordergate::gateway::kLifecycleEventCount));
    if (step % 9973 == 0) {
      uint64_t reserving = 0;
      uint64_t in_flight = 0;
      for (Phase q : orders) {
        reserving += q == Phase::kReserving;
        in_flight += q == Phase::kReserving || q == Phase::kSent || q == Phase::kSentSettling;
      }
      REQUIRE(life.reserving() == reserving);
      REQUIRE(life.in_flight() == in_flight);
    }
  }
}
