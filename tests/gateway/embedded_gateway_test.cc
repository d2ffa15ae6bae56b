// The public, in-process ordergate::Gateway (include/ordergate/gateway.h) against a scripted
// bridge on loopback and the real RocksDB store: outcomes, joins, at most once across threads and
// restarts, UNKNOWN and its later resolution, refusals on the caller's thread, and closing.
#include <atomic>
#include <catch2/catch.hpp>
#include <cmath>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "ordergate/gateway.h"
#include "tests/gateway/pipeline_util.h"

namespace {

using namespace pipeline_util;  // NOLINT(google-build-using-namespace): test helpers

ordergate::GatewayOptions Options(const std::string& bridge, const std::string& dir) {
  ordergate::GatewayOptions o;
  o.bridge_endpoint = bridge;
  o.data_dir = dir;
  o.bridge_signature_ttl_ms = 200;
  o.bridge_exec_margin_ms = 50;
  o.bridge_timeout_ms = 400;
  o.unknown_query_interval_ms = 100;
  return o;
}

ordergate::Order Buy(const std::string& uuid, double volume = 0.1) {
  ordergate::Order o;
  o.uuid = uuid;
  o.symbol = "EURUSD";
  o.type = ordergate::TradeType::kBuy;
  o.volume = volume;
  return o;
}

std::unique_ptr<ordergate::Gateway> OpenUp(const ordergate::GatewayOptions& o) {
  auto gw = ordergate::Gateway::Open(o);
  REQUIRE(gw.ok());
  for (int i = 0; i < 500 && !(*gw)->stats().bridge_up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE((*gw)->stats().bridge_up);
  return std::move(*gw);
}

}  // namespace

TEST_CASE("an embedded order is filled once and a retry of its uuid replays the fill",
          "[embedded]") {
  std::atomic<int64_t> ticket{500};
  ScriptedBridge bridge(
      [&](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, ++ticket); });
  auto gw = OpenUp(Options(bridge.endpoint(), TempDir("emb-fill")));
  const ordergate::Outcome first = gw->SubmitAndWait(Buy("e-1"));
  CHECK(first.status == ordergate::OutcomeStatus::kFilled);
  CHECK(first.uuid == "e-1");
  CHECK(first.ticket == 501);
  CHECK_FALSE(first.duplicate);
  CHECK(first.recorded);
  CHECK(first.reply_json.find("\"FILLED\"") != std::string::npos);
  const ordergate::Outcome again = gw->SubmitAndWait(Buy("e-1"));
  CHECK(again.status == ordergate::OutcomeStatus::kFilled);
  CHECK(again.ticket == 501);
  CHECK(again.duplicate);
  CHECK(bridge.Count("OPEN", "e-1") == 1);
  auto status = gw->Status("e-1");
  REQUIRE(status.ok());
  REQUIRE(status->has_value());
  CHECK((*status)->status == ordergate::OutcomeStatus::kFilled);
  CHECK((*status)->ticket == 501);
  CHECK(gw->stats().sent == 1);
}

TEST_CASE("the same uuids submitted from several threads at once each execute exactly once",
          "[embedded]") {
  std::atomic<int64_t> ticket{0};
  ScriptedBridge bridge(
      [&](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, ++ticket); });
  // The default timing (a 5 s signature TTL): the short one of Options() would let the bridge's
  // measured queue budget (BridgeCapacity) admit only ~100 orders at a time.
  ordergate::GatewayOptions o;
  o.bridge_endpoint = bridge.endpoint();
  o.data_dir = TempDir("emb-threads");
  auto gw = OpenUp(o);
  // Orders one at a time first: until the bridge's service time is measured (BridgeCapacity opens
  // up over a few dozen replies) a burst would meet GATEWAY_BUSY.
  for (int i = 0; i < 64; ++i) {
    REQUIRE(gw->SubmitAndWait(Buy("warm-" + std::to_string(i))).status ==
            ordergate::OutcomeStatus::kFilled);
  }
  constexpr int kOrders = 200;
  constexpr int kThreads = 4;
  std::mutex mu;
  std::vector<ordergate::Outcome> outcomes;
  std::atomic<int> answered{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kOrders; ++i) {
        gw->Submit(Buy("t-" + std::to_string(i)), [&](const ordergate::Outcome& out) {
          std::lock_guard<std::mutex> lock(mu);
          outcomes.push_back(out);
          ++answered;
        });
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < 1000 && answered.load() < kOrders * kThreads; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(answered.load() == kOrders * kThreads);
  std::map<std::string, int> fresh;
  std::map<std::string, std::set<int64_t>> tickets;
  for (const auto& out : outcomes) {
    INFO(out.uuid << " " << out.error_code << " " << out.message);
    CHECK(out.status == ordergate::OutcomeStatus::kFilled);
    if (!out.duplicate) ++fresh[out.uuid];
    tickets[out.uuid].insert(out.ticket);
  }
  for (int i = 0; i < kOrders; ++i) {
    const std::string uuid = "t-" + std::to_string(i);
    CHECK(bridge.Count("OPEN", uuid) == 1);
    CHECK(fresh[uuid] == 1);
    CHECK(tickets[uuid].size() == 1);
  }
}

