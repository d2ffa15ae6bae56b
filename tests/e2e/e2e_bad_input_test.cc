// End to end, bad input over a real socket: a real ordergated (and bridge simulator) fed malformed
// JSON, deep nesting, huge numbers, NaN/Infinity, wrong types, duplicated keys, bytes that are not
// UTF-8, broken frame sequences and oversize messages. Each gets the reply docs/protocol.md names
// (exact status and error code), or — for framing the contract cannot answer — is dropped and
// counted in ordergate_dropped_frames_total. After every bad message a well-formed order from
// another client, on a connection of its own, must still be FILLED; at the end the gateway is
// alive, nothing bad reached the bridge and no sanitizer reported anything.
//
// Complements e2e_basic_test.cc's refusal table (one of each documented code); here every class
// of hostile input is swept. The codec's unit tests pin the same rules in-process; these prove
// the gateway applies them on the wire and survives them.
#include <zmq.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;

namespace {

// One hostile body and the reply the contract gives it. `code` empty: a success reply (status
// only). `uuid` empty: the reply's uuid must be null (nothing readable, or not a valid id).
struct BadCase {
  std::string name;
  std::string body;
  std::string status;
  std::string code;
  std::string uuid = {};
};

// The good orders served between bad messages, for the final execution count.
struct Served {
  std::vector<std::string> uuids;
};

// A well-formed OPEN from a new client on its own connection must be FILLED.
void RequireOthersServed(World& w, Served* served, const std::string& after) {
  ReqClient good(w.ctx, w.gw_endpoint);
  const std::string uuid = UniqueId("good");
  auto r = good.CallJson(OpenBody(uuid));
  INFO("well-formed order after " << after);
  REQUIRE(r);
  INFO("its reply: " << r->raw());
  REQUIRE(r->S("status") == "FILLED");
  CHECK(r->S("uuid") == uuid);
  served->uuids.push_back(uuid);
}

// Checks one reply against the contract's answer for `k`.
void CheckBadReply(const BadCase& k, const Json& r) {
  INFO("case: " << k.name << "\nreply: " << r.raw());
  CHECK(r.S("status") == k.status);
  if (k.code.empty()) {
    CHECK_FALSE(r.Has("error_code"));
  } else {
    CHECK(r.S("error_code") == k.code);
    CHECK(r.Str("error_msg").has_value());
    CHECK(r.Str("timestamp").has_value());
  }
  if (k.uuid.empty()) {
    auto u = r.Get("uuid");
    REQUIRE(u.has_value());
    CHECK(u->is_null());
  } else {
    CHECK(r.S("uuid") == k.uuid);
  }
  // Order-field refusals are order replies: they carry the gateway's fields (protocol appendix).
  if (k.status == "REJECTED") {
    CHECK(r.Bool("duplicate") == false);
    CHECK(r.Int("gateway_us").value_or(-1) >= 0);
  }
}

// Sends every case as [empty][body] from one DEALER connection, checks each reply, and after each
// one requires a well-formed order from another connection to be FILLED.
void RunCases(World& w, const std::vector<BadCase>& cases, Served* served) {
  DealerClient bad(w.ctx, w.gw_endpoint);
  for (const BadCase& k : cases) {
    bad.Send(k.body);
    auto raw = bad.Recv(Ms(5000));
    INFO("case: " << k.name);
    REQUIRE(raw);
    auto r = Json::Parse(*raw);
    INFO("raw reply: " << *raw);
    REQUIRE(r);  // every reply is valid JSON, whatever came in
    CheckBadReply(k, *r);
    RequireOthersServed(w, served, k.name);
  }
}

// The invariants every test ends with: the gateway is alive, nothing but the good orders reached
// the bridge (each once), and no sanitizer finding in its stderr.
void RequireSurvived(World& w, const Served& served) {
  REQUIRE(w.gw);
  CHECK(w.gw->Running());
  const Journal j = RequireAtMostOnce(w);
  CHECK(j.entries.size() == served.uuids.size());
  for (const auto& u : served.uuids) CHECK(j.Count(u) == 1);
}

// Polls /metrics until `name` reaches `want` (the gateway counts on its own thread); its last
// value.
double WaitMetric(World& w, const std::string& name, double want, Ms timeout = Ms(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  double v = Metric(w, name);
  while (v < want && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(Ms(20));
    v = Metric(w, name);
  }
  return v;
}

std::string Open(const std::string& uuid, const std::string& fields) {
  return R"({"action":"OPEN","uuid":")" + uuid + R"(",)" + fields + "}";
}
constexpr const char* kOrderFields = R"("symbol":"EURUSD","type":"BUY","volume":0.1)";

std::string Nested(int levels, const std::string& open, const std::string& close) {
  std::string body = R"({"action":"PING","x":)";
  for (int i = 0; i < levels; ++i) body += open;
  body += "1";
  for (int i = 0; i < levels; ++i) body += close;
  return body + "}";
}

}  // namespace

TEST_CASE(
    "Malformed JSON, bodies that are not an object and NaN or Infinity literals get INVALID_JSON "
    "with status error while other clients' orders are still FILLED",
    "[e2e]") {
  World w;
  w.Start();
  Served served;
  const std::string u = UniqueId("bad");
  const std::vector<BadCase> cases = {
      {"truncated object", R"({"action":"OPEN","uuid":")" + u, "error", "INVALID_JSON"},
      {"missing closing brace", Open(u, kOrderFields).substr(0, 60), "error", "INVALID_JSON"},
      {"trailing garbage", R"({"action":"PING"}garbage)", "error", "INVALID_JSON"},
      {"two objects", R"({"action":"PING"}{"action":"PING"})", "error", "INVALID_JSON"},
      {"trailing comma", R"({"action":"PING",})", "error", "INVALID_JSON"},
      {"single quotes", R"({'action':'PING'})", "error", "INVALID_JSON"},
      {"unquoted key", R"({action:"PING"})", "error", "INVALID_JSON"},
      {"a comment", R"({"action":"PING" /* hi */})", "error", "INVALID_JSON"},
      {"an unescaped newline in a string", "{\"action\":\"PI\nNG\"}", "error", "INVALID_JSON"},
      {"a raw control character in the uuid",
       "{\"action\":\"OPEN\",\"uuid\":\"a\x01z\"," + std::string(kOrderFields) + "}", "error",
       "INVALID_JSON"},
      {"body is a JSON array", R"([{"action":"PING"}])", "error", "INVALID_JSON"},
      {"body is a JSON string", R"("PING")", "error", "INVALID_JSON"},
      {"body is a JSON number", "42", "error", "INVALID_JSON"},
      {"body is null", "null", "error", "INVALID_JSON"},
      {"body is true", "true", "error", "INVALID_JSON"},
      {"body is whitespace", " \r\n\t ", "error", "INVALID_JSON"},
      {"body of NUL bytes", std::string(8, '\0'), "error", "INVALID_JSON"},
      {"NaN volume", Open(u, R"("symbol":"EURUSD","type":"BUY","volume":NaN)"), "error",
       "INVALID_JSON"},
      {"nan volume", Open(u, R"("symbol":"EURUSD","type":"BUY","volume":nan)"), "error",
       "INVALID_JSON"},
      {"Infinity price", Open(u, std::string(kOrderFields) + R"(,"price":Infinity)"), "error",
       "INVALID_JSON"},
      {"-Infinity sl", Open(u, std::string(kOrderFields) + R"(,"sl":-Infinity)"), "error",
       "INVALID_JSON"},
      {"a hex number", Open(u, R"("symbol":"EURUSD","type":"BUY","volume":0x1)"), "error",
       "INVALID_JSON"},
      {"a leading plus", Open(u, R"("symbol":"EURUSD","type":"BUY","volume":+1)"), "error",
       "INVALID_JSON"},
      {"a leading zero", Open(u, R"("symbol":"EURUSD","type":"BUY","volume":01)"), "error",
       "INVALID_JSON"},
  };
  RunCases(w, cases, &served);
  // None of those recorded anything: the uuid is still free for a fixed order.
  ReqClient c(w.ctx, w.gw_endpoint);
  auto fixed = c.CallJson(Open(u, kOrderFields));
  REQUIRE(fixed);
  INFO("fixed order: " << fixed->raw());
  CHECK(fixed->S("status") == "FILLED");
  CHECK(fixed->Bool("duplicate") == false);
  served.uuids.push_back(u);
  RequireSurvived(w, served);
}

TEST_CASE(
    "Nesting 10000 levels deep, or just past the depth limit of 16, gets INVALID_JSON and the "
    "gateway keeps serving",
    "[e2e]") {
  World w;
  // 10000 nested objects take 50 KB: raise max_request_bytes so the parser, not the size check,
  // meets them. Within the default 16384 bytes, 8000 levels still fit.
  w.Start({}, {"--max-request-bytes", "65536"});
  Served served;
  const std::vector<BadCase> cases = {
      {"10000 nested arrays", Nested(10000, "[", "]"), "error", "INVALID_JSON"},
      {"10000 nested objects", Nested(10000, R"({"k":)", "}"), "error", "INVALID_JSON"},
      {"10000 unclosed arrays", R"({"action":"PING","x":)" + std::string(10000, '['), "error",
       "INVALID_JSON"},
      {"8000 nested arrays in an order",
       Open(UniqueId("deep"), std::string(kOrderFields) + R"(,"x":)" + std::string(8000, '[') +
                                  std::string(8000, ']')),
       "error", "INVALID_JSON"},
      // The root object is level 1: 15 more containers are 16 levels, 16 more are 17.
      {"16 levels", Nested(15, "[", "]"), "ok", ""},
      {"17 levels", Nested(16, "[", "]"), "error", "INVALID_JSON"},
  };
  RunCases(w, cases, &served);
  RequireSurvived(w, served);
}

TEST_CASE(
    "Numbers beyond double or uint64 range are INVALID_JSON, while -0, underflow and integers "
    "beyond int64 are the field's own error",
    "[e2e]") {
  World w;
  w.Start();
  Served served;
  const std::string u = UniqueId("num");
  const std::string c = UniqueId("numc");
  auto close = [&](const std::string& ticket) {
    return R"({"action":"CLOSE","uuid":")" + c + R"(","ticket":)" + ticket + "}";
  };
  auto volume = [&](const std::string& v) {
    return Open(u, R"("symbol":"EURUSD","type":"BUY","volume":)" + v);
  };
  const std::vector<BadCase> cases = {
      {"volume 1e400", volume("1e400"), "error", "INVALID_JSON"},
      {"volume -1e400", volume("-1e400"), "error", "INVALID_JSON"},
      {"price 1e400", Open(u, std::string(kOrderFields) + R"(,"price":1e400)"), "error",
       "INVALID_JSON"},
      {"ticket 2^64+1", close("18446744073709551617"), "error", "INVALID_JSON"},
      {"ticket of 400 digits", close("1" + std::string(400, '0')), "error", "INVALID_JSON"},
      {"magic 2^64+1", Open(u, std::string(kOrderFields) + R"(,"magic":18446744073709551617)"),
       "error", "INVALID_JSON"},
      {"ticket 2^64-1", close("18446744073709551615"), "REJECTED", "INVALID_FIELD", c},
      {"ticket 2^63", close("9223372036854775808"), "REJECTED", "INVALID_FIELD", c},
      {"ticket -0", close("-0"), "REJECTED", "INVALID_FIELD", c},
      {"ticket 1e3 (a double)", close("1e3"), "REJECTED", "INVALID_FIELD", c},
      {"magic 2^63", Open(u, std::string(kOrderFields) + R"(,"magic":9223372036854775808)"),
       "REJECTED", "INVALID_FIELD", u},
      {"volume -0", volume("-0"), "REJECTED", "INVALID_VOLUME", u},
      {"volume -0.0", volume("-0.0"), "REJECTED", "INVALID_VOLUME", u},
      {"volume 1e-400 (underflows to 0)", volume("1e-400"), "REJECTED", "INVALID_VOLUME", u},
      {"volume 1e308", volume("1e308"), "REJECTED", "INVALID_VOLUME", u},
      {"volume just over max_volume", volume("1000.0000000001"), "REJECTED", "INVALID_VOLUME", u},
      {"volume 2^64+1 as a double", volume("18446744073709551617.0"), "REJECTED", "INVALID_VOLUME",
       u},
      {"negative price", Open(u, std::string(kOrderFields) + R"(,"price":-1e-300)"), "REJECTED",
       "INVALID_PRICE", u},
      {"timeout_ms 2^63",
       Open(u, std::string(kOrderFields) + R"(,"timeout_ms":9223372036854775808)"), "REJECTED",
       "INVALID_FIELD", u},
  };
  RunCases(w, cases, &served);
  RequireSurvived(w, served);
}

TEST_CASE(
    "A duplicated member name is INVALID_JSON, at the top level or nested, and neither copy is "
    "acted on",
    "[e2e]") {
  World w;
  w.Start();
  Served served;
  const std::string u = UniqueId("dup");
  const std::string other = UniqueId("dup-other");
  const std::vector<BadCase> cases = {
      {"volume twice", Open(u, std::string(kOrderFields) + R"(,"volume":100)"), "error",
       "INVALID_JSON"},
      {"uuid twice", Open(u, std::string(kOrderFields) + R"(,"uuid":")" + other + "\""), "error",
       "INVALID_JSON"},
      {"action twice, OPEN then PING", Open(u, std::string(kOrderFields) + R"(,"action":"PING")"),
       "error", "INVALID_JSON"},
      {"action twice through an escape", R"({"action":"PING","\u0061ction":"OPEN"})", "error",
       "INVALID_JSON"},
      {"symbol twice, same value", Open(u, std::string(kOrderFields) + R"(,"symbol":"EURUSD")"),
       "error", "INVALID_JSON"},
      {"a nested object with a duplicated key",
       Open(u, std::string(kOrderFields) + R"(,"x":{"a":1,"a":2})"), "error", "INVALID_JSON"},
  };
  RunCases(w, cases, &served);
  // Neither uuid was reserved or sent: both are still unknown to the gateway.
  ReqClient c(w.ctx, w.gw_endpoint);
  for (const std::string& id : {u, other}) {
    auto s = c.CallJson(StatusBody(id));
    REQUIRE(s);
    CheckReply(*s, "ORDER_STATUS " + id, {.status = "error", .error_code = "NOT_FOUND"});
  }
  RequireSurvived(w, served);
}

