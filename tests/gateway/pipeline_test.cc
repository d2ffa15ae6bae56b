// The pipeline in-process, against a scripted bridge (a ROUTER on loopback that records every
// request and answers as each test says) and the real RocksDB store, wrapped where a test needs to
// watch it or make it fail.
#include <catch2/catch.hpp>

#include "tests/gateway/pipeline_util.h"

namespace og = ordergate;
using og::gateway::Gateway;
using og::gateway::GatewayConfig;
using namespace std::chrono_literals;
using namespace pipeline_util;  // NOLINT(google-build-using-namespace)

TEST_CASE("an order reaches the bridge only after its reservation is durable", "[gateway]") {
  EventLog log;
  int64_t ticket = 1000;
  ScriptedBridge bridge(
      [&](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, ++ticket); }, &log);
  const std::string dir = TempDir("durable");
  auto store = std::make_unique<WatchedStore>(OpenStore(dir), &log);
  RunningGateway gw(TestConfig(bridge.endpoint(), dir), std::move(store));
  Strategy s(gw.endpoint());
  for (int i = 0; i < 20; ++i) s.Send(Open("d-" + std::to_string(i)));
  for (int i = 0; i < 20; ++i) CHECK(s.Receive()["status"] == "FILLED");
  CheckDurableBeforeReceived(log, "d-", 20);
}

TEST_CASE(
    "when the store cannot write, orders get STORE_UNAVAILABLE and nothing reaches the bridge",
    "[gateway]") {
  ScriptedBridge bridge([](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, 77); });
  const std::string dir = TempDir("failclosed");
  auto owned = std::make_unique<WatchedStore>(OpenStore(dir), nullptr);
  WatchedStore* store = owned.get();
  RunningGateway gw(TestConfig(bridge.endpoint(), dir), std::move(owned));
  Strategy s(gw.endpoint());
  store->fail_writes = true;
  auto r = s.Call(Open("fc-1"));
  CHECK(r["status"] == "error");
  CHECK(r["error_code"] == "STORE_UNAVAILABLE");
  CHECK(r["uuid"] == "fc-1");
  CHECK(bridge.Count("OPEN", "fc-1") == 0);
  CHECK(s.Call(R"({"action":"PING","uuid":"p"})")["status"] == "ok");  // still serving
  // Not recorded: once the store writes again the same uuid goes through.
  store->fail_writes = false;
  r = s.Call(Open("fc-1"));
  CHECK(r["status"] == "FILLED");
  CHECK(r["duplicate"] == "false");
  CHECK(bridge.Count("OPEN", "fc-1") == 1);
}

TEST_CASE("an outcome the store cannot record is not acknowledged until it is durable",
          "[gateway]") {
  const std::string dir = TempDir("outcome");
  auto owned = std::make_unique<WatchedStore>(OpenStore(dir), nullptr);
  WatchedStore* store = owned.get();
  ScriptedBridge bridge([&](const BridgeRequest& r) -> std::optional<std::string> {
    store->fail_writes = true;  // the reservation is durable; the outcome write will fail
    return ScriptedBridge::Filled(r.uuid, 4242);
  });
  GatewayConfig cfg = TestConfig(bridge.endpoint(), dir);
  cfg.bridge_timeout_ms = 2000;
  cfg.bridge_signature_ttl_ms = 1000;
  RunningGateway gw(cfg, std::move(owned));
  Strategy s(gw.endpoint());
  auto r = s.Call(Open("oc-1", 0.1, 500));
  CHECK(r["status"] == "PENDING");  // FILLED at the bridge, but not durable here yet
  store->fail_writes = false;
  CHECK(Eventually([&] { return s.Call(Status("oc-1"))["status"] == "FILLED"; }));
  r = s.Call(Open("oc-1"));
  CHECK(r["status"] == "FILLED");
  CHECK(r["ticket"] == "4242");
  CHECK(r["duplicate"] == "true");
  CHECK(bridge.Count("OPEN", "oc-1") == 1);
}