TEST_CASE("an order refused by its fields is answered on the caller's thread and never sent",
          "[embedded]") {
  ScriptedBridge bridge([](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, 9); });
  auto gw = OpenUp(Options(bridge.endpoint(), TempDir("emb-fields")));
  const std::thread::id caller = std::this_thread::get_id();
  std::thread::id answered_on;
  ordergate::Outcome got;
  gw->Submit(Buy("bad-1", 0.0), [&](const ordergate::Outcome& out) {
    answered_on = std::this_thread::get_id();
    got = out;
  });
  CHECK(answered_on == caller);
  CHECK(got.status == ordergate::OutcomeStatus::kRejected);
  CHECK(got.error_code == "INVALID_VOLUME");
  CHECK_FALSE(got.recorded);
  CHECK(gw->SubmitAndWait(Buy("bad-2", std::nan(""))).error_code == "INVALID_VOLUME");
  ordergate::Order no_uuid = Buy("");
  CHECK(gw->SubmitAndWait(no_uuid).error_code == "MISSING_UUID");
  ordergate::Order bad_uuid = Buy("has space");
  CHECK(gw->SubmitAndWait(bad_uuid).error_code == "INVALID_UUID");
  ordergate::Order close;
  close.uuid = "c-1";
  close.action = ordergate::OrderAction::kClose;
  CHECK(gw->SubmitAndWait(close).error_code == "MISSING_TICKET");
  CHECK(bridge.Requests().empty());
  CHECK(gw->stats().refused == 5);  // counted though answered before the pipeline saw them
  // The same uuid with other fields is a conflict, not a second order.
  CHECK(gw->SubmitAndWait(Buy("k-1", 0.1)).status == ordergate::OutcomeStatus::kFilled);
  const ordergate::Outcome conflict = gw->SubmitAndWait(Buy("k-1", 0.2));
  CHECK(conflict.status == ordergate::OutcomeStatus::kRejected);
  CHECK(conflict.error_code == "IDEMPOTENCY_CONFLICT");
  CHECK(bridge.Count("OPEN", "k-1") == 1);
}

