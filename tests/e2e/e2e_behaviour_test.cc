// One behavioural suite, two fixtures (issue 12): every case runs once over the ordergated daemon
// and a DEALER client (DaemonPath) and once over the embedded ordergate::Gateway (EmbeddedPath),
// both against a real ordergate-bridge-sim whose journal says what executed (e2e_order_path.h).
// What a strategy sees must not depend on the door it uses: the same outcomes, the same error
// codes, at most once across calls, threads, restarts and a kill -9 mid-burst.
#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "e2e_checks.h"
#include "e2e_order_path.h"
#include "tests/support/clock.h"

using namespace e2e;
using ordergate::Outcome;
using ordergate::OutcomeStatus;

namespace {

std::vector<std::string> SimArgs(const Timing& t, std::vector<std::string> extra = {}) {
  extra.insert(extra.end(), {"--signature-ttl-ms", std::to_string(t.signature_ttl_ms)});
  return extra;
}

// The simulator (with `sim_extra`) and the gateway with short timing, linked.
template <typename Path>
void StartLinked(World& w, Path& path, const std::vector<std::string>& sim_extra = {}) {
  w.StartSim(SimArgs(kShortTiming, sim_extra));
  path.Start(w.sim_endpoint, /*wait_up=*/true, kShortTiming);
}

void CheckFilledFresh(const Outcome& out) {
  INFO(Describe(out) << " " << out.message << " " << out.reply_json);
  CHECK(out.status == OutcomeStatus::kFilled);
  CHECK(out.ticket > 0);
  CHECK_FALSE(out.duplicate);
}

}  // namespace

TEMPLATE_TEST_CASE("an order is filled once and a retry of its uuid replays the fill",
                   "[e2e][behaviour]", DaemonPath, EmbeddedPath) {
  World w;
  TestType path(w);
  StartLinked(w, path);
  const std::string uuid = UniqueId("fill");
  const Outcome first = path.Submit(Buy(uuid));
  CheckFilledFresh(first);
  CHECK(first.uuid == uuid);
  const Outcome again = path.Submit(Buy(uuid));
  INFO("retry: " << Describe(again));
  CHECK(again.status == OutcomeStatus::kFilled);
  CHECK(again.ticket == first.ticket);
  CHECK(again.duplicate);
  const auto stored = path.Lookup(uuid);
  REQUIRE(stored.has_value());
  INFO("stored: " << Describe(*stored) << " " << stored->reply_json);
  CHECK(stored->status == OutcomeStatus::kFilled);
  CHECK(stored->ticket == first.ticket);
  CHECK(stored->duplicate);
  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
  CHECK(j.Ticket(uuid) == first.ticket);
}

TEMPLATE_TEST_CASE("the same uuids submitted from several threads at once each execute once",
                   "[e2e][behaviour]", DaemonPath, EmbeddedPath) {
  World w;
  TestType path(w);
  // 20 ms at the bridge, so that the copies of a uuid meet while it is in flight.
  StartLinked(w, path, {"--latency", "fixed:20", "--workers", "4"});
  constexpr int kThreads = 4;
  constexpr int kUuids = 12;
  const std::string run = UniqueId("threads");
  std::mutex mu;
  std::vector<Outcome> outcomes;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kUuids; ++i) {
        Outcome out = path.Submit(Buy(run + "-" + std::to_string(i)));
        std::lock_guard<std::mutex> l(mu);
        outcomes.push_back(std::move(out));
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(outcomes.size() == static_cast<size_t>(kThreads * kUuids));
  std::map<std::string, int> fresh;
  std::map<std::string, std::set<int64_t>> tickets;
  for (const Outcome& out : outcomes) {
    INFO(Describe(out) << " " << out.message);
    CHECK(out.status == OutcomeStatus::kFilled);
    if (!out.duplicate) ++fresh[out.uuid];
    tickets[out.uuid].insert(out.ticket);
  }
  const Journal j = RequireAtMostOnce(w);
  for (int i = 0; i < kUuids; ++i) {
    const std::string uuid = run + "-" + std::to_string(i);
    INFO(uuid);
    CHECK(j.Count(uuid) == 1);
    CHECK(fresh[uuid] == 1);
    REQUIRE(tickets[uuid].size() == 1);
    CHECK(j.Ticket(uuid) == *tickets[uuid].begin());
  }
}