TEST_CASE(
    "Bytes that are not UTF-8, in keys, in the uuid or in any value, get INVALID_JSON and the "
    "gateway keeps serving",
    "[e2e]") {
  World w;
  w.Start();
  Served served;
  const std::string u = UniqueId("utf8");
  auto with_symbol = [&](const std::string& bytes) {
    return R"({"action":"OPEN","uuid":")" + u + R"(","symbol":")" + bytes +
           R"(","type":"BUY","volume":0.1})";
  };
  const std::vector<BadCase> cases = {
      {"0xff in a key", "{\"action\":\"PING\",\"\xff\":1}", "error", "INVALID_JSON"},
      {"a bad byte in the key 'action'", "{\"act\xc0ion\":\"PING\"}", "error", "INVALID_JSON"},
      {"0xfe in the uuid",
       "{\"action\":\"OPEN\",\"uuid\":\"ab\xfe\"," + std::string(kOrderFields) + "}", "error",
       "INVALID_JSON"},
      {"overlong '/' in the symbol", with_symbol("\xc0\xaf"), "error", "INVALID_JSON"},
      {"UTF-16 surrogate bytes", with_symbol("\xed\xa0\x80"), "error", "INVALID_JSON"},
      {"a truncated sequence before the quote", with_symbol("EUR\xe2\x82"), "error",
       "INVALID_JSON"},
      {"above U+10FFFF", with_symbol("\xf4\x90\x80\x80"), "error", "INVALID_JSON"},
      {"a lone continuation byte in the action", "{\"action\":\"PI\x80NG\"}", "error",
       "INVALID_JSON"},
      {"Latin-1 text", with_symbol("EUR\xe9"), "error", "INVALID_JSON"},
      {"an escaped lone surrogate", with_symbol("\\ud800"), "error", "INVALID_JSON"},
      // Valid UTF-8 is fine in values; it just is not a valid uuid.
      {"valid UTF-8 in the uuid", Open("\xc3\xa9t\xc3\xa9", kOrderFields), "REJECTED",
       "INVALID_UUID"},
  };
  RunCases(w, cases, &served);
  RequireSurvived(w, served);
}