TEST_CASE("a retry of an in-flight uuid joins the original and is never sent twice", "[gateway]") {
  ScriptedBridge bridge(HoldAll);
  const std::string dir = TempDir("join");
  RunningGateway gw(PatientConfig(bridge.endpoint(), dir));
  Strategy a(gw.endpoint());
  Strategy b(gw.endpoint());
  SendToBridge(a, bridge, "j-1");
  b.Send(Open("j-1"));
  std::this_thread::sleep_for(100ms);
  bridge.ReplyLater(ScriptedBridge::Filled("j-1", 555));
  auto ra = a.Receive();
  auto rb = b.Receive();
  CHECK(ra["status"] == "FILLED");
  CHECK(rb["status"] == "FILLED");
  CHECK(ra["ticket"] == "555");
  CHECK(rb["ticket"] == "555");
  CHECK(ra["duplicate"] == "false");
  CHECK(rb["duplicate"] == "true");
  CHECK(bridge.Count("OPEN", "j-1") == 1);
}

TEST_CASE(
    "a request whose deadline comes first gets PENDING and the same uuid later gets the outcome",
    "[gateway]") {
  ScriptedBridge bridge(HoldAll);
  const std::string dir = TempDir("pending");
  RunningGateway gw(PatientConfig(bridge.endpoint(), dir));
  Strategy s(gw.endpoint());
  const auto t0 = std::chrono::steady_clock::now();
  auto r = s.Call(Open("pe-1", 0.1, 300));
  const auto waited = std::chrono::steady_clock::now() - t0;
  CHECK(r["status"] == "PENDING");
  CHECK(r["duplicate"] == "false");
  CHECK(waited < 300ms);  // answered before the strategy's own timeout, by design (reply margin)
  CHECK(s.Call(Status("pe-1"))["status"] == "PENDING");
  bridge.ReplyLater(ScriptedBridge::Filled("pe-1", 9));
  CHECK(Eventually([&] { return s.Call(Open("pe-1"))["status"] == "FILLED"; }));
  CHECK(bridge.Count("OPEN", "pe-1") == 1);
}

TEST_CASE(
    "an order's own body resent while a conflicting body's reservation is in flight and the store "
    "cannot be read gets STORE_UNAVAILABLE, never IDEMPOTENCY_CONFLICT",
    "[gateway]") {
  // The nemesis on the shared guard found it: a conflicting body reached a gateway first and went
  // to be reserved (optimistically: it meets the record there); the order's own body, arriving
  // while that reservation waited on a silent database, was refused as a conflict because the
  // store read meant to settle it failed. Until the store answers, nothing is known: fail closed.
  ScriptedBridge bridge([](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, 77); });
  const std::string dir = TempDir("conflict-unread");
  auto owned = std::make_unique<WatchedStore>(OpenStore(dir), nullptr);
  WatchedStore* store = owned.get();
  RunningGateway gw(TestConfig(bridge.endpoint(), dir), std::move(owned));
  Strategy s(gw.endpoint());
  Strategy other(gw.endpoint());
  CHECK(s.Call(Open("cu-1", 0.1))["status"] == "FILLED");
  store->hold_writes = true;
  other.Send(Open("cu-1", 0.2));  // the conflicting body: its reservation now waits
  REQUIRE(Eventually([&] { return store->held.load() > 0; }));
  store->fail_lookups = true;
  auto r = s.Call(Open("cu-1", 0.1));
  CHECK(r["status"] == "error");
  CHECK(r["error_code"] == "STORE_UNAVAILABLE");
  store->fail_lookups = false;
  store->hold_writes = false;
  auto c = other.Receive();
  CHECK(c["error_code"] == "IDEMPOTENCY_CONFLICT");
  r = s.Call(Open("cu-1", 0.1));
  CHECK(r["status"] == "FILLED");
  CHECK(r["ticket"] == "77");
  CHECK(r["duplicate"] == "true");
  CHECK(bridge.Count("OPEN", "cu-1") == 1);
}

