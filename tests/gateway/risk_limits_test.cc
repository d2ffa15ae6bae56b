// RiskGate (gateway/risk_limits.h): every limit at its edges, on a clock passed in (ns).
#include "gateway/risk_limits.h"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <string>

namespace ordergate::gateway {
namespace {

constexpr int64_t kSecond = 1'000'000'000;
constexpr int64_t kT0 = 1'000 * kSecond;  // an arbitrary steady-clock origin

RiskOrder Open(absl::string_view symbol, double volume, double price = 0) {
  return RiskOrder{.is_close = false, .symbol = symbol, .volume = volume, .price = price};
}

RiskOrder Close() { return RiskOrder{.is_close = true}; }

LimitsTable Default(ClientLimits limits) {
  LimitsTable t;
  t.default_limits = std::move(limits);
  return t;
}

TEST_CASE(
    "A volume equal to max_volume passes and the next representable volume is refused "
    "with a message naming the limit and both values",
    "[gateway][risk]") {
  RiskGate gate(Default({.max_volume = 5.0}));
  CHECK(gate.Check("", Open("EURUSD", 5.0), kT0).ok());
  const double above = std::nextafter(5.0, std::numeric_limits<double>::infinity());
  const RiskDecision d = gate.Check("", Open("EURUSD", above), kT0);
  CHECK(d.limit == RiskLimit::kMaxVolume);
  CHECK(d.message == "max_volume 5 exceeded: volume 5.000000000000001");
  CHECK(gate.Check("", Open("EURUSD", 5.01), kT0).message == "max_volume 5 exceeded: volume 5.01");
}

TEST_CASE("Only the listed symbols pass, compared exactly, and without a list any symbol passes",
          "[gateway][risk]") {
  RiskGate gate(Default({.symbols = std::vector<std::string>{"EURUSD", "XAUUSD"}}));
  CHECK(gate.Check("", Open("EURUSD", 1), kT0).ok());
  CHECK(gate.Check("", Open("XAUUSD", 1), kT0).ok());
  const RiskDecision d = gate.Check("", Open("eurusd", 1), kT0);
  CHECK(d.limit == RiskLimit::kSymbols);
  CHECK(d.message == "symbols: eurusd is not among this client's allowed symbols");
  CHECK(gate.Check("", Open("GBPUSD", 1), kT0).limit == RiskLimit::kSymbols);
  RiskGate open(Default({}));
  CHECK(open.Check("", Open("ANYTHING", 1e6, 1e6), kT0).ok());
}

TEST_CASE(
    "The token bucket lets a burst of the rate through, refuses the next, and refills one "
    "order per interval exactly at its nanosecond",
    "[gateway][risk]") {
  RiskGate gate(Default({.max_orders_per_second = 10}));
  for (int i = 0; i < 10; ++i) CHECK(gate.Check("", Open("EURUSD", 1), kT0).ok());
  const RiskDecision d = gate.Check("", Open("EURUSD", 1), kT0);
  CHECK(d.limit == RiskLimit::kMaxOrdersPerSecond);
  CHECK_THAT(d.message, Catch::StartsWith("max_orders_per_second 10 exceeded"));
  // One order every 100 ms: not a nanosecond early.
  CHECK_FALSE(gate.Check("", Open("EURUSD", 1), kT0 + kSecond / 10 - 1).ok());
  CHECK(gate.Check("", Open("EURUSD", 1), kT0 + kSecond / 10).ok());
  CHECK_FALSE(gate.Check("", Open("EURUSD", 1), kT0 + kSecond / 10).ok());
  // A refusal takes no token: after a second of refusals and silence the whole burst is back.
  const int64_t later = kT0 + 5 * kSecond;
  for (int i = 0; i < 10; ++i) CHECK(gate.Check("", Open("EURUSD", 1), later).ok());
  CHECK_FALSE(gate.Check("", Open("EURUSD", 1), later).ok());
  // Steady at the rate: one every 100 ms passes for a minute.
  for (int i = 1; i <= 600; ++i) {
    REQUIRE(gate.Check("", Open("EURUSD", 1), later + i * (kSecond / 10)).ok());
  }
}

TEST_CASE(
    "A rate below one order per second still lets one order through, then one per "
    "interval",
    "[gateway][risk]") {
  RiskGate gate(Default({.max_orders_per_second = 0.5}));
  CHECK(gate.Check("", Close(), kT0).ok());
  CHECK_FALSE(gate.Check("", Close(), kT0 + 2 * kSecond - 1).ok());
  CHECK(gate.Check("", Close(), kT0 + 2 * kSecond).ok());
}

TEST_CASE(
    "max_in_flight refuses at the count and a settled order makes room; settling more than "
    "was reserved never goes below zero",
    "[gateway][risk]") {
  RiskGate gate(Default({.max_in_flight = 2}));
  for (int i = 0; i < 2; ++i) {
    REQUIRE(gate.Check("", Open("EURUSD", 1), kT0).ok());
    gate.OnReserved("");
  }
  const RiskDecision d = gate.Check("", Open("EURUSD", 1), kT0);
  CHECK(d.limit == RiskLimit::kMaxInFlight);
  CHECK(d.message == "max_in_flight 2 reached: 2 orders in flight");
  CHECK(gate.Check("", Close(), kT0).limit == RiskLimit::kMaxInFlight);
  gate.OnSettled("");
  CHECK(gate.InFlight("") == 1);
  CHECK(gate.Check("", Close(), kT0).ok());
  gate.OnSettled("");
  gate.OnSettled("");
  gate.OnSettled("nobody");
  CHECK(gate.InFlight("") == 0);
}

TEST_CASE(
    "A CLOSE meets only the rate and in-flight limits: symbols, max_volume and notional do "
    "not apply to it",
    "[gateway][risk]") {
  RiskGate gate(Default({.symbols = std::vector<std::string>{"EURUSD"},
                         .max_volume = 1,
                         .max_orders_per_second = 2,
                         .max_notional_per_minute = 1}));
  CHECK(gate.Check("", Close(), kT0).ok());
  CHECK(gate.Check("", Close(), kT0).ok());
  CHECK(gate.Check("", Close(), kT0).limit == RiskLimit::kMaxOrdersPerSecond);
}

TEST_CASE(
    "The notional of the last minute is inclusive at its limit, counts only priced orders, "
    "and an order leaves the window exactly 60 s after it was accepted",
    "[gateway][risk]") {
  RiskGate gate(Default({.max_notional_per_minute = 1000}));
  CHECK(gate.Check("", Open("EURUSD", 2, 250), kT0).ok());  // 500
  CHECK(gate.Check("", Open("EURUSD", 50), kT0).ok());      // no price: counts nothing
  const RiskDecision over = gate.Check("", Open("EURUSD", 2, 251), kT0 + 1);
  CHECK(over.limit == RiskLimit::kMaxNotionalPerMinute);
  CHECK(over.message ==
        "max_notional_per_minute 1000 exceeded: 500 in the last 60 s + 502 (volume 2 x price 251)");
  CHECK(gate.Check("", Open("EURUSD", 2, 250), kT0 + 1).ok());  // exactly 1000
  CHECK_FALSE(gate.Check("", Open("EURUSD", 1, 0.01), kT0 + 2).ok());
  // The first 500 leaves at kT0 + 60 s; the second (kT0 + 1, same 100 ms slice) stays until the
  // slice's last order is 60 s old.
  CHECK_FALSE(gate.Check("", Open("EURUSD", 1, 0.01), kT0 + 60 * kSecond - 1).ok());
  CHECK_FALSE(gate.Check("", Open("EURUSD", 1, 0.01), kT0 + 60 * kSecond).ok());
  CHECK(gate.Check("", Open("EURUSD", 1, 1000), kT0 + 1 + 60 * kSecond).ok());
}

TEST_CASE(
    "The minute window slides: orders spread over time are judged only against the last "
    "60 s",
    "[gateway][risk]") {
  RiskGate gate(Default({.max_notional_per_minute = 100}));
  // 10 of notional every 10 s: at most 6 in any minute, 60 of the 100.
  for (int i = 0; i < 60; ++i) {
    REQUIRE(gate.Check("", Open("EURUSD", 1, 10), kT0 + i * 10 * kSecond).ok());
  }
  // At the last of them (kT0 + 590 s) the window holds 530..590 s: 6 orders, 60.
  const int64_t last = kT0 + 590 * kSecond;
  CHECK(gate.Check("", Open("EURUSD", 1, 40), last).ok());  // 100
  CHECK_FALSE(gate.Check("", Open("EURUSD", 1, 1), last).ok());
  // 10 s later the order of 530 s has left: room for 10.
  CHECK(gate.Check("", Open("EURUSD", 1, 10), last + 10 * kSecond).ok());
  CHECK_FALSE(gate.Check("", Open("EURUSD", 1, 1), last + 10 * kSecond).ok());
}

TEST_CASE("A refusal by one limit counts nothing toward the others", "[gateway][risk]") {
  RiskGate gate(
      Default({.max_volume = 1, .max_orders_per_second = 1, .max_notional_per_minute = 10}));
  for (int i = 0; i < 5; ++i) CHECK_FALSE(gate.Check("", Open("EURUSD", 2, 5), kT0).ok());
  CHECK(gate.Check("", Open("EURUSD", 1, 10), kT0).ok());
}

TEST_CASE(
    "A named client's section overrides the default key by key, other clients get the "
    "default, and each identity has its own state",
    "[gateway][risk]") {
  LimitsTable t = Default({.max_volume = 1, .max_orders_per_second = 1});
  t.by_identity["alice"] = ClientLimits{.max_volume = 10};
  RiskGate gate(t);
  CHECK(gate.Check("alice", Open("EURUSD", 10), kT0).ok());
  // alice keeps the default's rate: her second order in the same instant is refused.
  CHECK(gate.Check("alice", Open("EURUSD", 1), kT0).limit == RiskLimit::kMaxOrdersPerSecond);
  CHECK(gate.Check("bob", Open("EURUSD", 10), kT0).limit == RiskLimit::kMaxVolume);
  CHECK(gate.Check("bob", Open("EURUSD", 1), kT0).ok());
  CHECK(gate.Check("", Open("EURUSD", 1), kT0).ok());  // the empty identity: default, own bucket
  CHECK(gate.identities() == 3);
  CHECK(t.For("alice") == ClientLimits{.max_volume = 10, .max_orders_per_second = 1});
  CHECK(t.For("carol") == t.default_limits);
}

TEST_CASE(
    "Replace applies new limits from the next order and keeps in-flight counts, rate "
    "buckets and minute windows",
    "[gateway][risk]") {
  RiskGate gate(Default({.max_orders_per_second = 2, .max_notional_per_minute = 1000}));
  REQUIRE(gate.Check("", Open("EURUSD", 1, 600), kT0).ok());
  gate.OnReserved("");
  REQUIRE(gate.Check("", Open("EURUSD", 1, 100), kT0).ok());
  gate.OnReserved("");
  gate.Replace(
      Default({.max_orders_per_second = 2, .max_in_flight = 2, .max_notional_per_minute = 800}));
  CHECK(gate.InFlight("") == 2);
  CHECK(gate.Check("", Close(), kT0).limit == RiskLimit::kMaxInFlight);
  gate.OnSettled("");
  // The bucket is still empty after the reload.
  CHECK(gate.Check("", Close(), kT0).limit == RiskLimit::kMaxOrdersPerSecond);
  // The window still holds 700: 100 more fits the new 800, 101 does not.
  const int64_t t1 = kT0 + kSecond;
  CHECK(gate.Check("", Open("EURUSD", 1, 101), t1).limit == RiskLimit::kMaxNotionalPerMinute);
  CHECK(gate.Check("", Open("EURUSD", 1, 100), t1).ok());
  // A window kept without the limit is judged when a reload adds it.
  RiskGate later(Default({}));
  REQUIRE(later.Check("", Open("EURUSD", 1, 900), kT0).ok());
  later.Replace(Default({.max_notional_per_minute = 1000}));
  CHECK(later.Check("", Open("EURUSD", 1, 101), kT0 + 1).limit == RiskLimit::kMaxNotionalPerMinute);
  CHECK(later.Check("", Open("EURUSD", 1, 100), kT0 + 1).ok());
}

TEST_CASE(
    "A window's memory stays bounded at 601 slices however many priced orders a minute "
    "holds",
    "[gateway][risk]") {
  RiskGate gate(Default({.max_notional_per_minute = 1e12}));
  // 100 000 orders over 10 minutes, one every 6 ms: all pass; the window keeps working.
  for (int i = 0; i < 100'000; ++i) {
    REQUIRE(gate.Check("", Open("EURUSD", 1, 1), kT0 + int64_t{i} * 6'000'000).ok());
  }
  // The last minute holds 10 000 of them (one every 6 ms, to within a slice): a limit of
  // 10 000 + 100 admits 100 more, and then not 2.
  const int64_t end = kT0 + int64_t{100'000} * 6'000'000;
  gate.Replace(Default({.max_notional_per_minute = 10'000 + 100}));
  CHECK(gate.Check("", Open("EURUSD", 100, 1), end).ok());
  CHECK_FALSE(gate.Check("", Open("EURUSD", 2, 1), end).ok());
}

}  // namespace
}  // namespace ordergate::gateway
