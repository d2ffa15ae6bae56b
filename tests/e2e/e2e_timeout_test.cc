// End to end, a bridge that does not answer in time, answers late, or is not there at all.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;

namespace {

// Small, aligned timeouts: 500 > 300 + 100. The simulator's TTL matches the gateway's. UNKNOWN
// orders are asked about every 200 ms.
const std::vector<std::string> kShortGatewayTimeouts = {
    "--bridge-signature-ttl-ms",   "300", "--bridge-exec-margin-ms", "100",
    "--bridge-timeout-ms",         "500", "--client-timeout-ms",     "2000",
    "--unknown-query-interval-ms", "200"};

// kShortGatewayTimeouts, and ordergated asks ORDER_STATUS once the order's own late reply can no
// longer arrive (--late-reply-window-ms, 10 min by default): that window is shortened so the
// question is asked soon.
std::vector<std::string> ShortTimeoutsAndLateReplyWindow() {
  std::vector<std::string> args = kShortGatewayTimeouts;
  args.insert(args.end(), {"--late-reply-window-ms", "1000"});
  return args;
}

// Polls ORDER_STATUS until the order leaves UNKNOWN/PENDING; returns the last reply.
std::optional<Json> PollResolved(World& w, const std::string& uuid, Ms budget) {
  ReqClient c(w.ctx, w.gw_endpoint);
  std::optional<Json> last;
  const auto deadline = std::chrono::steady_clock::now() + budget;
  while (std::chrono::steady_clock::now() < deadline) {
    last = c.CallJson(StatusBody(uuid), Ms(3000));
    if (last) {
      const std::string s = last->S("status");
      if (s == "FILLED" || s == "REJECTED") return last;
    }
    std::this_thread::sleep_for(Ms(100));
  }
  return last;
}

// Polls ORDER_STATUS of `uuid` until it is resolved; REQUIREs FILLED and one execution at the
// bridge, with the ticket the bridge journaled. Returns that ticket.
std::optional<int64_t> RequireResolvedFilled(World& w, const std::string& uuid) {
  auto resolved = PollResolved(w, uuid, Ms(10000));
  REQUIRE(resolved);
  INFO("ORDER_STATUS: " << resolved->raw());
  REQUIRE(resolved->S("status") == "FILLED");
  const Journal j = RequireAtMostOnce(w);
  REQUIRE(j.Count(uuid) == 1);
  CHECK(resolved->Int("ticket") == j.Ticket(uuid));
  return j.Ticket(uuid);
}

// A resend of a resolved order gets the recorded FILLED with `ticket`, and executes nothing.
void CheckResendFilled(World& w, ReqClient& c, const std::string& uuid,
                       std::optional<int64_t> ticket) {
  auto after = c.CallJson(OpenBody(uuid));
  REQUIRE(after);
  INFO("resend after resolution: " << after->raw());
  CHECK(after->S("status") == "FILLED");
  CHECK(after->Int("ticket") == ticket);
  CHECK(after->Bool("duplicate") == true);
  CHECK(RequireAtMostOnce(w).Count(uuid) == 1);
}

}  // namespace

TEST_CASE(
    "An order the bridge never answers is UNKNOWN with BRIDGE_TIMEOUT, is never resent, and "
    "ORDER_STATUS at the bridge resolves it to FILLED",
    "[e2e]") {
  World w;
  w.StartSim({"--fault-no-reply", "1", "--signature-ttl-ms", "300"});
  w.StartGatewayLinked(ShortTimeoutsAndLateReplyWindow());
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("noreply");
  auto first = c.CallJson(OpenBody(uuid), Ms(5000));
  REQUIRE(first);
  INFO("first reply: " << first->raw());
  REQUIRE(first->S("status") == "UNKNOWN");
  CHECK(first->S("error_code") == "BRIDGE_TIMEOUT");
  CHECK(first->S("uuid") == uuid);
  CHECK(first->Bool("duplicate") == false);
  CheckGatewayFields(*first);

  // A resend is never sent to the bridge again: it gets UNKNOWN (or, if the gateway already asked
  // the bridge, the resolved outcome).
  auto again = c.CallJson(OpenBody(uuid), Ms(5000));
  REQUIRE(again);
  INFO("resend reply: " << again->raw());
  const std::string again_status = again->S("status");
  CHECK((again_status == "UNKNOWN" || again_status == "FILLED"));
  if (again_status == "UNKNOWN") CHECK(again->S("error_code") == "BRIDGE_TIMEOUT");
  CHECK(again->Bool("duplicate") == true);
  {
    const Journal j = RequireAtMostOnce(w);
    CHECK(j.Count(uuid) <= 1);
  }

  CheckResendFilled(w, c, uuid, RequireResolvedFilled(w, uuid));
}