TEMPLATE_TEST_CASE(
    "the same uuid with other fields is refused as IDEMPOTENCY_CONFLICT and nothing is sent",
    "[e2e][behaviour]", DaemonPath, EmbeddedPath) {
  World w;
  TestType path(w);
  StartLinked(w, path);
  const std::string uuid = UniqueId("conflict");
  const Outcome first = path.Submit(Buy(uuid, 0.1));
  CheckFilledFresh(first);
  ordergate::Order other_volume = Buy(uuid, 0.2);
  ordergate::Order other_symbol = Buy(uuid, 0.1);
  other_symbol.symbol = "GBPUSD";
  ordergate::Order other_type = Buy(uuid, 0.1);
  other_type.type = ordergate::TradeType::kSell;
  ordergate::Order other_comment = Buy(uuid, 0.1);
  other_comment.comment = "second";
  for (const ordergate::Order& o : {other_volume, other_symbol, other_type, other_comment}) {
    const Outcome out = path.Submit(o);
    INFO(Describe(out) << " " << out.reply_json);
    CHECK(out.status == OutcomeStatus::kRejected);
    CHECK(out.error_code == "IDEMPOTENCY_CONFLICT");
  }
  // The record is untouched: the original order still replays.
  const Outcome replay = path.Submit(Buy(uuid, 0.1));
  CHECK(replay.status == OutcomeStatus::kFilled);
  CHECK(replay.ticket == first.ticket);
  CHECK(replay.duplicate);
  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
  CHECK(j.entries.size() == 1);
}

TEMPLATE_TEST_CASE(
    "an order refused by its fields gets the wire's error code, is not recorded and is never "
    "sent",
    "[e2e][behaviour]", DaemonPath, EmbeddedPath) {
  World w;
  TestType path(w);
  StartLinked(w, path);
  struct Case {
    std::string name;
    ordergate::Order order;
    std::string code;
  };
  std::vector<Case> cases;
  const auto add = [&](std::string name, ordergate::Order o, std::string code) {
    cases.push_back({std::move(name), std::move(o), std::move(code)});
  };
  add("zero volume", Buy(UniqueId("f"), 0.0), "INVALID_VOLUME");
  add("negative volume", Buy(UniqueId("f"), -1.0), "INVALID_VOLUME");
  add("volume over max_volume", Buy(UniqueId("f"), 5000.0), "INVALID_VOLUME");
  add("no uuid", Buy(""), "MISSING_UUID");
  add("a uuid with a space", Buy("has space"), "INVALID_UUID");
  add("a 65-character uuid", Buy(std::string(65, 'u')), "INVALID_UUID");
  ordergate::Order no_symbol = Buy(UniqueId("f"));
  no_symbol.symbol.clear();
  add("no symbol", no_symbol, "MISSING_SYMBOL");
  ordergate::Order negative_price = Buy(UniqueId("f"));
  negative_price.price = -1;
  add("a negative price", negative_price, "INVALID_PRICE");
  ordergate::Order long_comment = Buy(UniqueId("f"));
  long_comment.comment = std::string(40, 'c');
  add("a 40-character comment", long_comment, "INVALID_FIELD");
  ordergate::Order close_no_ticket;
  close_no_ticket.uuid = UniqueId("f");
  close_no_ticket.action = ordergate::OrderAction::kClose;
  add("CLOSE without a ticket", close_no_ticket, "MISSING_TICKET");
  ordergate::Order close_negative = close_no_ticket;
  close_negative.uuid = UniqueId("f");
  close_negative.ticket = -5;
  add("CLOSE with a negative ticket", close_negative, "INVALID_FIELD");

  for (const Case& c : cases) {
    const Outcome out = path.Submit(c.order);
    INFO(c.name << ": " << Describe(out) << " " << out.reply_json);
    CHECK(out.status == OutcomeStatus::kRejected);
    CHECK(out.error_code == c.code);
    CHECK_FALSE(out.duplicate);
    if (!c.order.uuid.empty() && c.order.uuid.size() <= 64 &&
        c.order.uuid.find(' ') == std::string::npos) {
      CHECK_FALSE(path.Lookup(c.order.uuid).has_value());
      // Not recorded: the same uuid, fixed, goes through.
      if (c.order.action == ordergate::OrderAction::kOpen) {
        CheckFilledFresh(path.Submit(Buy(c.order.uuid)));
      }
    }
  }
  const Journal j = RequireAtMostOnce(w);
  for (const Case& c : cases) {
    INFO(c.name);
    CHECK(j.Count(c.order.uuid) ==
          (c.order.action == ordergate::OrderAction::kOpen && !c.order.uuid.empty() &&
                   c.order.uuid.size() <= 64 && c.order.uuid.find(' ') == std::string::npos
               ? 1u
               : 0u));
  }
}