TEST_CASE(
    "after a store read fails, the loop answers reads STORE_UNAVAILABLE at once for a moment "
    "instead of waiting out each one, and reads again after it",
    "[gateway]") {
  // What the nemesis on the shared guard showed: every ORDER_STATUS (and every retry the store must
  // settle) read the database on the loop, and a silent database held each read for its whole call
  // deadline, so one burst of questions stalled every client of the gateway for seconds.
  ScriptedBridge bridge([](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, 5); });
  const std::string dir = TempDir("read-pause");
  auto owned = std::make_unique<WatchedStore>(OpenStore(dir), nullptr);
  WatchedStore* store = owned.get();
  RunningGateway gw(TestConfig(bridge.endpoint(), dir), std::move(owned));
  Strategy s(gw.endpoint());
  CHECK(s.Call(Open("rp-1", 0.1))["status"] == "FILLED");
  store->lookup_delay_ms = 300;
  store->fail_lookups = true;
  const int reads_before = store->lookups.load();
  constexpr int kQuestions = 6;
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < kQuestions; ++i) s.Send(Status("rp-1"));
  for (int i = 0; i < kQuestions; ++i) {
    auto r = s.Receive();
    CHECK(r["error_code"] == "STORE_UNAVAILABLE");
  }
  const auto took = std::chrono::steady_clock::now() - t0;
  INFO("six questions answered in "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < 900ms);  // one read's wait, not six (1.8 s)
  CHECK(store->lookups.load() - reads_before == 1);
  store->lookup_delay_ms = 0;
  store->fail_lookups = false;
  CHECK(Eventually([&] { return s.Call(Status("rp-1"))["status"] == "FILLED"; }));
}

TEST_CASE(
    "a slow store read holds only the request that needs it: another client's order fills "
    "meanwhile, and the question is answered when the read is back",
    "[gateway]") {
  // Reads used to run on the pipeline thread: an ORDER_STATUS for an order out of memory read the
  // store there, and a read that waited (the disk, a database answering slowly) held every client
  // and every bridge reply for as long. They run on the reader's thread now.
  ScriptedBridge bridge([](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, 8); });
  const std::string dir = TempDir("slow-read");
  auto owned = std::make_unique<WatchedStore>(OpenStore(dir), nullptr);
  WatchedStore* store = owned.get();
  RunningGateway gw(TestConfig(bridge.endpoint(), dir), std::move(owned));
  Strategy asker(gw.endpoint());
  Strategy trader(gw.endpoint());
  CHECK(trader.Call(Open("sr-0", 0.1))["status"] == "FILLED");
  const int reads_before = store->lookups.load();
  store->lookup_delay_ms = 1500;
  const auto t0 = std::chrono::steady_clock::now();
  asker.Send(Status("sr-0"));
  REQUIRE(Eventually([&] { return store->lookups.load() > reads_before; }));  // under way
  auto r = trader.Call(Open("sr-1", 0.1));
  const auto traded = std::chrono::steady_clock::now() - t0;
  CHECK(r["status"] == "FILLED");
  INFO("the other client's order took "
       << std::chrono::duration_cast<std::chrono::milliseconds>(traded).count() << " ms");
  CHECK(traded < 1000ms);  // not behind the 1.5-s read
  auto q = asker.Receive(5000ms);
  CHECK(q["status"] == "FILLED");
  CHECK(q["ticket"] == "8");
  CHECK(std::chrono::steady_clock::now() - t0 >= 1400ms);
  store->lookup_delay_ms = 0;
}

TEST_CASE(
    "a uuid reused for a different order is an IDEMPOTENCY_CONFLICT and the record is untouched",
    "[gateway]") {
  ScriptedBridge bridge([](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, 31); });
  const std::string dir = TempDir("conflict");
  RunningGateway gw(TestConfig(bridge.endpoint(), dir));
  Strategy s(gw.endpoint());
  CHECK(s.Call(Open("cf-1", 0.1))["status"] == "FILLED");
  auto r = s.Call(Open("cf-1", 0.2));
  CHECK(r["status"] == "REJECTED");
  CHECK(r["error_code"] == "IDEMPOTENCY_CONFLICT");
  r = s.Call(Open("cf-1", 0.1));
  CHECK(r["status"] == "FILLED");
  CHECK(r["ticket"] == "31");
  CHECK(r["duplicate"] == "true");
  CHECK(bridge.Count("OPEN", "cf-1") == 1);
}