TEST_CASE(
    "Every request field sent with the wrong JSON type gets the contract's code for that field",
    "[e2e]") {
  World w;
  w.Start();
  Served served;
  const std::string u = UniqueId("type");
  const std::string f = kOrderFields;
  auto replacing = [&](const std::string& name, const std::string& value) {
    // The minimal OPEN with one member's value replaced.
    std::string body =
        R"({"action":"OPEN","uuid":")" + u + R"(","symbol":"EURUSD","type":"BUY","volume":0.1})";
    const std::string key = "\"" + name + "\":";
    const size_t at = body.find(key);
    const size_t start = at + key.size();
    const size_t end = body.find_first_of(",}", start);
    return body.replace(start, end - start, value);
  };
  const std::string c = UniqueId("typec");
  auto close = [&](const std::string& ticket) {
    return R"({"action":"CLOSE","uuid":")" + c + R"(","ticket":)" + ticket + "}";
  };
  const std::vector<BadCase> cases = {
      {"action as a number", R"({"action":7,"uuid":")" + u + R"("})", "error", "MISSING_ACTION", u},
      {"action as null", R"({"action":null})", "error", "MISSING_ACTION"},
      {"action as an array", R"({"action":["OPEN"]})", "error", "MISSING_ACTION"},
      {"uuid as a number", replacing("uuid", "42"), "REJECTED", "INVALID_UUID"},
      {"uuid as null", replacing("uuid", "null"), "REJECTED", "INVALID_UUID"},
      {"uuid as an array", replacing("uuid", R"(["x"])"), "REJECTED", "INVALID_UUID"},
      {"symbol as a number", replacing("symbol", "1"), "REJECTED", "INVALID_FIELD", u},
      {"symbol as null", replacing("symbol", "null"), "REJECTED", "INVALID_FIELD", u},
      {"symbol as an object", replacing("symbol", R"({"s":1})"), "REJECTED", "INVALID_FIELD", u},
      {"type as a number", replacing("type", "0"), "REJECTED", "INVALID_TYPE", u},
      {"type as an array", replacing("type", R"(["BUY"])"), "REJECTED", "INVALID_TYPE", u},
      {"volume as a string", replacing("volume", R"("0.1")"), "REJECTED", "INVALID_VOLUME", u},
      {"volume as a bool", replacing("volume", "true"), "REJECTED", "INVALID_VOLUME", u},
      {"volume as null", replacing("volume", "null"), "REJECTED", "INVALID_VOLUME", u},
      {"volume as an array", replacing("volume", "[0.1]"), "REJECTED", "INVALID_VOLUME", u},
      {"price as a string", Open(u, f + R"(,"price":"1.1")"), "REJECTED", "INVALID_PRICE", u},
      {"sl as a bool", Open(u, f + R"(,"sl":true)"), "REJECTED", "INVALID_PRICE", u},
      {"tp as an object", Open(u, f + R"(,"tp":{})"), "REJECTED", "INVALID_PRICE", u},
      {"comment as a number", Open(u, f + R"(,"comment":5)"), "REJECTED", "INVALID_FIELD", u},
      {"magic as a string", Open(u, f + R"(,"magic":"7")"), "REJECTED", "INVALID_FIELD", u},
      {"magic as a fraction", Open(u, f + R"(,"magic":1.5)"), "REJECTED", "INVALID_FIELD", u},
      {"magic as 7.0", Open(u, f + R"(,"magic":7.0)"), "REJECTED", "INVALID_FIELD", u},
      {"timeout_ms as a string", Open(u, f + R"(,"timeout_ms":"2000")"), "REJECTED",
       "INVALID_FIELD", u},
      {"timeout_ms as a fraction", Open(u, f + R"(,"timeout_ms":1.5)"), "REJECTED", "INVALID_FIELD",
       u},
      {"risk_signature as a number", Open(u, f + R"(,"risk_signature":5)"), "REJECTED",
       "RISK_SIGNATURE_INVALID", u},
      {"ticket as a string", close(R"("5")"), "REJECTED", "INVALID_FIELD", c},
      {"ticket as 5.0", close("5.0"), "REJECTED", "INVALID_FIELD", c},
      {"ticket as a bool", close("true"), "REJECTED", "INVALID_FIELD", c},
      {"ticket as null", close("null"), "REJECTED", "INVALID_FIELD", c},
      {"GET_POSITIONS symbol as a number", R"({"action":"GET_POSITIONS","symbol":5})", "error",
       "INVALID_FIELD"},
      {"GET_ACCOUNT timeout_ms as a string", R"({"action":"GET_ACCOUNT","timeout_ms":"x"})",
       "error", "INVALID_FIELD"},
      {"PING uuid as a number", R"({"action":"PING","uuid":42})", "error", "INVALID_UUID"},
      {"ORDER_STATUS uuid as a number", R"({"action":"ORDER_STATUS","uuid":42})", "error",
       "INVALID_UUID"},
  };
  RunCases(w, cases, &served);
  RequireSurvived(w, served);
}