TEST_CASE("A bridge reply that arrives after bridge_timeout_ms turns UNKNOWN into FILLED",
          "[e2e]") {
  World w;
  // --no-order-status: the late reply itself must resolve the order.
  w.StartSim({"--fault-late", "1", "--fault-late-ms", "800", "--signature-ttl-ms", "300",
              "--no-order-status"});
  w.StartGatewayLinked(kShortGatewayTimeouts);
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("late");
  auto first = c.CallJson(OpenBody(uuid), Ms(5000));
  REQUIRE(first);
  INFO("first reply: " << first->raw());
  REQUIRE(first->S("status") == "UNKNOWN");
  CHECK(first->S("error_code") == "BRIDGE_TIMEOUT");

  CheckResendFilled(w, c, uuid, RequireResolvedFilled(w, uuid));
}

TEST_CASE(
    "With no bridge running an OPEN is REJECTED as BRIDGE_DOWN and not recorded, so the same "
    "uuid is FILLED once the bridge is up",
    "[e2e]") {
  World w;
  const std::string bridge = "tcp://127.0.0.1:" + std::to_string(FreePort());
  w.StartGateway({}, bridge);
  REQUIRE(w.WaitBridge("down"));
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("down");
  auto refused = c.CallJson(OpenBody(uuid));
  REQUIRE(refused);
  INFO("reply with the bridge down: " << refused->raw());
  CHECK(refused->S("status") == "REJECTED");
  CHECK(refused->S("error_code") == "BRIDGE_DOWN");
  CHECK(refused->S("uuid") == uuid);

  auto status = c.CallJson(StatusBody(uuid));
  REQUIRE(status);
  INFO("ORDER_STATUS: " << status->raw());
  CHECK(status->S("status") == "error");
  CHECK(status->S("error_code") == "NOT_FOUND");

  // /readyz may or may not count the bridge; /healthz is about the process.
  CHECK(HttpGet(w.metrics_port, "/healthz").first == 200);

  w.StartSim({}, bridge);
  REQUIRE(w.WaitBridge("up", Ms(20000)));
  auto filled = c.CallJson(OpenBody(uuid));
  REQUIRE(filled);
  INFO("reply with the bridge up: " << filled->raw());
  CHECK(filled->S("status") == "FILLED");
  CHECK(filled->Bool("duplicate") == false);

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
  CHECK(j.Ticket(uuid) == filled->Int("ticket"));
}

TEST_CASE(
    "An order held at a frozen bridge past its signature TTL is UNKNOWN, then never executed: "
    "the bridge rejects it as expired and ordergate records REJECTED",
    "[e2e]") {
  World w;
  w.StartSim({"--signature-ttl-ms", "300"});
  w.StartGatewayLinked(ShortTimeoutsAndLateReplyWindow());
  ReqClient c(w.ctx, w.gw_endpoint);

  // Freeze the bridge (its ZeroMQ threads too): the connection stays up, the OPEN waits in its
  // socket buffer. Thaw it after the TTL but before the link's heartbeat gives up (3 s).
  REQUIRE(w.sim->Signal(SIGSTOP));
  const std::string uuid = UniqueId("frozen");
  const auto sent = std::chrono::steady_clock::now();
  auto first = c.CallJson(OpenBody(uuid), Ms(5000));
  REQUIRE(first);
  CheckReply(*first, "reply while the bridge is frozen",
             {.status = "UNKNOWN", .error_code = "BRIDGE_TIMEOUT"});
  std::this_thread::sleep_until(sent + Ms(1200));
  REQUIRE(w.sim->Signal(SIGCONT));

  auto resolved = PollResolved(w, uuid, Ms(10000));
  REQUIRE(resolved);
  INFO("ORDER_STATUS after the thaw: " << resolved->raw());
  CHECK(resolved->S("status") == "REJECTED");

  auto again = c.CallJson(OpenBody(uuid));
  REQUIRE(again);
  CheckReply(*again, "resend", {.status = "REJECTED", .duplicate = true});

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 0);
}