TEMPLATE_TEST_CASE(
    "an order a silent bridge never answers is UNKNOWN, a resubmission stays UNKNOWN and it is "
    "never sent again",
    "[e2e][behaviour]", DaemonPath, EmbeddedPath) {
  World w;
  TestType path(w);
  // The bridge executes and journals, then never replies, and has no ORDER_STATUS to ask.
  StartLinked(w, path, {"--fault-no-reply", "1", "--no-order-status"});
  const std::string uuid = UniqueId("silent");
  const Outcome first = path.Submit(Buy(uuid));
  INFO("first: " << Describe(first) << " " << first.reply_json);
  CHECK(first.status == OutcomeStatus::kUnknown);
  CHECK(first.error_code == "BRIDGE_TIMEOUT");
  CHECK_FALSE(first.duplicate);
  const auto stored = path.Lookup(uuid);
  REQUIRE(stored.has_value());
  INFO("stored: " << Describe(*stored) << " " << stored->reply_json);
  CHECK(stored->status == OutcomeStatus::kUnknown);
  CHECK(stored->error_code == "BRIDGE_TIMEOUT");
  for (int i = 0; i < 2; ++i) {
    const Outcome again = path.Submit(Buy(uuid));
    INFO("resubmission " << i << ": " << Describe(again) << " " << again.reply_json);
    CHECK(again.status == OutcomeStatus::kUnknown);
    CHECK(again.error_code == "BRIDGE_TIMEOUT");
    CHECK(again.duplicate);
    // Past another bridge deadline: still not sent again.
    std::this_thread::sleep_for(Ms(kShortTiming.bridge_timeout_ms + 100));
  }
  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
}

TEMPLATE_TEST_CASE(
    "a restart on the same data directory replays every outcome and sends nothing again",
    "[e2e][behaviour]", DaemonPath, EmbeddedPath) {
  World w;
  TestType path(w);
  StartLinked(w, path);
  const std::string run = UniqueId("restart");
  std::map<std::string, int64_t> tickets;
  for (int i = 0; i < 5; ++i) {
    const std::string uuid = run + "-" + std::to_string(i);
    const Outcome out = path.Submit(Buy(uuid));
    CheckFilledFresh(out);
    tickets[uuid] = out.ticket;
  }
  path.Restart();
  for (const auto& [uuid, ticket] : tickets) {
    const Outcome replay = path.Submit(Buy(uuid));
    INFO("after the restart: " << Describe(replay));
    CHECK(replay.status == OutcomeStatus::kFilled);
    CHECK(replay.ticket == ticket);
    CHECK(replay.duplicate);
    // The fingerprint survived too.
    const Outcome conflict = path.Submit(Buy(uuid, 0.3));
    CHECK(conflict.error_code == "IDEMPOTENCY_CONFLICT");
  }
  // A second restart, and a new order goes through as usual.
  path.Restart();
  CheckFilledFresh(path.Submit(Buy(run + "-new")));
  const Journal j = RequireAtMostOnce(w);
  for (const auto& [uuid, ticket] : tickets) {
    INFO(uuid);
    CHECK(j.Count(uuid) == 1);
    CHECK(j.Ticket(uuid) == ticket);
  }
  CHECK(j.entries.size() == tickets.size() + 1);
}

TEMPLATE_TEST_CASE(
    "with the bridge down an order is refused as BRIDGE_DOWN and not recorded, and the same uuid "
    "is filled once the bridge is back",
    "[e2e][behaviour]", DaemonPath, EmbeddedPath) {
  World w;
  TestType path(w);
  const std::string bridge = "tcp://127.0.0.1:" + std::to_string(FreePort());
  path.Start(bridge, /*wait_up=*/false, kShortTiming);
  const std::string uuid = UniqueId("down");
  const Outcome refused = path.Submit(Buy(uuid));
  INFO("with the bridge down: " << Describe(refused) << " " << refused.reply_json);
  CHECK(refused.status == OutcomeStatus::kRejected);
  CHECK(refused.error_code == "BRIDGE_DOWN");
  CHECK_FALSE(refused.duplicate);
  CHECK_FALSE(path.Lookup(uuid).has_value());

  w.StartSim(SimArgs(kShortTiming), bridge);
  REQUIRE(path.WaitBridgeUp(Ms(20000)));
  const Outcome filled = path.Submit(Buy(uuid));
  CheckFilledFresh(filled);
  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
  CHECK(j.Ticket(uuid) == filled.ticket);
}