TEST_CASE(
    "Unknown actions get UNKNOWN_ACTION and bad uuids (control characters, too long, empty, "
    "foreign characters) get INVALID_UUID, echoing only a valid uuid",
    "[e2e]") {
  World w;
  w.Start();
  Served served;
  const std::string u = UniqueId("act");
  const std::string f = kOrderFields;
  const std::vector<BadCase> cases = {
      {"MODIFY", R"({"action":"MODIFY","uuid":")" + u + R"("})", "error", "UNKNOWN_ACTION", u},
      {"lower-case unknown", R"({"action":"modify"})", "error", "UNKNOWN_ACTION"},
      {"OPEN with a trailing space", Open(u, f).replace(11, 4, "OPEN "), "error", "UNKNOWN_ACTION",
       u},
      {"OPEN with an escaped NUL", R"({"action":"OPEN\u0000","uuid":")" + u + R"("})", "error",
       "UNKNOWN_ACTION", u},
      {"OPEN in Cyrillic look-alikes", "{\"action\":\"\xd0\x9e\xd0\xa0\xd0\x95N\"}", "error",
       "UNKNOWN_ACTION"},
      {"empty action", R"({"action":""})", "error", "MISSING_ACTION"},
      {"no action", R"({"uuid":")" + u + R"(","symbol":"EURUSD"})", "error", "MISSING_ACTION", u},
      {"uuid with an escaped control character", Open("a\\u0001b", f), "REJECTED", "INVALID_UUID"},
      {"uuid with an escaped newline", Open("a\\nb", f), "REJECTED", "INVALID_UUID"},
      {"uuid with an escaped NUL", Open("ab\\u0000", f), "REJECTED", "INVALID_UUID"},
      {"uuid with a tab", Open("a\\tb", f), "REJECTED", "INVALID_UUID"},
      {"uuid of 65 characters", Open(std::string(65, 'u'), f), "REJECTED", "INVALID_UUID"},
      {"uuid of 4096 characters", Open(std::string(4096, 'u'), f), "REJECTED", "INVALID_UUID"},
      {"empty uuid", Open("", f), "REJECTED", "INVALID_UUID"},
      {"uuid with a slash", Open("a/b", f), "REJECTED", "INVALID_UUID"},
      {"uuid with a quote", Open("a\\\"b", f), "REJECTED", "INVALID_UUID"},
      {"CLOSE with a bad uuid", R"({"action":"CLOSE","uuid":"x y","ticket":5})", "REJECTED",
       "INVALID_UUID"},
      {"ORDER_STATUS with a bad uuid", R"({"action":"ORDER_STATUS","uuid":"x\u0007"})", "error",
       "INVALID_UUID"},
      // PING accepts any uuid string and echoes it, as the bridge does (issue 9, finding 9).
      {"PING with a 4096-character uuid",
       R"({"action":"PING","uuid":")" + std::string(4096, 'p') + R"("})", "ok", "",
       std::string(4096, 'p')},
  };
  RunCases(w, cases, &served);
  RequireSurvived(w, served);
}

