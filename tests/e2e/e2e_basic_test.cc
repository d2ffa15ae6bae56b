// End to end, happy paths and refusals: an MT5-CRS-style strategy through ordergate to the bridge
// simulator; retries and conflicts of one uuid; bridge rejections; bad input; configuration.
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

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

// A refusal from the bridge is recorded: the OPEN of `uuid` is REJECTED with `code`, and its resend
// gets the same reply with duplicate:true. Returns the first reply.
Json CheckRecordedRejection(ReqClient& c, const std::string& uuid, const std::string& code) {
  auto first = c.CallJson(OpenBody(uuid));
  REQUIRE(first);
  CheckReply(*first, "first reply", {.status = "REJECTED", .error_code = code, .duplicate = false});
  auto again = c.CallJson(OpenBody(uuid));
  REQUIRE(again);
  CheckReply(*again, "resend reply", {.status = "REJECTED", .error_code = code, .duplicate = true});
  return *first;
}

}  // namespace

TEST_CASE(
    "A REQ strategy written for the MT5-CRS bridge gets PING, account, positions, an OPEN "
    "filled and a CLOSE filled through ordergate",
    "[e2e]") {
  World w;
  w.Start();
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

  auto close_again = c.CallJson(CloseBody(close_uuid, ticket));
  REQUIRE(close_again);
  INFO("CLOSE resent: " << close_again->raw());
  CHECK(close_again->S("status") == "FILLED");
  CHECK(close_again->Int("ticket") == ticket);
  CHECK(close_again->Bool("duplicate") == true);

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
  CHECK(MetricValue(metrics.second, "ordergate_orders_total{outcome=\"filled\"}") >= 1);
  CHECK(MetricValue(metrics.second, "ordergate_bridge_up") == 1);

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
  CHECK(j.Ticket(uuid) == ticket);
  CHECK(j.Count(close_uuid) == 1);
}