TEST_CASE(
    "a silent bridge makes the order UNKNOWN, it is never resent, and a late reply resolves it",
    "[gateway]") {
  ScriptedBridge bridge([](const BridgeRequest& r) -> std::optional<std::string> {
    if (r.action == "ORDER_STATUS") return ScriptedBridge::Error(r.uuid, "UNKNOWN_ACTION");
    return std::nullopt;
  });
  const std::string dir = TempDir("unknown");
  RunningGateway gw(TestConfig(bridge.endpoint(), dir));
  Strategy s(gw.endpoint());
  auto r = s.Call(Open("u-1"));
  CHECK(r["status"] == "UNKNOWN");
  CHECK(r["error_code"] == "BRIDGE_TIMEOUT");
  CHECK(r["duplicate"] == "false");
  r = s.Call(Open("u-1"));
  CHECK(r["status"] == "UNKNOWN");
  CHECK(r["duplicate"] == "true");
  CHECK(s.Call(Status("u-1"))["status"] == "UNKNOWN");
  std::this_thread::sleep_for(300ms);
  CHECK(bridge.Count("OPEN", "u-1") == 1);
  bridge.ReplyLater(ScriptedBridge::Filled("u-1", 808));  // the late reply to the held OPEN
  CHECK(Eventually([&] { return s.Call(Status("u-1"))["status"] == "FILLED"; }));
  r = s.Call(Open("u-1"));
  CHECK(r["ticket"] == "808");
  CHECK(bridge.Count("OPEN", "u-1") == 1);
}

TEST_CASE("an UNKNOWN is resolved through ORDER_STATUS when the bridge knows the order",
          "[gateway]") {
  ScriptedBridge bridge([](const BridgeRequest& r) -> std::optional<std::string> {
    if (r.action == "ORDER_STATUS") return ScriptedBridge::Filled(r.uuid, 6060);
    return std::nullopt;  // the OPEN's own reply is lost
  });
  const std::string dir = TempDir("query");
  RunningGateway gw(TestConfig(bridge.endpoint(), dir));
  Strategy s(gw.endpoint());
  CHECK(s.Call(Open("q-1"))["status"] == "UNKNOWN");
  CHECK(Eventually([&] { return s.Call(Status("q-1"))["status"] == "FILLED"; }));
  CHECK(s.Call(Open("q-1"))["ticket"] == "6060");
  CHECK(bridge.Count("OPEN", "q-1") == 1);
}

TEST_CASE(
    "an order left RESERVED by a crash becomes UNKNOWN and, never seen by the bridge past its TTL, "
    "REJECTED",
    "[gateway]") {
  const std::string dir = TempDir("recover");
  {
    auto store = OpenStore(dir);
    og::idempotency::Change c = og::idempotency::Change::Reserve("rc-1", "fp");
    og::idempotency::ChangeResult res;
    REQUIRE(store->Apply({&c, 1}, 1, {&res, 1}).ok());
  }
  ScriptedBridge bridge([](const BridgeRequest& r) -> std::optional<std::string> {
    if (r.action == "ORDER_STATUS") return ScriptedBridge::Error(r.uuid, "NOT_FOUND");
    return ScriptedBridge::Filled(r.uuid, 1);
  });
  RunningGateway gw(TestConfig(bridge.endpoint(), dir));
  CHECK(gw->counters().recovered_unknown.load() == 1);
  Strategy s(gw.endpoint());
  auto r = s.Call(Status("rc-1"));
  CHECK(r["status"] == "UNKNOWN");
  CHECK(Eventually([&] { return s.Call(Status("rc-1"))["status"] == "REJECTED"; }));
  r = s.Call(Status("rc-1"));
  CHECK(r["error_code"] == "BRIDGE_NOT_EXECUTED");
  CHECK(bridge.Count("OPEN", "rc-1") == 0);  // asked about, never resent
  CHECK(bridge.Count("ORDER_STATUS", "rc-1") >= 1);
}