TEST_CASE(
    "A body of max_request_bytes is served, one byte more gets OVERSIZE, and a message above "
    "max_message_bytes disconnects only its sender without surfacing as a request",
    "[e2e]") {
  World w;
  w.Start();
  Served served;
  auto padded_ping = [](size_t size) {
    std::string body = R"({"action":"PING","pad":")";
    body.append(size - body.size() - 2, 'x');
    return body + "\"}";
  };
  const std::string u = UniqueId("size");
  const std::vector<BadCase> cases = {
      {"16384 bytes", padded_ping(16384), "ok", ""},
      {"16385 bytes", padded_ping(16385), "error", "OVERSIZE"},
      {"a 512 KiB order (uuid not read)",
       Open(u, std::string(kOrderFields) + R"(,"pad":")" + std::string(512 << 10, 'p') + "\""),
       "error", "OVERSIZE"},
      {"1 MiB of garbage, just under max_message_bytes", std::string((1 << 20) - 64, '{'), "error",
       "OVERSIZE"},
  };
  RunCases(w, cases, &served);

  // Above ZMQ_MAXMSGSIZE (1 MiB by default): libzmq closes that peer's connection; the frame never
  // reaches the gateway, so it is neither answered nor counted as a request.
  const double requests_before = WaitMetric(w, "ordergate_requests_total", 0);
  zmq::socket_t hog(w.ctx, zmq::socket_type::dealer);
  hog.set(zmq::sockopt::linger, 0);
  const std::string monitor_ep = "inproc://hog-monitor-" + UniqueId("m");
  REQUIRE(zmq_socket_monitor(hog.handle(), monitor_ep.c_str(),
                             ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) == 0);
  zmq::socket_t events(w.ctx, zmq::socket_type::pair);
  events.set(zmq::sockopt::rcvtimeo, 5000);
  events.connect(monitor_ep);
  hog.connect(w.gw_endpoint);
  auto next_event = [&]() -> int {
    zmq::message_t ev;
    if (!events.recv(ev)) return -1;
    uint16_t id = 0;
    std::memcpy(&id, ev.data(), sizeof id);
    zmq::message_t addr;
    (void)events.recv(addr);  // every event is [id+value][endpoint]
    return id;
  };
  REQUIRE(next_event() == ZMQ_EVENT_CONNECTED);
  const std::string huge = Open(UniqueId("huge"), std::string(kOrderFields) + R"(,"pad":")" +
                                                      std::string((1 << 20) + 1, 'h') + "\"");
  REQUIRE(hog.send(zmq::str_buffer(""), zmq::send_flags::sndmore));
  REQUIRE(hog.send(zmq::buffer(huge), zmq::send_flags::none));
  CHECK(next_event() == ZMQ_EVENT_DISCONNECTED);
  RequireOthersServed(w, &served, "a frame above max_message_bytes");
  // The hog gets no reply, and only the good order was counted as a request.
  zmq::pollitem_t item{hog.handle(), 0, ZMQ_POLLIN, 0};
  zmq::poll(&item, 1, Ms(300));
  CHECK((item.revents & ZMQ_POLLIN) == 0);
  CHECK(WaitMetric(w, "ordergate_requests_total", requests_before + 1) == requests_before + 1);
  CHECK(Metric(w, "ordergate_dropped_frames_total") == 0);
  zmq_socket_monitor(hog.handle(), nullptr, 0);
  RequireSurvived(w, served);
}