TEST_CASE(
    "Sending the same uuid again after it was FILLED returns the stored outcome with "
    "duplicate:true and executes nothing",
    "[e2e]") {
  World w;
  w.Start();
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

TEST_CASE(
    "Copies of an order sent while it is in flight join it or get PENDING at their own "
    "deadline, and it executes once",
    "[e2e]") {
  World w;
  w.Start({"--latency", "fixed:600"});
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

  std::this_thread::sleep_for(Ms(800));
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

TEST_CASE(
    "The same uuid with different order fields is REJECTED as IDEMPOTENCY_CONFLICT and "
    "leaves the original record untouched",
    "[e2e]") {
  World w;
  w.Start();
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

TEST_CASE(
    "A bridge refusal is recorded: the resend gets the same REJECTED reply with "
    "duplicate:true",
    "[e2e]") {
  World w;
  w.Start({"--fault-reject", "1"});
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("reject");
  CheckGatewayFields(CheckRecordedRejection(c, uuid, "MT5_ORDER_FAILED"));

  auto status = c.CallJson(StatusBody(uuid));
  REQUIRE(status);
  CheckReply(*status, "ORDER_STATUS reply",
             {.status = "REJECTED", .error_code = "MT5_ORDER_FAILED"});

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 0);
}

TEST_CASE("A FILLED bridge reply without a ticket is REJECTED as BRIDGE_NO_TICKET and recorded",
          "[e2e]") {
  World w;
  w.Start({"--fault-no-ticket", "1"});
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("noticket");
  CheckRecordedRejection(c, uuid, "BRIDGE_NO_TICKET");

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 0);
}

TEST_CASE(
    "Bad requests get the documented error codes, nothing reaches the bridge, and the "
    "gateway keeps serving",
    "[e2e]") {
  World w;
  w.Start();
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string reuse = UniqueId("fixme");
  struct Case {
    std::string name, body, status, code;
  };
  const std::string pad(20 * 1024, 'x');
  const std::vector<Case> cases = {
      {"malformed JSON", R"({"action":"OPEN","uuid":)", "error", "INVALID_JSON"},
      {"empty body", "", "error", "INVALID_JSON"},
      {"invalid UTF-8",
       "{\"action\":\"OPEN\",\"uuid\":\"u8\",\"symbol\":\"EUR\xff\xfe\",\"type\":\"BUY\","
       "\"volume\":0.1}",
       "error", "INVALID_JSON"},
      {"missing action", R"({"uuid":"abc","symbol":"EURUSD"})", "error", "MISSING_ACTION"},
      {"unknown action", R"({"action":"TELEPORT","uuid":"abc"})", "error", "UNKNOWN_ACTION"},
      {"OPEN without uuid", R"({"action":"OPEN","symbol":"EURUSD","type":"BUY","volume":0.1})",
       "REJECTED", "MISSING_UUID"},
      {"OPEN with a bad uuid", OpenBody("has space"), "REJECTED", "INVALID_UUID"},
      {"oversize body (20 KB)", OpenBody(UniqueId("big"), 0.1, R"("pad":")" + pad + R"(")"),
       "error", "OVERSIZE"},
      {"NaN volume as a string",
       R"({"action":"OPEN","uuid":")" + reuse +
           R"(","symbol":"EURUSD","type":"BUY","volume":"NaN"})",
       "REJECTED", "INVALID_VOLUME"},
      {"zero volume", OpenBody(reuse, 0.0), "REJECTED", "INVALID_VOLUME"},
      {"volume over max_volume", OpenBody(reuse, 5000.0), "REJECTED", "INVALID_VOLUME"},
      {"uuid of 65 characters", OpenBody(std::string(65, 'u')), "REJECTED", "INVALID_UUID"},
      {"missing symbol", R"({"action":"OPEN","uuid":")" + reuse + R"(","type":"BUY","volume":0.1})",
       "REJECTED", "MISSING_SYMBOL"},
      {"missing type",
       R"({"action":"OPEN","uuid":")" + reuse + R"(","symbol":"EURUSD","volume":0.1})", "REJECTED",
       "MISSING_TYPE"},
      {"bad type",
       R"({"action":"OPEN","uuid":")" + reuse +
           R"(","symbol":"EURUSD","type":"HOLD","volume":0.1})",
       "REJECTED", "INVALID_TYPE"},
      {"magic of the wrong JSON type", OpenBody(reuse, 0.1, R"("magic":"abc")"), "REJECTED",
       "INVALID_FIELD"},
      {"CLOSE without ticket", R"({"action":"CLOSE","uuid":")" + reuse + R"("})", "REJECTED",
       "MISSING_TICKET"},
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

  // A frame over ZMQ_MAXMSGSIZE (1 MiB by default) only costs that peer its connection.
  {
    DealerClient hog(w.ctx, w.gw_endpoint);
    hog.Send(OpenBody(UniqueId("huge"), 0.1, R"("pad":")" + std::string(2 << 20, 'x') + R"(")"));
    std::this_thread::sleep_for(Ms(200));
  }
  auto still = c.CallJson(PingBody());
  REQUIRE(still);
  CHECK(still->S("status") == "ok");

  // Broken envelopes from a DEALER (no empty delimiter, extra frames) do not hurt the gateway.
  {
    DealerClient odd(w.ctx, w.gw_endpoint);
    odd.SendFrames({PingBody()});
    odd.SendFrames({"", PingBody(), "trailing"});
    odd.SendFrames({"x", "y", "", PingBody()});
    std::this_thread::sleep_for(Ms(200));
  }
  auto after_odd = c.CallJson(PingBody());
  REQUIRE(after_odd);
  CHECK(after_odd->S("status") == "ok");

  // Nothing was recorded for a refused request: the fixed order may reuse its uuid.
  auto fixed = c.CallJson(OpenBody(reuse, 0.1));
  REQUIRE(fixed);
  INFO("fixed order: " << fixed->raw());
  CHECK(fixed->S("status") == "FILLED");
  CHECK(fixed->Bool("duplicate") == false);

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(reuse) == 1);
  auto punctuated = c.CallJson(OpenBody("Az09._:-" + UniqueId("p")));
  REQUIRE(punctuated);
  INFO("uuid with every allowed punctuation: " << punctuated->raw());
  CHECK(punctuated->S("status") == "FILLED");
  auto longest = c.CallJson(OpenBody(std::string(64, 'L')));
  REQUIRE(longest);
  INFO("64-character uuid: " << longest->raw());
  CHECK(longest->S("status") == "FILLED");
  CHECK(RequireAtMostOnce(w).entries.size() == 3);
}

