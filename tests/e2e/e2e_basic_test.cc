// End to end, happy paths and refusals: an MT5-CRS-style strategy through ordergate to the bridge
// simulator; retries and conflicts of one uuid; bridge rejections; bad input; a misaligned
// configuration.
#include <signal.h>

#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;

namespace {

bool PositionsContain(const Json& r, int64_t ticket) {
  auto e = r.Get("positions");
  if (!e) return false;
  simdjson::dom::array arr;
  if (e->get_array().get(arr) != simdjson::SUCCESS) return false;
  for (simdjson::dom::element p : arr) {
    simdjson::dom::object o;
    if (p.get_object().get(o) != simdjson::SUCCESS) continue;
    simdjson::dom::element te;
    if (o.at_key("ticket").get(te) != simdjson::SUCCESS) continue;
    int64_t t = 0;
    if (te.get_int64().get(t) == simdjson::SUCCESS && t == ticket) return true;
  }
  return false;
}

// Takes "name value" off a Prometheus text body; -1 if absent.
double MetricValue(const std::string& body, const std::string& name) {
  size_t pos = 0;
  while ((pos = body.find(name, pos)) != std::string::npos) {
    const bool line_start = pos == 0 || body[pos - 1] == '\n';
    const size_t after = pos + name.size();
    if (line_start && after < body.size() && (body[after] == ' ' || body[after] == '{')) {
      const size_t sp = body.find(' ', after);
      if (sp != std::string::npos) return std::atof(body.c_str() + sp + 1);
    }
    pos = after;
  }
  return -1;
}

}  // namespace

TEST_CASE("A REQ strategy written for the MT5-CRS bridge gets PING, account, positions, an OPEN "
          "filled and a CLOSE filled through ordergate",
          "[e2e]") {
  World w;
  w.StartSim({});
  w.StartGateway({});
  REQUIRE(w.WaitBridge("up"));
  ReqClient c(w.ctx, w.gw_endpoint);

  // PING is answered by ordergate itself, with its own view of the bridge.
  auto ping = c.CallJson(PingBody());
  REQUIRE(ping);
  INFO("PING reply: " << ping->raw());
  CHECK(ping->S("status") == "ok");
  CHECK(ping->S("gateway.bridge") == "up");
  CHECK(ping->S("gateway.durability") == "sync");
  CHECK(ping->Has("gateway.version"));
  CHECK(ping->Int("gateway.client_timeout_ms") == 2000);
  CHECK(ping->Int("gateway.bridge_timeout_ms") == 6000);

  // OPEN, exactly as an MT5-CRS strategy writes it.
  const std::string uuid = UniqueId("open");
  auto open = c.CallJson(R"({"action":"OPEN","uuid":")" + uuid +
                         R"(","symbol":"EURUSD","type":"BUY","volume":0.1})");
  REQUIRE(open);
  INFO("OPEN reply: " << open->raw());
  REQUIRE(open->S("status") == "FILLED");
  CHECK(open->S("uuid") == uuid);
  CHECK(open->S("symbol") == "EURUSD");
  CHECK(open->Num("volume") == Approx(0.1));
  REQUIRE(open->Int("ticket").has_value());
  const int64_t ticket = *open->Int("ticket");
  CHECK(ticket > 0);
  CHECK(open->Bool("duplicate") == false);
  CheckGatewayFields(*open);

  // GET_ACCOUNT and GET_POSITIONS are relayed to the bridge.
  auto account = c.CallJson(R"({"action":"GET_ACCOUNT","uuid":")" + UniqueId("acct") + R"("})");
  REQUIRE(account);
  INFO("GET_ACCOUNT reply: " << account->raw());
  CHECK(account->S("status") == "ok");
  CHECK(account->Num("balance").has_value());
  CHECK(account->Num("equity").has_value());
  CHECK(account->Str("currency").has_value());

  auto positions = c.CallJson(R"({"action":"GET_POSITIONS","uuid":")" + UniqueId("pos") + R"("})");
  REQUIRE(positions);
  INFO("GET_POSITIONS reply: " << positions->raw());
  CHECK(positions->S("status") == "ok");
  CHECK(PositionsContain(*positions, ticket));

  // CLOSE of that ticket, under its own uuid.
  const std::string close_uuid = UniqueId("close");
  auto close = c.CallJson(CloseBody(close_uuid, ticket));
  REQUIRE(close);
  INFO("CLOSE reply: " << close->raw());
  CHECK(close->S("status") == "FILLED");
  CHECK(close->S("uuid") == close_uuid);
  CHECK(close->Int("ticket") == ticket);
  CHECK(close->Bool("duplicate") == false);
  CheckGatewayFields(*close);

  auto after = c.CallJson(R"({"action":"GET_POSITIONS","uuid":")" + UniqueId("pos") + R"("})");
  REQUIRE(after);
  CHECK(after->S("status") == "ok");
  CHECK_FALSE(PositionsContain(*after, ticket));

  // The action is case-insensitive, as at the bridge.
  auto lower = c.CallJson(R"({"action":"ping","uuid":")" + UniqueId("ping") + R"("})");
  REQUIRE(lower);
  CHECK(lower->S("status") == "ok");

  // Health and metrics over HTTP.
  REQUIRE(w.metrics_port > 0);
  CHECK(HttpGet(w.metrics_port, "/healthz").first == 200);
  CHECK(HttpGet(w.metrics_port, "/readyz").first == 200);
  const auto metrics = HttpGet(w.metrics_port, "/metrics");
  CHECK(metrics.first == 200);
  INFO("metrics:\n" << metrics.second);
  CHECK(MetricValue(metrics.second, "ordergate_orders_filled_total") >= 1);
  CHECK(MetricValue(metrics.second, "ordergate_bridge_up") == 1);

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
  CHECK(j.Ticket(uuid) == ticket);
  CHECK(j.Count(close_uuid) == 1);
}