TEST_CASE(
    "A bridge that crashes right after executing an order leaves it UNKNOWN, and once the "
    "bridge is back ORDER_STATUS resolves it to FILLED without a second execution",
    "[e2e]") {
  World w;
  const std::string bridge = "tcp://127.0.0.1:" + std::to_string(FreePort());
  w.StartSim({"--fault-crash", "1", "--signature-ttl-ms", "300"}, bridge);
  w.StartGatewayLinked(ShortTimeoutsAndLateReplyWindow());
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("bridgecrash");
  auto first = c.CallJson(OpenBody(uuid), Ms(5000));
  REQUIRE(first);
  CheckReply(*first, "reply after the bridge crashed",
             {.status = "UNKNOWN", .error_code = "BRIDGE_TIMEOUT"});
  auto st = w.sim->Wait(Ms(5000));
  REQUIRE(st.has_value());
  CHECK(Process::Decode(*st) == 3);  // --fault-crash: _exit(3) after journaling
  REQUIRE(RequireAtMostOnce(w).Count(uuid) == 1);

  // A resend while the bridge is gone is never sent anywhere.
  auto again = c.CallJson(OpenBody(uuid), Ms(5000));
  REQUIRE(again);
  INFO("resend while the bridge is down: " << again->raw());
  CHECK(again->S("status") == "UNKNOWN");

  // The same bridge comes back (same port, same journal, no faults).
  w.StartSim({"--signature-ttl-ms", "300"}, bridge);
  REQUIRE(w.WaitBridge("up", Ms(20000)));
  RequireResolvedFilled(w, uuid);
}

TEST_CASE(
    "GET_ACCOUNT relayed to a bridge that does not answer gets error BRIDGE_TIMEOUT by the "
    "request's own deadline",
    "[e2e]") {
  World w;
  w.Start();
  ReqClient c(w.ctx, w.gw_endpoint);
  REQUIRE(w.sim->Signal(SIGSTOP));
  const std::string uuid = UniqueId("acct");
  auto r =
      c.CallJson(R"({"action":"GET_ACCOUNT","uuid":")" + uuid + R"(","timeout_ms":400})", Ms(5000));
  REQUIRE(w.sim->Signal(SIGCONT));
  REQUIRE(r);
  INFO("reply: " << r->raw());
  CHECK(r->S("status") == "error");
  CHECK(r->S("error_code") == "BRIDGE_TIMEOUT");
  CHECK(r->S("uuid") == uuid);
  // The gateway and the bridge both still serve.
  auto ok = c.CallJson(R"({"action":"GET_ACCOUNT","uuid":")" + UniqueId("acct") + R"("})");
  REQUIRE(ok);
  CHECK(ok->S("status") == "ok");
  CHECK(RequireAtMostOnce(w).entries.empty());
}

TEST_CASE(
    "A gateway frozen (SIGSTOP) past its deadlines while the bridge answered still ends with "
    "the bridge's outcome and one execution",
    "[e2e]") {
  World w;
  w.StartSim({"--latency", "fixed:100", "--signature-ttl-ms", "300"});
  w.StartGatewayLinked(ShortTimeoutsAndLateReplyWindow());
  DealerClient d(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("frozen-gw");
  d.Send(OpenBody(uuid, 0.1, R"("timeout_ms":3000)"));
  std::this_thread::sleep_for(Ms(30));  // sent to the bridge, reply not back yet
  REQUIRE(w.gw->Signal(SIGSTOP));
  std::this_thread::sleep_for(Ms(1200));  // past bridge_timeout_ms and the signature TTL
  REQUIRE(w.gw->Signal(SIGCONT));

  auto r = d.RecvJson(Ms(8000));
  REQUIRE(r);
  INFO("reply after the thaw: " << r->raw());
  const std::string s = r->S("status");
  CHECK((s == "FILLED" || s == "UNKNOWN" || s == "PENDING"));

  auto resolved = PollResolved(w, uuid, Ms(10000));
  REQUIRE(resolved);
  INFO("ORDER_STATUS: " << resolved->raw());
  const Journal j = RequireAtMostOnce(w);
  if (j.Count(uuid) == 1) {
    CHECK(resolved->S("status") == "FILLED");
    CHECK(resolved->Int("ticket") == j.Ticket(uuid));
  } else {
    CHECK(resolved->S("status") == "REJECTED");
  }
  if (s == "FILLED") CHECK(r->Int("ticket") == j.Ticket(uuid));
}

// The order's own late reply may still come while the gateway asks ORDER_STATUS; the gateway must
// not wait the whole late-reply window (10 minutes by default) before asking.
TEST_CASE(
    "With the default late reply window, a lost bridge reply is resolved by ORDER_STATUS "
    "within seconds",
    "[e2e]") {
  World w;
  w.StartSim({"--fault-no-reply", "1", "--signature-ttl-ms", "300"});
  w.StartGatewayLinked(kShortGatewayTimeouts);
  ReqClient c(w.ctx, w.gw_endpoint);
  const std::string uuid = UniqueId("lostreply");
  auto first = c.CallJson(OpenBody(uuid), Ms(5000));
  REQUIRE(first);
  REQUIRE(first->S("status") == "UNKNOWN");
  auto resolved = PollResolved(w, uuid, Ms(10000));
  REQUIRE(resolved);
  INFO("ORDER_STATUS after 10 s: " << resolved->raw());
  CHECK(resolved->S("status") == "FILLED");
  CHECK(RequireAtMostOnce(w).Count(uuid) == 1);
}