TEST_CASE(
    "Frame sequences the contract cannot answer (no body, extra frames after the body) are "
    "dropped unanswered and counted in ordergate_dropped_frames_total, while an empty body frame "
    "is answered INVALID_JSON",
    "[e2e]") {
  World w;
  w.Start();
  Served served;
  struct Framing {
    std::string name;
    std::vector<std::string> frames;
  };
  const std::vector<Framing> dropped = {
      {"the empty delimiter alone", {""}},
      {"an extra frame after the body", {"", PingBody(), "trailing"}},
      {"two empty frames after the delimiter", {"", "", ""}},
      {"two frames without a delimiter", {PingBody(), PingBody()}},
      {"frames before the delimiter", {"x", "y", "", PingBody()}},
  };
  DealerClient bad(w.ctx, w.gw_endpoint);
  double count = Metric(w, "ordergate_dropped_frames_total");
  REQUIRE(count == 0);
  for (const Framing& k : dropped) {
    INFO("framing: " << k.name);
    bad.SendFrames(k.frames);
    count += 1;
    CHECK(WaitMetric(w, "ordergate_dropped_frames_total", count) == count);
    RequireOthersServed(w, &served, k.name);
  }
  CHECK_FALSE(bad.Recv(Ms(300)).has_value());  // none of them was answered

  // [empty][empty]: a well-framed request whose body is empty — the contract's INVALID_JSON.
  bad.SendFrames({"", ""});
  auto r = bad.RecvJson(Ms(5000));
  REQUIRE(r);
  CheckBadReply({"an empty body frame", "", "error", "INVALID_JSON"}, *r);
  RequireOthersServed(w, &served, "an empty body frame");
  CHECK(Metric(w, "ordergate_dropped_frames_total") == count);
  RequireSurvived(w, served);
}