TEST_CASE("Sending the same uuid again after it was FILLED returns the stored outcome with "
          "duplicate:true and executes nothing",
          "[e2e]") {
  World w;
  w.StartSim({});
  w.StartGateway({});
  REQUIRE(w.WaitBridge("up"));
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("retry");
  auto first = c.CallJson(OpenBody(uuid));
  REQUIRE(first);
  INFO("first reply: " << first->raw());
  REQUIRE(first->S("status") == "FILLED");
  CHECK(first->Bool("duplicate") == false);
  const auto ticket = first->Int("ticket");
  REQUIRE(ticket.has_value());

  for (int i = 0; i < 3; ++i) {
    auto again = c.CallJson(OpenBody(uuid));
    REQUIRE(again);
    INFO("resend reply: " << again->raw());
    CHECK(again->S("status") == "FILLED");
    CHECK(again->S("uuid") == uuid);
    CHECK(again->Int("ticket") == ticket);
    CHECK(again->Bool("duplicate") == true);
    CheckGatewayFields(*again);
  }
  // From a DEALER too: the key is the uuid, not the connection.
  DealerClient d(w.ctx, w.gw_endpoint);
  d.Send(OpenBody(uuid));
  auto via_dealer = d.RecvJson(Ms(5000));
  REQUIRE(via_dealer);
  CHECK(via_dealer->S("status") == "FILLED");
  CHECK(via_dealer->Int("ticket") == ticket);
  CHECK(via_dealer->Bool("duplicate") == true);

  auto status = c.CallJson(StatusBody(uuid));
  REQUIRE(status);
  INFO("ORDER_STATUS reply: " << status->raw());
  CHECK(status->S("status") == "FILLED");
  CHECK(status->Int("ticket") == ticket);
  CheckGatewayFields(*status);

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
  CHECK(j.Ticket(uuid) == ticket);
}