TEST_CASE("past bridge_max_in_flight a new order gets GATEWAY_BUSY, which is not recorded",
          "[gateway]") {
  ScriptedBridge bridge([](const BridgeRequest& r) -> std::optional<std::string> {
    if (r.uuid == "busy-1") return std::nullopt;
    return ScriptedBridge::Filled(r.uuid, 2);
  });
  const std::string dir = TempDir("busy");
  GatewayConfig cfg = PatientConfig(bridge.endpoint(), dir);
  cfg.bridge_max_in_flight = 1;
  RunningGateway gw(cfg);
  Strategy a(gw.endpoint());
  Strategy b(gw.endpoint());
  SendToBridge(a, bridge, "busy-1");
  auto r = b.Call(Open("busy-2"));
  CHECK(r["status"] == "REJECTED");
  CHECK(r["error_code"] == "GATEWAY_BUSY");
  bridge.ReplyLater(ScriptedBridge::Filled("busy-1", 1));
  CHECK(a.Receive()["status"] == "FILLED");
  CHECK(b.Call(Open("busy-2"))["status"] == "FILLED");
}

TEST_CASE("stopping answers orders in flight and refuses new ones with GATEWAY_BUSY", "[gateway]") {
  ScriptedBridge bridge(HoldAll);
  const std::string dir = TempDir("stop");
  RunningGateway gw(PatientConfig(bridge.endpoint(), dir));
  Strategy a(gw.endpoint());
  Strategy b(gw.endpoint());
  SendToBridge(a, bridge, "st-1");
  gw->Stop();
  auto r = b.Call(Open("st-2"));
  CHECK(r["status"] == "REJECTED");
  CHECK(r["error_code"] == "GATEWAY_BUSY");
  bridge.ReplyLater(ScriptedBridge::Filled("st-1", 3));
  CHECK(a.Receive()["status"] == "FILLED");
  gw.StopAndJoin();
  CHECK(bridge.Count("OPEN", "st-2") == 0);
}

TEST_CASE(
    "a GET_ACCOUNT named like an order in flight travels under ordergate's own id, so the replies "
    "cannot be crossed",
    "[gateway]") {
  ScriptedBridge bridge([](const BridgeRequest& r) -> std::optional<std::string> {
    if (r.action == "OPEN") return std::nullopt;
    return R"({"uuid":")" + r.uuid + R"(","status":"ok","balance":1})";
  });
  const std::string dir = TempDir("relay");
  RunningGateway gw(PatientConfig(bridge.endpoint(), dir));
  Strategy s(gw.endpoint());
  SendToBridge(s, bridge, "rl-1");
  Strategy t(gw.endpoint());
  auto r = t.Call(R"({"action":"GET_ACCOUNT","uuid":"rl-1"})");
  CHECK(r["status"] == "ok");
  CHECK(r["uuid"] == "rl-1");
  CHECK(r["balance"] == "1");
  // At the bridge the relay carried ordergate's id, which no order uuid can take.
  CHECK(bridge.Count("GET_ACCOUNT", "rl-1") == 0);
  bool own_id = false;
  for (const auto& req : bridge.Requests()) {
    if (req.action == "GET_ACCOUNT") own_id = req.uuid.rfind("ordergate#relay-", 0) == 0;
  }
  CHECK(own_id);
  bridge.ReplyLater(ScriptedBridge::Filled("rl-1", 12));
  auto filled = s.Receive();
  CHECK(filled["status"] == "FILLED");
  CHECK(filled["ticket"] == "12");
}