TEST_CASE(
    "ordergated refuses to start when bridge_timeout_ms does not exceed the signature TTL "
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
  CheckNeverReady(gw);
}

namespace {

// A strategy's own risk_signature, `seconds_ago` old, in the basic or the extended ISO form.
std::string Signature(const std::string& checksum, int seconds_ago, bool extended) {
  const auto now = std::chrono::system_clock::now() - std::chrono::seconds(seconds_ago);
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  const time_t secs = static_cast<time_t>(us / 1000000);
  tm t{};
  gmtime_r(&secs, &t);
  char buf[64];
  std::snprintf(
      buf, sizeof buf,
      extended ? "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ" : "%04d%02d%02dT%02d%02d%02d.%06dZ",
      t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
      static_cast<int>(us % 1000000));
  return "RISK_PASS:" + checksum + ":" + buf;
}

}  // namespace

TEST_CASE(
    "A strategy's own risk_signature is accepted in either timestamp form and refused when "
    "expired or too short, without reaching the bridge",
    "[e2e]") {
  World w;
  w.Start();
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string basic = UniqueId("sig-basic");
  const std::string extended = UniqueId("sig-ext");
  const std::string expired = UniqueId("sig-old");
  const std::string shorty = UniqueId("sig-short");
  auto with_sig = [](const std::string& sig) { return R"("risk_signature":")" + sig + R"(")"; };

  auto r1 = c.CallJson(OpenBody(basic, 0.1, with_sig(Signature("0123456789abcdef", 0, false))));
  REQUIRE(r1);
  INFO("basic form: " << r1->raw());
  CHECK(r1->S("status") == "FILLED");

  auto r2 = c.CallJson(OpenBody(extended, 0.1, with_sig(Signature("0123456789abcdef", 0, true))));
  REQUIRE(r2);
  INFO("extended form: " << r2->raw());
  CHECK(r2->S("status") == "FILLED");

  auto r3 =
      c.CallJson(OpenBody(expired, 0.1, with_sig(Signature("0123456789abcdef", 3600, false))));
  REQUIRE(r3);
  INFO("an hour old: " << r3->raw());
  CHECK(r3->S("status") == "REJECTED");

  auto r4 = c.CallJson(OpenBody(shorty, 0.1, with_sig(Signature("abc", 0, false))));
  REQUIRE(r4);
  INFO("3-character checksum: " << r4->raw());
  CHECK(r4->S("status") == "REJECTED");

  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(basic) == 1);
  CHECK(j.Count(extended) == 1);
  CHECK(j.Count(expired) == 0);
  CHECK(j.Count(shorty) == 0);
}