TEST_CASE(
    "an unanswered embedded order becomes UNKNOWN and its late reply arrives through "
    "on_resolved",
    "[embedded]") {
  // Everything is held, ORDER_STATUS questions too; the oldest held request, the OPEN, is answered
  // late below.
  ScriptedBridge bridge([](const BridgeRequest&) -> std::optional<std::string> { return {}; });
  ordergate::GatewayOptions o = Options(bridge.endpoint(), TempDir("emb-unknown"));
  std::mutex mu;
  std::vector<ordergate::Outcome> resolved;
  o.on_resolved = [&](const ordergate::Outcome& out) {
    std::lock_guard<std::mutex> lock(mu);
    resolved.push_back(out);
  };
  auto gw = OpenUp(o);
  const ordergate::Outcome first = gw->SubmitAndWait(Buy("u-1"));
  CHECK(first.status == ordergate::OutcomeStatus::kUnknown);
  CHECK(first.error_code == "BRIDGE_TIMEOUT");
  CHECK(first.recorded);
  // A resubmission answers UNKNOWN again and sends nothing.
  const ordergate::Outcome retry = gw->SubmitAndWait(Buy("u-1"));
  CHECK(retry.status == ordergate::OutcomeStatus::kUnknown);
  CHECK(retry.duplicate);
  CHECK(bridge.Count("OPEN", "u-1") == 1);
  bridge.ReplyLater(ScriptedBridge::Filled("u-1", 4242));
  for (int i = 0; i < 500; ++i) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (!resolved.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  std::lock_guard<std::mutex> lock(mu);
  REQUIRE(resolved.size() == 1);
  CHECK(resolved[0].uuid == "u-1");
  CHECK(resolved[0].status == ordergate::OutcomeStatus::kFilled);
  CHECK(resolved[0].ticket == 4242);
  auto status = gw->Status("u-1");
  REQUIRE(status.ok());
  REQUIRE(status->has_value());
  CHECK((*status)->status == ordergate::OutcomeStatus::kFilled);
  CHECK(bridge.Count("OPEN", "u-1") == 1);
}

TEST_CASE("a gateway reopened on the same data directory replays outcomes and sends nothing again",
          "[embedded]") {
  std::atomic<int64_t> ticket{70};
  ScriptedBridge bridge(
      [&](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, ++ticket); });
  const std::string dir = TempDir("emb-reopen");
  {
    auto gw = OpenUp(Options(bridge.endpoint(), dir));
    CHECK(gw->SubmitAndWait(Buy("r-1")).ticket == 71);
    CHECK(gw->Close().ok());
    CHECK(gw->Close().ok());  // idempotent
    // Closed: the counters stay readable, the store is released.
    CHECK(gw->stats().sent == 1);
    CHECK(gw->stats().filled == 1);
    auto closed = gw->Status("r-1");
    REQUIRE_FALSE(closed.ok());
    CHECK(closed.status().code() == absl::StatusCode::kUnavailable);
    const ordergate::Outcome late = gw->SubmitAndWait(Buy("r-2"));
    CHECK(late.status == ordergate::OutcomeStatus::kRejected);
    CHECK(late.error_code == "GATEWAY_BUSY");
    CHECK_FALSE(late.recorded);
  }
  auto gw = OpenUp(Options(bridge.endpoint(), dir));
  const ordergate::Outcome replay = gw->SubmitAndWait(Buy("r-1"));
  CHECK(replay.status == ordergate::OutcomeStatus::kFilled);
  CHECK(replay.ticket == 71);
  CHECK(replay.duplicate);
  CHECK(bridge.Count("OPEN", "r-1") == 1);
  CHECK(bridge.Count("OPEN", "r-2") == 0);
  // A second gateway on the directory is refused while this one holds it.
  auto second = ordergate::Gateway::Open(Options(bridge.endpoint(), dir));
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("SubmitAndWait from a callback refuses instead of waiting for its own thread",
          "[embedded]") {
  ScriptedBridge bridge([](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, 5); });
  auto gw = OpenUp(Options(bridge.endpoint(), TempDir("emb-nested")));
  std::atomic<bool> done{false};
  ordergate::Outcome nested;
  gw->Submit(Buy("n-1"), [&](const ordergate::Outcome&) {
    nested = gw->SubmitAndWait(Buy("n-2"));
    done = true;
  });
  for (int i = 0; i < 500 && !done.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  REQUIRE(done.load());
  CHECK(nested.status == ordergate::OutcomeStatus::kRejected);
  CHECK(nested.error_code == "GATEWAY_BUSY");
  CHECK(nested.message.find("callback") != std::string::npos);
}

TEST_CASE("options out of range refuse to open, naming the option", "[embedded]") {
  ordergate::GatewayOptions o;
  o.data_dir = "";
  auto gw = ordergate::Gateway::Open(o);
  REQUIRE_FALSE(gw.ok());
  CHECK(gw.status().code() == absl::StatusCode::kInvalidArgument);
  o.data_dir = TempDir("emb-options");
  o.bridge_timeout_ms = 5000;  // not above ttl 5000 + margin 500
  gw = ordergate::Gateway::Open(o);
  REQUIRE_FALSE(gw.ok());
  CHECK(std::string(gw.status().message()).find("bridge_timeout_ms") != std::string::npos);
}
