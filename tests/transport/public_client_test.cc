// ordergate::Client (include/ordergate/client.h) against a real ordergated and
// ordergate-bridge-sim: PING alignment, fills and replays, many orders in flight from several
// threads, and the example strategy built on it. The faults are in public_client_faults_test.cc.
#include <atomic>
#include <catch2/catch.hpp>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "public_client_test_util.h"
#include "tests/support/child_process.h"
#include "tests/support/clock.h"

namespace {

using client_test::Buy;
using client_test::Connect;
using e2e::Ms;
using e2e::World;
using ordergate::Outcome;
using ordergate::OutcomeStatus;

TEST_CASE(
    "The client reads the gateway's timeouts from PING and asks each order with timeout_ms "
    "equal to the gateway's client_timeout_ms unless told otherwise",
    "[transport][client]") {
  World w;
  w.Start({}, {"--client-timeout-ms", "1500", "--bridge-timeout-ms", "7000"});
  auto c = Connect(w);
  const ordergate::GatewayInfo info = c->gateway_info();
  CHECK(info.client_timeout_ms == 1500);
  CHECK(info.bridge_timeout_ms == 7000);
  CHECK(info.bridge_up);
  CHECK_FALSE(info.version.empty());
  CHECK(c->request_timeout_ms() == 1500);

  ordergate::ClientOptions own;
  own.request_timeout_ms = 300;
  auto c2 = Connect(w, own);
  CHECK(c2->request_timeout_ms() == 300);

  ordergate::ClientOptions bad;
  bad.endpoint = w.gw_endpoint;
  bad.request_timeout_ms = 5;
  CHECK(ordergate::Client::Connect(bad).status().code() == absl::StatusCode::kInvalidArgument);
  ordergate::ClientOptions nobody;
  nobody.endpoint = "tcp://127.0.0.1:" + std::to_string(e2e::FreePort());
  nobody.connect_timeout_ms = 300;
  CHECK(ordergate::Client::Connect(nobody).status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE(
    "Orders get FILLED under a UUIDv4 the client made, and resubmitting a uuid replays its "
    "ticket without a second execution",
    "[transport][client]") {
  World w;
  w.Start();
  auto c = Connect(w);
  std::vector<std::future<Outcome>> fs;
  for (int i = 0; i < 5; ++i) fs.push_back(c->Submit(Buy()));
  std::vector<Outcome> firsts;
  for (auto& f : fs) firsts.push_back(f.get());
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  for (const Outcome& o : firsts) {
    INFO(o.uuid << " " << o.reply_json);
    REQUIRE(o.status == OutcomeStatus::kFilled);
    CHECK(o.uuid.size() == 36);
    CHECK(o.uuid[14] == '4');
    CHECK_FALSE(o.duplicate);
    CHECK(j.Count(o.uuid) == 1);
    CHECK(j.Ticket(o.uuid) == o.ticket);
    const Outcome again = c->SubmitAndWait(Buy(o.uuid));
    CHECK(again.status == OutcomeStatus::kFilled);
    CHECK(again.duplicate);
    CHECK(again.ticket == o.ticket);
    auto st = c->Status(o.uuid);
    REQUIRE(st.ok());
    REQUIRE(st->has_value());
    CHECK((*st)->ticket == o.ticket);
  }
  CHECK(e2e::ReadJournal(w.journal()).entries.size() == 5);
  // The same uuid for another order is a conflict, never a second order; a bad uuid never leaves.
  ordergate::Order other = Buy(firsts[0].uuid);
  other.volume = 0.02;
  const Outcome conflict = c->SubmitAndWait(other);
  CHECK(conflict.status == OutcomeStatus::kRejected);
  CHECK(conflict.error_code == "IDEMPOTENCY_CONFLICT");
  CHECK_FALSE(conflict.recorded);
  const Outcome bad = c->SubmitAndWait(Buy("no spaces allowed"));
  CHECK(bad.error_code == "INVALID_UUID");
  auto none = c->Status("never-submitted-uuid");
  REQUIRE(none.ok());
  CHECK_FALSE(none->has_value());
  CHECK(e2e::ReadJournal(w.journal()).entries.size() == 5);
}

TEST_CASE(
    "Many orders in flight from several threads, through futures and callbacks, each get one "
    "FILLED outcome and execute once",
    "[transport][client]") {
  World w;
  w.Start({"--latency", "uniform:0:2", "--workers", "4"});
  auto c = Connect(w);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 100;
  std::mutex mu;
  std::map<std::string, std::vector<Outcome>> by_uuid;
  std::atomic<int> callbacks{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<std::future<Outcome>> mine;
      for (int i = 0; i < kPerThread; ++i) {
        const std::string uuid =
            e2e::UniqueId("many-" + std::to_string(t) + "-" + std::to_string(i));
        if (i % 2 == 0) {
          mine.push_back(c->Submit(Buy(uuid)));
        } else {
          c->Submit(Buy(uuid), [&](const Outcome& o) {
            std::lock_guard<std::mutex> lock(mu);
            by_uuid[o.uuid].push_back(o);
            callbacks.fetch_add(1);
          });
        }
      }
      for (auto& f : mine) {
        Outcome o = f.get();
        std::lock_guard<std::mutex> lock(mu);
        by_uuid[o.uuid].push_back(o);
      }
    });
  }
  for (auto& t : threads) t.join();
  REQUIRE(ordergate::test_support::WaitUntil(
      [&] { return callbacks.load() == kThreads * kPerThread / 2; }, Ms(30000), Ms(10)));
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  std::lock_guard<std::mutex> lock(mu);
  CHECK(by_uuid.size() == static_cast<size_t>(kThreads * kPerThread));
  for (const auto& [uuid, outs] : by_uuid) {
    INFO(uuid);
    REQUIRE(outs.size() == 1);
    CHECK(outs[0].status == OutcomeStatus::kFilled);
    CHECK(j.Count(uuid) == 1);
    CHECK(j.Ticket(uuid) == outs[0].ticket);
  }
  CHECK(j.Duplicates().empty());
  CHECK(j.entries.size() == static_cast<size_t>(kThreads * kPerThread));
  CHECK(c->stats().in_flight == 0);
  CHECK(c->stats().submitted == static_cast<uint64_t>(kThreads * kPerThread));
}

TEST_CASE(
    "The example strategy on the C++ client runs against ordergated: every order FILLED once "
    "and every replay gets its ticket",
    "[transport][client]") {
  World w;
  w.Start();
  ordergate::test_support::Process p(
      e2e::BinDir() + "/cpp_client_strategy",
      {"--gateway", w.gw_endpoint, "--orders", "30", "--prefix", "example", "--threads", "3"},
      w.dir.File("example.stderr"));
  auto st = p.Wait(Ms(60000));
  INFO("stderr:\n" << p.Stderr());
  REQUIRE(st.has_value());
  CHECK(ordergate::test_support::Process::Decode(*st) == 0);
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  CHECK(j.entries.size() == 30);
  CHECK(j.Duplicates().empty());
  for (int i = 0; i < 30; ++i) CHECK(j.Count("example-" + std::to_string(i)) == 1);
}

}  // namespace
