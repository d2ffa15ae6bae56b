// Operator resolution through an in-process gateway (Gateway::ResolveUnknown, the admin routes):
// applied by the loop through the transition table, durable, replayed; refused for any state but
// UNKNOWN; never applied after its asker was told it was not.
#include "gateway/operator_resolution.h"

#include <httplib.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "gateway/admin_api.h"
#include "gateway/http_endpoint.h"
#include "pipeline_util.h"

using namespace pipeline_util;
using og::gateway::HttpEndpoint;
using og::gateway::Resolution;
using og::gateway::ResolvedOutcome;
using og::idempotency::RecordState;

namespace {

// The real bridge: holds every OPEN unanswered, and has no ORDER_STATUS.
ScriptedBridge::Policy SilentBridge() {
  return [](const BridgeRequest& r) -> std::optional<std::string> {
    if (r.action == "ORDER_STATUS") return ScriptedBridge::Error(r.uuid, "UNKNOWN_ACTION");
    return std::nullopt;
  };
}

Resolution Fill(const std::string& uuid, int64_t ticket) {
  Resolution r;
  r.uuid = uuid;
  r.outcome = ResolvedOutcome::kFilled;
  r.ticket = ticket;
  r.operator_name = "test";
  r.admitted_as = "in-process";
  return r;
}

// Sends an OPEN and REQUIREs UNKNOWN.
void MakeUnknown(Strategy& s, const std::string& uuid) {
  auto first = s.Call(Open(uuid, 0.1, 3000));
  INFO(first["status"]);
  REQUIRE(first["status"] == "UNKNOWN");
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RecordState StoredState(Gateway& gw, const std::string& uuid) {
  auto rec = gw.LookupOrder(uuid);
  REQUIRE(rec.ok());
  return rec->has_value() ? (*rec)->state : RecordState::kAbsent;
}

}  // namespace

TEST_CASE(
    "An UNKNOWN order resolved FILLED by the operator is recorded before the call returns, "
    "replayed with duplicate:true to a retry and to ORDER_STATUS, counted, and never sent again",
    "[gateway][operator]") {
  ScriptedBridge bridge(SilentBridge());
  const std::string dir = TempDir("opres");
  RunningGateway gw(TestConfig(bridge.endpoint(), dir));
  Strategy s(gw.endpoint());
  MakeUnknown(s, "res-1");

  Resolution r = Fill("res-1", 9001);
  r.price = 1.0842;
  auto done = gw->ResolveUnknown(r);
  REQUIRE(done.ok());
  CHECK(done->from == RecordState::kUnknown);
  CHECK(done->to == RecordState::kFilled);
  CHECK(StoredState(*gw, "res-1") == RecordState::kFilled);
  CHECK_THAT(done->reply, Catch::StartsWith(R"({"uuid":"res-1","status":"FILLED","ticket":9001,)"
                                            R"("price":1.0842,"resolved_by":"operator",)"
                                            R"("operator":"test","timestamp":")"));

  auto retry = s.Call(Open("res-1", 0.1, 3000));
  CHECK(retry["status"] == "FILLED");
  CHECK(retry["ticket"] == "9001");
  CHECK(retry["duplicate"] == "true");
  CHECK(retry["resolved_by"] == "operator");
  auto status = s.Call(Status("res-1"));
  CHECK(status["status"] == "FILLED");
  CHECK(bridge.Count("OPEN", "res-1") == 1);
  CHECK(gw->counters().unknown_resolved.load() == 1);
  CHECK(gw->counters().orders_filled.load() == 1);
  auto listed = gw->ListInFlightOrders();
  REQUIRE(listed.ok());
  CHECK(listed->empty());

  // Once settled, it cannot be resolved again.
  Resolution twice = Fill("res-1", 9002);
  auto again = gw->ResolveUnknown(twice);
  CHECK(again.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(again.status().message()) ==
        "order res-1 is FILLED: only an UNKNOWN order can be resolved; nothing changed");
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "Resolving an order that is RESERVED at the bridge, or a uuid the store never saw, is refused "
    "with a message saying so, and nothing changes",
    "[gateway][operator]") {
  ScriptedBridge bridge(SilentBridge());
  const std::string dir = TempDir("opreserved");
  GatewayConfig cfg = TestConfig(bridge.endpoint(), dir);
  cfg.bridge_timeout_ms = 3000;  // stays RESERVED for the whole test (well under a second)
  RunningGateway gw(cfg);
  Strategy s(gw.endpoint());
  s.Send(Open("res-held"));
  REQUIRE(Eventually([&] { return bridge.Count("OPEN", "res-held") == 1; }));

  auto held = gw->ResolveUnknown(Fill("res-held", 1));
  CHECK(held.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(held.status().message()),
             Catch::StartsWith("order res-held is RESERVED (at the bridge") &&
                 Catch::EndsWith("only an UNKNOWN order can be resolved; nothing changed"));
  CHECK(StoredState(*gw, "res-held") == RecordState::kReserved);

  auto absent = gw->ResolveUnknown(Fill("res-never", 1));
  CHECK(absent.status().code() == absl::StatusCode::kNotFound);
  CHECK_THAT(std::string(absent.status().message()),
             Catch::StartsWith("no order res-never in the store"));
  CHECK(StoredState(*gw, "res-never") == RecordState::kAbsent);
  CHECK(gw->counters().unknown_resolved.load() == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "An UNKNOWN record that the loop does not hold (another gateway's, on a shared store) is "
    "resolved through the store's transition table too",
    "[gateway][operator]") {
  ScriptedBridge bridge(SilentBridge());
  const std::string dir = TempDir("opshared");
  std::unique_ptr<og::idempotency::Store> store = OpenStore(dir);
  og::idempotency::Store* shared = store.get();
  RunningGateway gw(TestConfig(bridge.endpoint(), dir), std::move(store));
  Strategy s(gw.endpoint());
  // What the other gateway did: reserve, then time out.
  const std::string fp = "fingerprint-of-another-gateway";
  og::idempotency::Change changes[] = {
      og::idempotency::Change::Reserve("res-other", fp),
      og::idempotency::Change::Event(og::idempotency::RecordEvent::kBridgeTimedOut, "res-other")};
  og::idempotency::ChangeResult results[2];
  REQUIRE(shared->Apply(changes, NowMs(), results).ok());
  REQUIRE(results[1].state_after == RecordState::kUnknown);

  Resolution r;
  r.uuid = "res-other";
  r.outcome = ResolvedOutcome::kRejected;
  r.reason = "no trace in MT5 history";
  auto done = gw->ResolveUnknown(r);
  REQUIRE(done.ok());
  CHECK(done->to == RecordState::kRejected);
  auto rec = gw->LookupOrder("res-other");
  REQUIRE(rec.ok());
  REQUIRE(rec->has_value());
  CHECK((*rec)->state == RecordState::kRejected);
  CHECK_THAT((*rec)->reply, Catch::Contains(R"("error_code":"OPERATOR_REJECTED",)"
                                            R"("error_msg":"no trace in MT5 history")"));
  auto status = s.Call(Status("res-other"));
  CHECK(status["status"] == "REJECTED");
  CHECK(status["error_code"] == "OPERATOR_REJECTED");
  CHECK(bridge.Count("OPEN", "res-other") == 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "A resolution the loop did not take in time is reported not applied and is never applied "
    "later; after the loop has returned every resolution is refused at once",
    "[gateway][operator]") {
  ScriptedBridge bridge(SilentBridge());
  const std::string dir = TempDir("opqueue");
  std::unique_ptr<og::idempotency::Store> store = OpenStore(dir);
  og::idempotency::Change changes[] = {
      og::idempotency::Change::Reserve("res-queued", "fp"),
      og::idempotency::Change::Event(og::idempotency::RecordEvent::kBridgeTimedOut, "res-queued")};
  og::idempotency::ChangeResult results[2];
  REQUIRE(store->Apply(changes, NowMs(), results).ok());
  auto started = Gateway::Start(TestConfig(bridge.endpoint(), dir), std::move(store));
  REQUIRE(started.ok());
  Gateway& gw = **started;

  // No loop yet: the request waits its bound, then is abandoned.
  auto early = gw.ResolveUnknown(Fill("res-queued", 7), absl::Milliseconds(100));
  CHECK(early.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(early.status().message()),
             Catch::StartsWith("the order loop did not take the resolution within 100ms"));

  absl::Status ran;
  std::thread loop([&] { ran = gw.Run(); });
  REQUIRE(Eventually([&] { return gw.ready(); }));
  std::this_thread::sleep_for(100ms);  // several loop iterations: the abandoned one is dropped
  CHECK(StoredState(gw, "res-queued") == RecordState::kUnknown);
  CHECK(gw.counters().unknown_resolved.load() == 0);

  gw.Stop();
  loop.join();
  REQUIRE(ran.ok());
  const auto asked = std::chrono::steady_clock::now();
  auto late = gw.ResolveUnknown(Fill("res-queued", 7));
  CHECK(std::chrono::steady_clock::now() - asked < 1s);
  CHECK(late.status().code() == absl::StatusCode::kUnavailable);
  CHECK(std::string(late.status().message()) == "the gateway is stopping: nothing changed");
  CHECK(StoredState(gw, "res-queued") == RecordState::kUnknown);
  started->reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE(
    "The admin routes list UNKNOWN orders, refuse a resolve with a wrong token (403) or a bad "
    "body (400), apply one from loopback (200), and refuse a state that is not indexed",
    "[gateway][operator]") {
  ScriptedBridge bridge(SilentBridge());
  const std::string dir = TempDir("oproutes");
  const std::string token_file = dir + "-admin.token";
  std::ofstream(token_file) << "route-test-token-0123456789\n";
  REQUIRE(::chmod(token_file.c_str(), 0600) == 0);
  GatewayConfig cfg = TestConfig(bridge.endpoint(), dir);
  cfg.admin_token_file = token_file;
  RunningGateway gw(cfg);
  auto ep = HttpEndpoint::Start("127.0.0.1:0", *gw);
  REQUIRE(ep.ok());
  httplib::Client client("127.0.0.1", (*ep)->port());
  Strategy s(gw.endpoint());
  MakeUnknown(s, "res-http");

  auto listed = client.Get("/admin/orders?state=unknown");
  REQUIRE(listed);
  CHECK(listed->status == 200);
  CHECK_THAT(listed->body, Catch::StartsWith(R"({"state":"UNKNOWN","count":1,"orders":[)"
                                             R"({"uuid":"res-http","state":"UNKNOWN",)"));
  auto filled_state = client.Get("/admin/orders?state=filled");
  REQUIRE(filled_state);
  CHECK(filled_state->status == 400);
  CHECK_THAT(filled_state->body, Catch::Contains("only in-flight records are indexed"));

  const std::string body = R"({"outcome":"FILLED","ticket":4242})";
  auto wrong =
      client.Post("/admin/orders/res-http/resolve",
                  {{"Authorization", "Bearer not-the-route-token-000"}}, body, "application/json");
  REQUIRE(wrong);
  CHECK(wrong->status == 403);
  CHECK_THAT(wrong->body, Catch::Contains(R"("applied":false)"));
  auto bad =
      client.Post("/admin/orders/res-http/resolve", R"({"outcome":"FILLED"})", "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(StoredState(*gw, "res-http") == RecordState::kUnknown);

  auto applied = client.Post("/admin/orders/res-http/resolve", body, "application/json");
  REQUIRE(applied);
  CHECK(applied->status == 200);
  CHECK_THAT(applied->body, Catch::StartsWith(R"({"applied":true,"uuid":"res-http",)"
                                              R"("from":"UNKNOWN","to":"FILLED",)"));
  auto one = client.Get("/admin/orders/res-http");
  REQUIRE(one);
  CHECK(one->status == 200);
  CHECK_THAT(one->body, Catch::Contains(R"("state":"FILLED")") &&
                            Catch::Contains(R"("reply":{"uuid":"res-http","status":"FILLED")"));
  auto conflict = client.Post("/admin/orders/res-http/resolve", body, "application/json");
  REQUIRE(conflict);
  CHECK(conflict->status == 409);
  (*ep)->Detach();
  std::filesystem::remove(token_file);
  std::filesystem::remove_all(dir);
}

TEST_CASE("Gateway::Start refuses an admin token file that is not mode 0600 and opens nothing",
          "[gateway][operator]") {
  const std::string dir = TempDir("optokenmode");
  std::filesystem::remove_all(dir);
  const std::string token_file = dir + "-loose.token";
  std::ofstream(token_file) << "loose-token-0123456789abcdef\n";
  REQUIRE(::chmod(token_file.c_str(), 0644) == 0);
  GatewayConfig cfg = TestConfig("tcp://127.0.0.1:1", dir);
  cfg.admin_token_file = token_file;
  auto gw = Gateway::Start(cfg);
  REQUIRE_FALSE(gw.ok());
  CHECK_THAT(std::string(gw.status().message()),
             Catch::StartsWith("admin_token_file " + token_file + " has mode 0644"));
  CHECK_FALSE(std::filesystem::exists(dir));
  std::filesystem::remove(token_file);
}