TEST_CASE(
    "A conflicting copy of an order in flight is REJECTED as IDEMPOTENCY_CONFLICT while the "
    "original still executes once",
    "[e2e]") {
  World w;
  w.Start({"--latency", "fixed:300"});
  DealerClient d(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("inflight-conflict");
  d.Send(OpenBody(uuid, 0.1, R"("timeout_ms":4000)"));
  d.Send(OpenBody(uuid, 0.3, R"("timeout_ms":4000)"));
  std::vector<Json> replies;
  for (int i = 0; i < 2; ++i) {
    auto r = d.RecvJson(Ms(8000));
    REQUIRE(r);
    replies.push_back(*r);
  }
  int conflicts = 0, filled = 0;
  for (const Json& r : replies) {
    INFO("reply: " << r.raw());
    CHECK(r.S("uuid") == uuid);
    if (r.S("error_code") == "IDEMPOTENCY_CONFLICT") {
      ++conflicts;
      CHECK(r.S("status") == "REJECTED");
    }
    if (r.S("status") == "FILLED") {
      ++filled;
      CHECK(r.Num("volume") == Approx(0.1));
    }
  }
  CHECK(conflicts == 1);
  CHECK(filled == 1);
  CHECK(RequireAtMostOnce(w).Count(uuid) == 1);
}

TEST_CASE(
    "A REQ strategy that sends no timeout_ms gets PENDING before client_timeout_ms when the "
    "bridge is slow, then the outcome",
    "[e2e]") {
  World w;
  w.Start({"--latency", "fixed:1200"}, {"--client-timeout-ms", "600"});
  ReqClient c(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("slowbridge");
  auto r = c.CallJson(OpenBody(uuid), Ms(3000));
  REQUIRE(r);
  INFO("reply: " << r->raw());
  CHECK(r->S("status") == "PENDING");
  CHECK(r->S("uuid") == uuid);
  CheckGatewayFields(*r);

  std::optional<Json> last;
  const auto deadline = std::chrono::steady_clock::now() + Ms(10000);
  while (std::chrono::steady_clock::now() < deadline) {
    last = c.CallJson(OpenBody(uuid), Ms(3000));
    if (last && last->S("status") != "PENDING") break;
  }
  REQUIRE(last);
  INFO("final: " << last->raw());
  CHECK(last->S("status") == "FILLED");
  CHECK(last->Bool("duplicate") == true);
  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
  CHECK(j.Ticket(uuid) == last->Int("ticket"));
}

TEST_CASE(
    "Beyond bridge_max_in_flight an order is REJECTED as GATEWAY_BUSY and not recorded, so the "
    "same uuid goes through later",
    "[e2e]") {
  World w;
  w.Start({"--latency", "fixed:400"}, {"--bridge-max-in-flight", "1"});
  DealerClient d(w.ctx, w.gw_endpoint);

  const std::string first = UniqueId("busy-first");
  const std::string second = UniqueId("busy-second");
  d.Send(OpenBody(first, 0.1, R"("timeout_ms":4000)"));
  {
    // Wait until the first order is in flight before sending the second.
    ReqClient c(w.ctx, w.gw_endpoint);
    auto s = c.CallJson(StatusBody(first));
    for (int i = 0; i < 100 && s && s->S("status") != "PENDING"; ++i) {
      std::this_thread::sleep_for(Ms(2));
      s = c.CallJson(StatusBody(first));
    }
    REQUIRE(s);
    REQUIRE(s->S("status") == "PENDING");
  }
  d.Send(OpenBody(second, 0.1, R"("timeout_ms":4000)"));
  std::map<std::string, Json> got;
  for (int i = 0; i < 2; ++i) {
    auto r = d.RecvJson(Ms(8000));
    REQUIRE(r);
    got.emplace(r->S("uuid"), *r);
  }
  REQUIRE(got.count(first) == 1);
  REQUIRE(got.count(second) == 1);
  INFO("first: " << got.at(first).raw() << "\nsecond: " << got.at(second).raw());
  CHECK(got.at(first).S("status") == "FILLED");
  CHECK(got.at(second).S("status") == "REJECTED");
  CHECK(got.at(second).S("error_code") == "GATEWAY_BUSY");

  d.Send(OpenBody(second, 0.1, R"("timeout_ms":4000)"));
  auto again = d.RecvJson(Ms(8000));
  REQUIRE(again);
  INFO("second, resent: " << again->raw());
  CHECK(again->S("status") == "FILLED");
  CHECK(again->Bool("duplicate") == false);
  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(first) == 1);
  CHECK(j.Count(second) == 1);
}

TEST_CASE("MT5_NOT_CONNECTED from the bridge is a recorded REJECTED, and nothing executes",
          "[e2e]") {
  World w;
  w.Start({"--mt5-disconnected"});
  ReqClient c(w.ctx, w.gw_endpoint);
  CheckRecordedRejection(c, UniqueId("mt5down"), "MT5_NOT_CONNECTED");
  CHECK(RequireAtMostOnce(w).entries.empty());
}

TEST_CASE(
    "Many clients racing the same uuids over separate connections get one execution and "
    "one ticket per uuid",
    "[e2e]") {
  World w;
  w.Start({"--latency", "uniform:1:30", "--workers", "2"});
  std::vector<std::string> uuids;
  for (int i = 0; i < 20; ++i) uuids.push_back(UniqueId("race"));

  constexpr int kClients = 6;
  std::vector<std::vector<std::string>> raw(kClients);
  {
    std::vector<std::jthread> clients;
    for (int k = 0; k < kClients; ++k) {
      clients.emplace_back([&, k] {
        DealerClient d(w.ctx, w.gw_endpoint);
        // Each client sends every uuid, in its own order, all at once.
        for (size_t i = 0; i < uuids.size(); ++i) {
          d.Send(OpenBody(uuids[(i + static_cast<size_t>(k) * 3) % uuids.size()], 0.1,
                          R"("timeout_ms":5000)"));
        }
        for (size_t i = 0; i < uuids.size(); ++i) {
          auto r = d.Recv(Ms(8000));
          if (!r) break;
          raw[static_cast<size_t>(k)].push_back(*r);
        }
      });
    }
  }
  std::map<std::string, std::set<int64_t>> tickets;
  std::map<std::string, int> originals;
  for (const auto& replies : raw) {
    CHECK(replies.size() == uuids.size());
    for (const auto& text : replies) {
      auto r = Json::Parse(text);
      REQUIRE(r);
      INFO("reply: " << text);
      REQUIRE(r->S("status") == "FILLED");
      tickets[r->S("uuid")].insert(r->Int("ticket").value_or(0));
      if (r->Bool("duplicate") == false) ++originals[r->S("uuid")];
    }
  }
  const Journal j = RequireAtMostOnce(w);
  for (const auto& u : uuids) {
    INFO("uuid " << u);
    CHECK(tickets[u].size() == 1);
    CHECK(originals[u] == 1);
    CHECK(j.Count(u) == 1);
    CHECK(j.Ticket(u) == *tickets[u].begin());
  }
}

TEST_CASE(
    "A GET_ACCOUNT or GET_POSITIONS reusing the uuid of an order in flight gets its own answer "
    "or a refusal, never the order's reply, and the order gets its own outcome",
    "[e2e]") {
  World w;
  w.Start({"--latency", "fixed:300"});
  DealerClient d(w.ctx, w.gw_endpoint);

  const std::string uuid = UniqueId("shared");
  d.Send(OpenBody(uuid, 0.1, R"("timeout_ms":4000)"));
  std::this_thread::sleep_for(Ms(20));
  d.Send(R"({"action":"GET_ACCOUNT","uuid":")" + uuid + R"(","timeout_ms":4000})");
  d.Send(R"({"action":"GET_POSITIONS","uuid":")" + uuid + R"(","timeout_ms":4000})");
  std::vector<Json> replies;
  for (int i = 0; i < 3; ++i) {
    auto r = d.RecvJson(Ms(8000));
    REQUIRE(r);
    replies.push_back(*r);
  }
  // ordergate may relay them (the bridge echoes the uuid) or refuse them while the order is in
  // flight (status "error"); what must not happen is a reply crossing over.
  int fills = 0, answered = 0, refused = 0;
  for (const Json& r : replies) {
    INFO("reply: " << r.raw());
    CHECK(r.S("uuid") == uuid);
    if (r.S("status") == "FILLED") {
      ++fills;
      CHECK(r.Int("ticket").value_or(0) > 0);
      CHECK_FALSE(r.Has("balance"));
      CHECK_FALSE(r.Has("positions"));
    } else if (r.Has("balance") || r.Has("positions")) {
      ++answered;
      CHECK(r.S("status") == "ok");
    } else {
      ++refused;
      CHECK(r.S("status") == "error");
      CHECK(r.Has("error_code"));
    }
  }
  CHECK(fills == 1);
  CHECK(answered + refused == 2);
  WARN("relays sharing an in-flight order's uuid: " << answered << " answered, " << refused
                                                    << " refused");

  // Once the order is done, the uuid is free for relays again.
  auto later = ReqClient(w.ctx, w.gw_endpoint)
                   .CallJson(R"({"action":"GET_ACCOUNT","uuid":")" + uuid + R"("})");
  REQUIRE(later);
  INFO("GET_ACCOUNT after the order: " << later->raw());
  CHECK(later->S("status") == "ok");
  CHECK(later->Has("balance"));

  auto status = ReqClient(w.ctx, w.gw_endpoint).CallJson(StatusBody(uuid));
  REQUIRE(status);
  INFO("ORDER_STATUS: " << status->raw());
  CHECK(status->S("status") == "FILLED");
  const Journal j = RequireAtMostOnce(w);
  CHECK(j.Count(uuid) == 1);
  CHECK(status->Int("ticket") == j.Ticket(uuid));
}

TEST_CASE("ordergated started from a TOML --config file uses its settings, and flags override it",
          "[e2e]") {
  World w;
  w.StartSim({});
  const std::string cfg = w.dir.File("ordergate.toml");
  {
    std::ofstream f(cfg);
    f << "listen = \"tcp://127.0.0.1:*\"\n"
      << "bridge = \"" << w.sim_endpoint << "\"\n"
      << "data_dir = \"" << w.data_dir() << "\"\n"
      << "durability = \"async\"\n"
      << "client_timeout_ms = 1500\n"
      << "metrics_listen = \"127.0.0.1:0\"\n"
      << "log_level = \"warn\"\n";
  }
  Process gw(BinDir() + "/ordergated", {"--config", cfg, "--client-timeout-ms", "1700"},
             w.dir.File("gw-config.stderr"));
  auto line = gw.WaitForLine("ordergated ready ", Ms(20000));
  INFO("stderr: " << gw.Stderr());
  REQUIRE(line.has_value());
  CHECK(line->find("durability=async") != std::string::npos);
  const size_t at = line->find("listen=");
  REQUIRE(at != std::string::npos);
  const std::string endpoint = line->substr(at + 7, line->find(' ', at) - at - 7);
  ReqClient c(w.ctx, endpoint);
  auto ping = c.CallJson(PingBody());
  REQUIRE(ping);
  INFO("PING: " << ping->raw());
  CHECK(ping->S("gateway.durability") == "async");
  CHECK(ping->Int("gateway.client_timeout_ms") == 1700);
  gw.Signal(SIGTERM);
  auto st = gw.Wait(Ms(15000));
  REQUIRE(st.has_value());
  CHECK(Process::Decode(*st) == 0);
  CHECK(RequireAtMostOnce(w).entries.empty());
}

TEST_CASE(
    "A Python strategy written for the MT5-CRS bridge gets FILLED through ordergate with only its "
    "endpoint changed, and its socket-rebuilding retries never execute twice",
    "[e2e]") {
  if (!HavePythonZmq()) {
    WARN("python3-zmq is not installed: scripts/install-deps.sh installs it");
    SUCCEED();
    return;
  }
  World w;
  w.Start({"--latency", "lognormal:1:10"}, {});
  const std::string prefix = UniqueId("mt5crs");
  Process strategy(
      "/usr/bin/python3",
      {std::string(ORDERGATE_E2E_CLIENTS_DIR) + "/mt5crs_strategy.py", w.gw_endpoint, prefix, "20"},
      w.dir.File("strategy.err"));
  const auto line = strategy.WaitForLine("{", Ms(60000));
  const auto status = strategy.Wait(Ms(10000));
  INFO("strategy stderr: " << strategy.Stderr());
  REQUIRE(status);
  CHECK(Process::Decode(*status) == 0);
  REQUIRE(line);
  auto summary = Json::Parse(*line);
  REQUIRE(summary);
  CHECK(summary->Int("filled") == 20);
  CHECK(summary->Int("resent_same_ticket") == 20);
  const Journal j = RequireAtMostOnce(w);
  for (int i = 0; i < 20; ++i) CHECK(j.Count(prefix + "-" + std::to_string(i)) == 1);
}