TEST_CASE("Copies of an order sent while it is in flight join it or get PENDING at their own "
          "deadline, and it executes once",
          "[e2e]") {
  World w;
  w.StartSim({"--latency", "fixed:300"});
  w.StartGateway({});
  REQUIRE(w.WaitBridge("up"));
  DealerClient d(w.ctx, w.gw_endpoint);

  // Three copies back to back, each with a deadline well past the bridge's latency.
  const std::string joined = UniqueId("joined");
  for (int i = 0; i < 3; ++i) d.Send(OpenBody(joined, 0.1, R"("timeout_ms":4000)"));
  std::vector<Json> replies;
  for (int i = 0; i < 3; ++i) {
    auto r = d.RecvJson(Ms(8000));
    REQUIRE(r);
    replies.push_back(*r);
  }
  int originals = 0;
  std::optional<int64_t> ticket;
  for (const Json& r : replies) {
    INFO("reply: " << r.raw());
    CHECK(r.S("uuid") == joined);
    REQUIRE(r.S("status") == "FILLED");
    if (!ticket) ticket = r.Int("ticket");
    CHECK(r.Int("ticket") == ticket);
    if (r.Bool("duplicate") == false) ++originals;
    CheckGatewayFields(r);
  }
  CHECK(originals == 1);

  // A copy whose own deadline comes before the bridge's reply gets PENDING, then the outcome.
  const std::string slow = UniqueId("pending");
  d.Send(OpenBody(slow, 0.1, R"("timeout_ms":150)"));
  d.Send(OpenBody(slow, 0.1, R"("timeout_ms":150)"));
  for (int i = 0; i < 2; ++i) {
    auto p = d.RecvJson(Ms(5000));
    REQUIRE(p);
    INFO("short-deadline reply: " << p->raw());
    CHECK(p->S("uuid") == slow);
    CHECK(p->S("status") == "PENDING");
    CheckGatewayFields(*p);
  }
  auto in_flight = ReqClient(w.ctx, w.gw_endpoint).CallJson(StatusBody(slow));
  REQUIRE(in_flight);
  INFO("ORDER_STATUS while in flight: " << in_flight->raw());
  CHECK((in_flight->S("status") == "PENDING" || in_flight->S("status") == "FILLED"));

  std::this_thread::sleep_for(Ms(600));
  d.Send(OpenBody(slow, 0.1, R"("timeout_ms":4000)"));
  auto done = d.RecvJson(Ms(8000));
  REQUIRE(done);
  INFO("retry reply: " << done->raw());
  CHECK(done->S("status") == "FILLED");
  CHECK(done->Bool("duplicate") == true);
  CHECK(done->Int("ticket").value_or(0) > 0);

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(joined) == 1);
  CHECK(j.Ticket(joined) == ticket);
  CHECK(j.Count(slow) == 1);
  CHECK(j.Ticket(slow) == done->Int("ticket"));
}

TEST_CASE("The same uuid with different order fields is REJECTED as IDEMPOTENCY_CONFLICT and "
          "leaves the original record untouched",
          "[e2e]") {
  World w;
  w.StartSim({});
  w.StartGateway({});
  REQUIRE(w.WaitBridge("up"));
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("conflict");
  auto first = c.CallJson(OpenBody(uuid, 0.1));
  REQUIRE(first);
  REQUIRE(first->S("status") == "FILLED");
  const auto ticket = first->Int("ticket");

  auto conflict = c.CallJson(OpenBody(uuid, 0.2));
  REQUIRE(conflict);
  INFO("conflicting reply: " << conflict->raw());
  CHECK(conflict->S("status") == "REJECTED");
  CHECK(conflict->S("error_code") == "IDEMPOTENCY_CONFLICT");
  CHECK(conflict->S("uuid") == uuid);

  auto other_symbol = c.CallJson(R"({"action":"OPEN","uuid":")" + uuid +
                                 R"(","symbol":"GBPUSD","type":"BUY","volume":0.1})");
  REQUIRE(other_symbol);
  CHECK(other_symbol->S("error_code") == "IDEMPOTENCY_CONFLICT");

  auto original = c.CallJson(OpenBody(uuid, 0.1));
  REQUIRE(original);
  INFO("original resent: " << original->raw());
  CHECK(original->S("status") == "FILLED");
  CHECK(original->Int("ticket") == ticket);
  CHECK(original->Bool("duplicate") == true);

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
}

TEST_CASE("A bridge refusal is recorded: the resend gets the same REJECTED reply with "
          "duplicate:true",
          "[e2e]") {
  World w;
  w.StartSim({"--fault-reject", "1"});
  w.StartGateway({});
  REQUIRE(w.WaitBridge("up"));
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("reject");
  auto first = c.CallJson(OpenBody(uuid));
  REQUIRE(first);
  INFO("first reply: " << first->raw());
  CHECK(first->S("status") == "REJECTED");
  CHECK(first->S("error_code") == "MT5_ORDER_FAILED");
  CHECK(first->Bool("duplicate") == false);
  CheckGatewayFields(*first);

  auto again = c.CallJson(OpenBody(uuid));
  REQUIRE(again);
  INFO("resend reply: " << again->raw());
  CHECK(again->S("status") == "REJECTED");
  CHECK(again->S("error_code") == "MT5_ORDER_FAILED");
  CHECK(again->Bool("duplicate") == true);

  auto status = c.CallJson(StatusBody(uuid));
  REQUIRE(status);
  CHECK(status->S("status") == "REJECTED");
  CHECK(status->S("error_code") == "MT5_ORDER_FAILED");

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 0);
}