TEST_CASE(
    "a bridge reply that settles nothing makes the order UNKNOWN at its deadline, frees its slot "
    "and is never resent",
    "[gateway]") {
  // Finding 2 of the outside probe: these replies consumed the link's entry (and its deadline)
  // and left the order RESERVED for ever, holding its in-flight slot.
  const std::vector<std::pair<std::string, std::string>> odd = {
      {"SERVER_ERROR", R"("status":"error","error_code":"SERVER_ERROR","error_msg":"boom")"},
      {"no status", R"("ticket":5)"},
      {"ok", R"("status":"ok")"},
      {"PENDING", R"("status":"PENDING")"},
      {"ticket -5", R"("status":"FILLED","ticket":-5)"},
      {"ticket 12.5", R"("status":"FILLED","ticket":12.5)"},
  };
  std::map<std::string, std::string> reply_for;
  std::mutex mu;
  ScriptedBridge bridge([&](const BridgeRequest& r) -> std::optional<std::string> {
    if (r.action == "ORDER_STATUS") return ScriptedBridge::Error(r.uuid, "UNKNOWN_ACTION");
    std::lock_guard<std::mutex> l(mu);
    auto it = reply_for.find(r.uuid);
    if (r.action != "OPEN" || it == reply_for.end()) return ScriptedBridge::Filled(r.uuid, 99);
    return R"({"uuid":")" + r.uuid + R"(",)" + it->second + "}";
  });
  const std::string dir = TempDir("odd");
  GatewayConfig cfg = TestConfig(bridge.endpoint(), dir);
  cfg.bridge_max_in_flight = 1;  // one stranded order used to make every later one GATEWAY_BUSY
  RunningGateway gw(cfg);
  Strategy s(gw.endpoint());
  for (size_t i = 0; i < odd.size(); ++i) {
    const std::string uuid = "odd-" + std::to_string(i);
    INFO("bridge reply: " << odd[i].first);
    {
      std::lock_guard<std::mutex> l(mu);
      reply_for[uuid] = odd[i].second;
    }
    const auto start = std::chrono::steady_clock::now();
    auto r = s.Call(Open(uuid));
    CHECK(r["status"] == "UNKNOWN");
    CHECK(r["error_code"] == "BRIDGE_TIMEOUT");
    // At its bridge deadline (400 ms), not at the client's (3 s).
    CHECK(std::chrono::steady_clock::now() - start < 2000ms);
    CHECK(s.Call(Status(uuid))["status"] == "UNKNOWN");
    CHECK(s.Call(Open(uuid))["status"] == "UNKNOWN");
    CHECK(bridge.Count("OPEN", uuid) == 1);
  }
  // The slot is free: the next order is sent and filled.
  auto r = s.Call(Open("odd-after"));
  CHECK(r["status"] == "FILLED");
  // The gauge is recounted after the batch's replies went out.
  CHECK(Eventually([&] { return gw->in_flight() == 0; }));
  CHECK(gw->counters().orders_unknown.load() == odd.size());
}

TEST_CASE(
    "a question asked while the order's late reply may still come is read only for what both "
    "replies mean",
    "[gateway]") {
  // The OPEN's reply is lost; the bridge answers ORDER_STATUS "not found", "not understood" and
  // finally the record. Until the order's own entry is consumed neither error may settle it.
  std::atomic<int> questions{0};
  ScriptedBridge bridge([&](const BridgeRequest& r) -> std::optional<std::string> {
    if (r.action != "ORDER_STATUS") return std::nullopt;
    const int n = ++questions;
    if (n == 1) return ScriptedBridge::Error(r.uuid, "NOT_FOUND");
    return ScriptedBridge::Filled(r.uuid, 777);
  });
  const std::string dir = TempDir("shadow");
  RunningGateway gw(TestConfig(bridge.endpoint(), dir));
  Strategy s(gw.endpoint());
  CHECK(s.Call(Open("sh-1"))["status"] == "UNKNOWN");
  // The first answer ("not found") reaches the order's own entry: ambiguous, so not a rejection.
  CHECK(Eventually([&] { return questions.load() >= 2; }));
  CHECK(Eventually([&] { return s.Call(Status("sh-1"))["status"] == "FILLED"; }));
  auto r = s.Call(Open("sh-1"));
  CHECK(r["ticket"] == "777");
  CHECK(bridge.Count("OPEN", "sh-1") == 1);
}

