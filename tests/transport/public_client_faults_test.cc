// ordergate::Client through the faults of a real ordergated and ordergate-bridge-sim: a slow
// bridge (PENDING, asked again under the same uuid), a silent one (UNKNOWN, then Status), one that
// crashes (UNKNOWN; BRIDGE_DOWN retried under the same uuid), and kill -9 of ordergated mid-burst
// with its restart (every order one final outcome, none executed twice).
#include <signal.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include "public_client_test_util.h"
#include "tests/support/clock.h"

namespace {

using client_test::Buy;
using client_test::Connect;
using client_test::ShortBridgeTimeouts;
using client_test::StatusUntilSettled;
using e2e::Ms;
using e2e::World;
using ordergate::Outcome;
using ordergate::OutcomeStatus;

TEST_CASE(
    "A slow bridge makes the gateway answer PENDING, and the client asks again under the same "
    "uuid until the order is FILLED, executed once",
    "[transport][client]") {
  World w;
  // Each order takes 1.2 s at the bridge; the gateway answers PENDING after 400 - 50 ms.
  w.Start({"--latency", "fixed:1200", "--workers", "4"}, {"--client-timeout-ms", "400"});
  auto c = Connect(w);
  REQUIRE(c->request_timeout_ms() == 400);
  std::vector<std::future<Outcome>> fs;
  std::vector<std::string> uuids;
  for (int i = 0; i < 3; ++i) {
    uuids.push_back(e2e::UniqueId("slow"));
    fs.push_back(c->Submit(Buy(uuids.back())));
  }
  const e2e::Journal before = e2e::ReadJournal(w.journal());
  for (size_t i = 0; i < fs.size(); ++i) {
    const Outcome o = fs[i].get();
    INFO(o.uuid << " " << o.error_code << " " << o.reply_json);
    CHECK(o.uuid == uuids[i]);
    CHECK(o.status == OutcomeStatus::kFilled);
  }
  const ordergate::ClientStats s = c->stats();
  CHECK(s.pending_replies >= 3);  // at least one PENDING per order
  CHECK(s.sends >= 6);            // ...each followed by a resend of the same uuid
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  CHECK(j.entries.size() == 3);  // no new uuid was ever sent
  for (const std::string& u : uuids) CHECK(j.Count(u) == 1);
  (void)before;
}

TEST_CASE(
    "A silent bridge makes the order UNKNOWN; the client sends nothing more for it, and "
    "Status() shows it FILLED once the gateway has asked the bridge",
    "[transport][client]") {
  World w;
  w.StartSim({"--fault-no-reply", "1", "--signature-ttl-ms", "300"});
  w.StartGatewayLinked(ShortBridgeTimeouts());
  auto c = Connect(w);
  const std::string uuid = e2e::UniqueId("silent");
  const Outcome o = c->SubmitAndWait(Buy(uuid));
  INFO(o.reply_json);
  CHECK(o.status == OutcomeStatus::kUnknown);
  CHECK(o.error_code == "BRIDGE_TIMEOUT");
  CHECK(c->stats().sends == 1);  // UNKNOWN came by the first attempt's deadline: nothing resent
  auto settled = StatusUntilSettled(*c, uuid);
  REQUIRE(settled.has_value());
  CHECK(settled->status == OutcomeStatus::kFilled);
  CHECK(c->stats().sends == 1);  // Status() asks ORDER_STATUS: never the order again
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  CHECK(j.entries.size() == 1);
  CHECK(j.Count(uuid) == 1);
  CHECK(j.Ticket(uuid) == settled->ticket);
}

TEST_CASE(
    "A bridge that crashes after executing leaves the order UNKNOWN; an order submitted while it "
    "is down is retried on BRIDGE_DOWN under its uuid and FILLED once it is back, each executed "
    "once",
    "[transport][client]") {
  World w;
  const std::string bridge = "tcp://127.0.0.1:" + std::to_string(e2e::FreePort());
  w.StartSim({"--fault-crash", "1", "--signature-ttl-ms", "300"}, bridge);
  w.StartGatewayLinked(ShortBridgeTimeouts());
  ordergate::ClientOptions opts;
  opts.order_deadline_ms = 30000;
  auto c = Connect(w, opts);
  const std::string first = e2e::UniqueId("crash");
  const Outcome o = c->SubmitAndWait(Buy(first));
  INFO(o.reply_json);
  CHECK(o.status == OutcomeStatus::kUnknown);
  REQUIRE(w.sim->Wait(Ms(5000)).has_value());
  REQUIRE(w.WaitBridge("down"));

  const std::string second = e2e::UniqueId("crash-later");
  std::future<Outcome> later = c->Submit(Buy(second));
  REQUIRE(ordergate::test_support::WaitUntil([&] { return c->stats().not_now_retries >= 2; },
                                             Ms(10000), Ms(20)));
  w.StartSim({"--signature-ttl-ms", "300"}, bridge);
  const Outcome l = later.get();
  INFO(l.reply_json);
  CHECK(l.status == OutcomeStatus::kFilled);
  CHECK(l.uuid == second);
  auto settled = StatusUntilSettled(*c, first);
  REQUIRE(settled.has_value());
  CHECK(settled->status == OutcomeStatus::kFilled);
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  CHECK(j.Count(first) == 1);
  CHECK(j.Count(second) == 1);
  CHECK(j.Ticket(second) == l.ticket);
  CHECK(j.Duplicates().empty());
}

TEST_CASE(
    "kill -9 of ordergated mid-burst and its restart: every order of the client ends with one "
    "final outcome, none executes twice, and FILLED tickets are the bridge's",
    "[transport][client]") {
  World w;
  const std::string listen = "tcp://127.0.0.1:" + std::to_string(e2e::FreePort());
  const std::vector<std::string> gw_flags = {"--listen",
                                             listen,
                                             "--bridge-signature-ttl-ms",
                                             "1000",
                                             "--bridge-exec-margin-ms",
                                             "200",
                                             "--bridge-timeout-ms",
                                             "1500",
                                             "--unknown-query-interval-ms",
                                             "300",
                                             "--client-timeout-ms",
                                             "1000"};
  w.StartSim({"--latency", "uniform:1:4", "--workers", "2", "--signature-ttl-ms", "1000"});
  w.StartGatewayLinked(gw_flags);
  ordergate::ClientOptions opts;
  opts.order_deadline_ms = 60000;
  auto c = Connect(w, opts);

  constexpr int kThreads = 3;
  constexpr int kPerThread = 150;
  std::vector<std::vector<std::pair<std::string, std::future<Outcome>>>> per(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string uuid = e2e::UniqueId("k9-" + std::to_string(t));
        per[t].emplace_back(uuid, c->Submit(Buy(uuid)));
        std::this_thread::sleep_for(Ms(2));
      }
    });
  }
  // Mid-burst: some executed, many in flight or not yet sent.
  REQUIRE(ordergate::test_support::WaitUntil(
      [&] { return e2e::ReadJournal(w.journal()).entries.size() >= 60; }, Ms(20000), Ms(5)));
  w.KillGateway();
  std::this_thread::sleep_for(Ms(300));
  w.StartGatewayLinked(gw_flags);
  for (auto& t : threads) t.join();

  std::map<std::string, Outcome> outcomes;
  std::map<std::string, int> finals;
  for (auto& list : per) {
    for (auto& [uuid, f] : list) {
      REQUIRE(f.wait_for(std::chrono::seconds(90)) == std::future_status::ready);
      const Outcome o = f.get();
      INFO(uuid << " " << o.error_code << " " << o.reply_json);
      CHECK(o.uuid == uuid);
      CHECK(o.error_code != "CLIENT_DEADLINE");
      CHECK((o.status == OutcomeStatus::kFilled || o.status == OutcomeStatus::kUnknown ||
             (o.status == OutcomeStatus::kRejected && o.recorded)));
      outcomes[uuid] = o;
      ++finals[uuid];
    }
  }
  CHECK(outcomes.size() == static_cast<size_t>(kThreads * kPerThread));
  const ordergate::ClientStats s = c->stats();
  CHECK(s.reconnects >= 1);
  CHECK(s.in_flight == 0);

  // UNKNOWN ones are asked about (never resent under a new uuid) until the gateway settles them.
  int unknown = 0;
  for (auto& [uuid, o] : outcomes) {
    if (o.status != OutcomeStatus::kUnknown) continue;
    ++unknown;
    auto settled = StatusUntilSettled(*c, uuid, 200);
    INFO(uuid);
    REQUIRE(settled.has_value());
    o = *settled;
  }
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  CHECK(j.Duplicates().empty());
  CHECK(j.unreadable_lines == 0);
  size_t filled = 0;
  for (const auto& [uuid, o] : outcomes) {
    INFO(uuid << " " << o.reply_json);
    CHECK(finals[uuid] == 1);
    if (o.status == OutcomeStatus::kFilled) {
      ++filled;
      CHECK(j.Count(uuid) == 1);
      CHECK(j.Ticket(uuid) == o.ticket);
    } else {
      CHECK(j.Count(uuid) == 0);
    }
  }
  CHECK(j.entries.size() == filled);  // the bridge executed nothing the client did not hear of
  WARN("kill -9 mid-burst: " << outcomes.size() << " orders, " << filled << " FILLED, " << unknown
                             << " UNKNOWN at first (settled by Status), sends " << s.sends
                             << ", silent resends " << s.silent_resends << ", reconnects "
                             << s.reconnects);
}

}  // namespace