TEST_CASE(
    "A DEALER sending what a REQ would without the empty delimiter is answered with a single "
    "frame, whether its body is good or bad",
    "[e2e]") {
  World w;
  w.Start();
  Served served;
  zmq::socket_t raw(w.ctx, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::linger, 0);
  raw.set(zmq::sockopt::rcvtimeo, 5000);
  raw.connect(w.gw_endpoint);
  auto exchange = [&](const std::string& body) {
    REQUIRE(raw.send(zmq::buffer(body), zmq::send_flags::none));
    std::vector<std::string> frames;
    for (;;) {
      zmq::message_t m;
      REQUIRE(raw.recv(m));
      frames.push_back(m.to_string());
      if (!m.more()) break;
    }
    INFO("frames: " << frames.size() << ", last: " << frames.back());
    REQUIRE(frames.size() == 1);  // no delimiter came, none goes back
    auto j = Json::Parse(frames[0]);
    REQUIRE(j);
    return *j;
  };
  const std::string uuid = UniqueId("bare");
  Json open = exchange(OpenBody(uuid));
  INFO("bare OPEN: " << open.raw());
  CHECK(open.S("status") == "FILLED");
  served.uuids.push_back(uuid);
  RequireOthersServed(w, &served, "a bare OPEN");

  CheckBadReply({"bare malformed JSON", "", "error", "INVALID_JSON"}, exchange("{\"action\""));
  RequireOthersServed(w, &served, "a bare malformed body");
  CheckBadReply({"bare unknown action", "", "error", "UNKNOWN_ACTION"},
                exchange(R"({"action":"NOPE"})"));
  RequireOthersServed(w, &served, "a bare unknown action");
  CHECK(exchange(PingBody()).S("status") == "ok");
  CHECK(Metric(w, "ordergate_dropped_frames_total") == 0);
  RequireSurvived(w, served);
}