TEST_CASE("a late answer to a question that reaches the order's own entry never settles the order",
          "[gateway]") {
  // The OPEN is never answered; the question is answered "not understood" only after it timed out,
  // so the link pairs that answer with the order's own request. It must not read as a rejection.
  ScriptedBridge bridge(
      [](const BridgeRequest&) -> std::optional<std::string> { return std::nullopt; });
  const std::string dir = TempDir("lateq");
  GatewayConfig cfg = TestConfig(bridge.endpoint(), dir);
  cfg.unknown_query_interval_ms = 3000;  // no second question is out when the late answer comes
  RunningGateway gw(cfg);
  Strategy s(gw.endpoint());
  CHECK(s.Call(Open("lq-1"))["status"] == "UNKNOWN");
  REQUIRE(Eventually([&] { return bridge.Count("ORDER_STATUS", "lq-1") >= 1; }, 8000ms));
  std::this_thread::sleep_for(2300ms);  // past the question's own 2 s deadline
  bridge.ReplyLater(ScriptedBridge::Error("lq-1", "UNKNOWN_ACTION"));
  std::this_thread::sleep_for(300ms);
  auto r = s.Call(Status("lq-1"));
  CHECK(r["status"] == "UNKNOWN");
  CHECK(r["error_code"] == "BRIDGE_TIMEOUT");
  CHECK(bridge.Count("OPEN", "lq-1") == 1);
}

TEST_CASE(
    "the pipeline's deadlines follow its injected clock, so a test moves time instead of "
    "sleeping through it",
    "[gateway][clock]") {
  ScriptedBridge bridge(HoldAll);
  og::gateway::ManualClock clock;
  GatewayConfig cfg = TestConfig(bridge.endpoint(), TempDir("clock"));
  cfg.bridge_signature_ttl_ms = 5000;
  cfg.bridge_exec_margin_ms = 500;
  cfg.bridge_timeout_ms = 6000;            // the defaults: six seconds nobody waits for
  cfg.unknown_query_interval_ms = 600000;  // no ORDER_STATUS during the test
  RunningGateway gw(cfg, nullptr, &clock);
  Strategy s(gw.endpoint());
  s.Send(Open("clk-1", 0.1, /*timeout_ms=*/600000));
  REQUIRE(Eventually([&] { return bridge.Count("OPEN", "clk-1") == 1; }));
  // Real time passes, the pipeline's does not: still in flight.
  std::this_thread::sleep_for(100ms);
  CHECK(gw->in_flight() == 1);
  const auto started = std::chrono::steady_clock::now();
  clock.Advance(absl::Milliseconds(5999));
  std::this_thread::sleep_for(100ms);
  CHECK(gw->in_flight() == 1);  // one millisecond before the bridge deadline
  clock.Advance(absl::Milliseconds(2));
  auto reply = s.Receive(2000ms);
  CHECK(reply["status"] == "UNKNOWN");
  CHECK(reply["error_code"] == "BRIDGE_TIMEOUT");
  CHECK(std::chrono::steady_clock::now() - started < 3s);  // not the 6 s of the deadline
  CHECK(gw->counters().orders_unknown.load() == 1);
  CHECK(bridge.Count("OPEN", "clk-1") == 1);
}

TEST_CASE(
    "with durability async an order reaches the bridge only after its reservation is "
    "written, whether its batch is written inline or by the journal",
    "[gateway]") {
  EventLog log;
  std::atomic<int64_t> ticket{1000};
  ScriptedBridge bridge(
      [&](const BridgeRequest& r) { return ScriptedBridge::Filled(r.uuid, ++ticket); }, &log);
  const std::string dir = TempDir("durable-async");
  auto owned = std::make_unique<WatchedStore>(OpenStore(dir), &log);
  WatchedStore* store = owned.get();
  GatewayConfig cfg = TestConfig(bridge.endpoint(), dir);
  cfg.durability = og::idempotency::Durability::kAsync;
  RunningGateway gw(cfg, std::move(owned));
  Strategy s(gw.endpoint());
  // One at a time (a batch per change), then a burst of 60 (changes gather while one is written).
  for (int i = 0; i < 10; ++i) CHECK(s.Call(Open("a-" + std::to_string(i)))["status"] == "FILLED");
  for (int i = 10; i < 70; ++i) s.Send(Open("a-" + std::to_string(i)));
  for (int i = 10; i < 70; ++i) CHECK(s.Receive()["status"] == "FILLED");
  CheckDurableBeforeReceived(log, "a-", 70);
  for (int i = 0; i < 70; ++i) CHECK(bridge.Count("OPEN", "a-" + std::to_string(i)) == 1);
  CHECK(store->applies.load() > 0);
  CHECK(gw->counters().store_batches.load() < 140);  // some batches carried several changes
}