TEMPLATE_TEST_CASE(
    "kill -9 of the strategy process mid-burst and a restart on the same data directory leave "
    "every uuid with one final outcome, executed at most once",
    "[e2e][behaviour]", DaemonPath, EmbeddedPath) {
  World w;
  TestType path(w);
  // A slowish bridge: 2 workers at 2-8 ms each, so that the burst is still going at the kill.
  w.StartSim(SimArgs(kDefaultTiming, {"--latency", "uniform:2:8", "--workers", "2"}));
  constexpr int kOrders = 300;
  const std::string prefix = UniqueId("burst");
  const CrashRuns runs = path.CrashMidBurstAndRestart(prefix, kOrders, kOrders / 3);
  INFO(runs.notes);
  INFO("executed at the kill: " << runs.executed_at_kill
                                << "; outcomes seen before it: " << runs.first.size()
                                << ", after the restart: " << runs.second.size());
  CHECK(runs.killed_mid_burst);
  CHECK(runs.second_exit == 0);

  const Journal j = RequireAtMostOnce(w);
  std::map<std::string, std::vector<Outcome>> first;
  std::map<std::string, std::vector<Outcome>> second;
  for (const Outcome& o : runs.first) first[o.uuid].push_back(o);
  for (const Outcome& o : runs.second) second[o.uuid].push_back(o);
  int unknown_after = 0;
  for (int i = 0; i < kOrders; ++i) {
    const std::string uuid = prefix + "-" + std::to_string(i);
    std::string seen;
    for (const Outcome& o : first[uuid]) seen += " [1] " + Describe(o);
    for (const Outcome& o : second[uuid]) seen += " [2] " + Describe(o);
    INFO(uuid << ": journal " << j.Count(uuid) << ";" << seen);
    bool final_after = false;
    bool unknown = false;
    std::set<std::pair<OutcomeStatus, int64_t>> settled;  // FILLED / REJECTED, either run
    for (const auto* run : {&first[uuid], &second[uuid]}) {
      for (const Outcome& o : *run) {
        if (!IsFinal(o)) {
          CHECK((o.status == OutcomeStatus::kRejected || o.status == OutcomeStatus::kInFlight));
          continue;
        }
        if (run == &second[uuid]) final_after = true;
        if (o.status == OutcomeStatus::kUnknown) {
          unknown = true;
          continue;
        }
        settled.insert({o.status, o.ticket});
        if (o.status == OutcomeStatus::kFilled) {
          CHECK(j.Count(uuid) == 1);
          CHECK(j.Ticket(uuid) == o.ticket);
        } else {
          CHECK(j.Count(uuid) == 0);
        }
      }
    }
    CHECK(final_after);
    CHECK(settled.size() <= 1);
    if (unknown && settled.empty()) ++unknown_after;
  }
  WARN(runs.executed_at_kill << " executions at the kill, " << j.entries.size() << " in all, "
                             << unknown_after << " uuid(s) left UNKNOWN (never resent)");

  // The end state: the gateway asks the bridge about every UNKNOWN (the bridge's TTL of its
  // signature has run out by then), never resends one, and its store ends agreeing with the
  // journal for every uuid.
  path.OpenAfterCrash();
  std::map<std::string, Outcome> stored;
  const auto settled = [](const Outcome& o) {
    return o.status == OutcomeStatus::kFilled ||
           (o.status == OutcomeStatus::kRejected && o.error_code != "LOOKUP_FAILED");
  };
  ordergate::test_support::WaitUntil(
      [&] {
        bool all = true;
        for (int i = 0; i < kOrders; ++i) {
          const std::string uuid = prefix + "-" + std::to_string(i);
          auto it = stored.find(uuid);
          if (it != stored.end() && settled(it->second)) continue;
          if (auto o = path.Lookup(uuid)) stored[uuid] = *o;
          all = all && stored.count(uuid) != 0 && settled(stored[uuid]);
        }
        return all;
      },
      Ms(20000), Ms(200));
  // (The bridge may have gone on executing orders the killed process had sent: they were
  // UNKNOWN, which allows it; the journal still holds each uuid at most once.)
  const Journal end = RequireAtMostOnce(w);
  for (int i = 0; i < kOrders; ++i) {
    const std::string uuid = prefix + "-" + std::to_string(i);
    INFO(uuid << ": journal " << end.Count(uuid));
    REQUIRE(stored.count(uuid) == 1);
    const Outcome& o = stored[uuid];
    INFO("stored: " << Describe(o) << " " << o.message);
    CHECK(settled(o));
    if (o.status == OutcomeStatus::kFilled) {
      CHECK(end.Count(uuid) == 1);
      CHECK(end.Ticket(uuid) == o.ticket);
    } else {
      CHECK(end.Count(uuid) == 0);
    }
  }
}