TEST_CASE("A FILLED bridge reply without a ticket is REJECTED as BRIDGE_NO_TICKET and recorded",
          "[e2e]") {
  World w;
  w.StartSim({"--fault-no-ticket", "1"});
  w.StartGateway({});
  REQUIRE(w.WaitBridge("up"));
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("noticket");
  auto first = c.CallJson(OpenBody(uuid));
  REQUIRE(first);
  INFO("first reply: " << first->raw());
  CHECK(first->S("status") == "REJECTED");
  CHECK(first->S("error_code") == "BRIDGE_NO_TICKET");
  CHECK(first->Bool("duplicate") == false);

  auto again = c.CallJson(OpenBody(uuid));
  REQUIRE(again);
  INFO("resend reply: " << again->raw());
  CHECK(again->S("status") == "REJECTED");
  CHECK(again->S("error_code") == "BRIDGE_NO_TICKET");
  CHECK(again->Bool("duplicate") == true);

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 0);
}

TEST_CASE("Bad requests get the documented error codes, nothing reaches the bridge, and the "
          "gateway keeps serving",
          "[e2e]") {
  World w;
  w.StartSim({});
  w.StartGateway({});
  REQUIRE(w.WaitBridge("up"));
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string reuse = UniqueId("fixme");
  struct Case {
    std::string name, body, status, code;
  };
  const std::string pad(20 * 1024, 'x');
  const std::vector<Case> cases = {
      {"malformed JSON", R"({"action":"OPEN","uuid":)", "error", "INVALID_JSON"},
      {"missing action", R"({"uuid":"abc","symbol":"EURUSD"})", "error", "MISSING_ACTION"},
      {"unknown action", R"({"action":"TELEPORT","uuid":"abc"})", "error", "UNKNOWN_ACTION"},
      {"OPEN without uuid", R"({"action":"OPEN","symbol":"EURUSD","type":"BUY","volume":0.1})",
       "REJECTED", "MISSING_UUID"},
      {"OPEN with a bad uuid", OpenBody("has space"), "REJECTED", "INVALID_UUID"},
      {"oversize body (20 KB)", OpenBody(UniqueId("big"), 0.1, R"("pad":")" + pad + R"(")"), "error",
       "OVERSIZE"},
      {"NaN volume as a string",
       R"({"action":"OPEN","uuid":")" + reuse + R"(","symbol":"EURUSD","type":"BUY","volume":"NaN"})",
       "REJECTED", "INVALID_VOLUME"},
      {"zero volume", OpenBody(reuse, 0.0), "REJECTED", "INVALID_VOLUME"},
      {"ORDER_STATUS of an unknown uuid", StatusBody(UniqueId("never")), "error", "NOT_FOUND"},
  };
  for (const Case& k : cases) {
    INFO("case: " << k.name);
    auto r = c.CallJson(k.body);
    REQUIRE(r);
    INFO("reply: " << r->raw());
    CHECK(r->S("status") == k.status);
    CHECK(r->S("error_code") == k.code);
    auto ping = c.CallJson(PingBody());
    REQUIRE(ping);
    CHECK(ping->S("status") == "ok");
  }

  // Nothing was recorded for a refused request: the fixed order may reuse its uuid.
  auto fixed = c.CallJson(OpenBody(reuse, 0.1));
  REQUIRE(fixed);
  INFO("fixed order: " << fixed->raw());
  CHECK(fixed->S("status") == "FILLED");
  CHECK(fixed->Bool("duplicate") == false);

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.entries.size() == 1);
  CHECK(j.Count(reuse) == 1);
}

TEST_CASE("ordergated refuses to start when bridge_timeout_ms does not exceed the signature TTL "
          "plus the execution margin",
          "[e2e]") {
  TempDir dir;
  Process gw(BinDir() + "/ordergated",
             {"--listen", "tcp://127.0.0.1:*", "--bridge", "tcp://127.0.0.1:1", "--data-dir",
              dir.File("data"), "--metrics-listen", "127.0.0.1:0", "--bridge-timeout-ms", "5000"},
             dir.File("gw.stderr"));
  auto st = gw.Wait(Ms(15000));
  REQUIRE(st.has_value());
  INFO("stderr: " << gw.Stderr());
  CHECK(Process::Decode(*st) == 2);
  CHECK(gw.Stderr().find("bridge_timeout_ms") != std::string::npos);
  for (const auto& line : gw.StdoutLines()) CHECK(line.rfind("ordergated ready", 0) != 0);
}
