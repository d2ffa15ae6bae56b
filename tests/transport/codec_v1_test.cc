// The MT5-CRS JSON v1 envelope (protocol.md section 2a): decoding ORDER_SEND onto an OPEN, and
// every row of the reply table (EncodeV1Reply).
#include <simdjson.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport/codec.h"
#include "transport/order.h"

namespace ordergate {
namespace {

constexpr int64_t kNow = 1795599352123456;

struct Decoded {
  ErrorCode ec;
  Request req;
};

Decoded Decode(std::string_view body, const DecodeLimits& limits = {}) {
  Decoded d;
  d.ec = DecodeRequest(absl::string_view(body.data(), body.size()), limits, kNow, &d.req);
  return d;
}

std::string Str(absl::string_view s) { return std::string(s.data(), s.size()); }

// An ORDER_SEND with the given payload members.
std::string Send(std::string_view payload,
                 std::string_view req_id = "9f1c2b7e-0d3a-4c55-8e21-7a4b9c0d1e2f") {
  return std::string(R"({"action":"ORDER_SEND","req_id":")") + std::string(req_id) +
         R"(","timestamp":1795599352.1,"payload":{)" + std::string(payload) + "}}";
}
constexpr std::string_view kPayload =
    R"("symbol":"EURUSD","type":"OP_BUY","volume":0.01,"magic":123456,"comment":"MT5-CRS-AI","sl":1.045,"tp":1.06)";

struct V1 {
  bool error = true;
  int64_t ticket = -99;
  std::string msg;
  int64_t retcode = 0;
  bool duplicate = false;
  int64_t gateway_us = -1;
};

V1 Reply(std::string_view object, bool duplicate = false, int64_t gateway_us = 7) {
  std::string out;
  EncodeV1Reply(absl::string_view(object.data(), object.size()), duplicate, gateway_us, &out);
  simdjson::dom::parser p;
  simdjson::dom::object o;
  REQUIRE(p.parse(out).get(o) == simdjson::SUCCESS);
  V1 v;
  REQUIRE(o["error"].get(v.error) == simdjson::SUCCESS);
  REQUIRE(o["ticket"].get(v.ticket) == simdjson::SUCCESS);
  std::string_view m;
  REQUIRE(o["msg"].get(m) == simdjson::SUCCESS);
  v.msg = std::string(m);
  REQUIRE(o["retcode"].get(v.retcode) == simdjson::SUCCESS);
  REQUIRE(o["duplicate"].get(v.duplicate) == simdjson::SUCCESS);
  REQUIRE(o["gateway_us"].get(v.gateway_us) == simdjson::SUCCESS);
  size_t members = 0;
  for (auto kv : o) {
    (void)kv;
    ++members;
  }
  CHECK(members == 6);  // exactly the envelope's four, plus duplicate and gateway_us
  return v;
}

}  // namespace

TEST_CASE("an ORDER_SEND becomes an OPEN keyed by its req_id, OP_BUY a BUY", "[transport][v1]") {
  const Decoded d = Decode(Send(kPayload));
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.envelope == Envelope::kMt5CrsV1);
  CHECK(d.req.action == Action::kOpen);
  CHECK(Str(d.req.uuid.view()) == "9f1c2b7e-0d3a-4c55-8e21-7a4b9c0d1e2f");
  CHECK(Str(d.req.symbol.view()) == "EURUSD");
  CHECK(d.req.type == OrderType::kBuy);
  CHECK(d.req.volume == 0.01);
  CHECK(d.req.sl == 1.045);
  CHECK(d.req.tp == 1.06);
  CHECK(d.req.magic == 123456);
  CHECK(Str(d.req.comment.view()) == "MT5-CRS-AI");
  const Decoded sell = Decode(Send(R"("symbol":"EURUSD","type":"OP_SELL","volume":1)"));
  REQUIRE(sell.ec == ErrorCode::kOk);
  CHECK(sell.req.type == OrderType::kSell);
}

TEST_CASE("the v1 defaults give the same fingerprint as the same values spelled out",
          "[transport][v1]") {
  const Decoded bare = Decode(Send(R"("symbol":"EURUSD","type":"OP_BUY","volume":0.5)"));
  const Decoded spelled = Decode(Send(
      R"("symbol":"EURUSD","type":"OP_BUY","volume":0.5,"magic":123456,"comment":"MT5-CRS-AI","sl":0.0,"tp":0)"));
  const Decoded other = Decode(Send(R"("symbol":"EURUSD","type":"OP_BUY","volume":0.5,"magic":7)"));
  REQUIRE(bare.ec == ErrorCode::kOk);
  REQUIRE(spelled.ec == ErrorCode::kOk);
  REQUIRE(other.ec == ErrorCode::kOk);
  std::string a, b, c;
  CanonicalOrderFields(bare.req, &a);
  CanonicalOrderFields(spelled.req, &b);
  CanonicalOrderFields(other.req, &c);
  CHECK(a == b);
  CHECK(a != c);  // a req_id reused with another magic is a conflict
}

TEST_CASE(
    "a v1 envelope missing its action, req_id, payload or a required field is a missing "
    "member (retcode -2)",
    "[transport][v1]") {
  struct Row {
    std::string body;
    ErrorCode ec;
  };
  const Row rows[] = {
      {R"({"req_id":"r-1","payload":{"symbol":"EURUSD","type":"OP_BUY","volume":0.1}})",
       ErrorCode::kMissingAction},
      {R"({"action":"ORDER_SEND","payload":{"symbol":"EURUSD","type":"OP_BUY","volume":0.1}})",
       ErrorCode::kMissingUuid},
      {R"({"action":"ORDER_SEND","req_id":"r-1"})", ErrorCode::kMissingPayload},
      {R"({"action":"ORDER_SEND","req_id":"r-1","payload":[1]})", ErrorCode::kMissingPayload},
      {Send(R"("type":"OP_BUY","volume":0.1)"), ErrorCode::kMissingSymbol},
      {Send(R"("symbol":"","type":"OP_BUY","volume":0.1)"), ErrorCode::kMissingSymbol},
      {Send(R"("symbol":"EURUSD","volume":0.1)"), ErrorCode::kMissingType},
      {Send(R"("symbol":"EURUSD","type":"OP_BUY")"), ErrorCode::kMissingVolume},
  };
  for (const Row& r : rows) {
    INFO(r.body);
    const Decoded d = Decode(r.body);
    CHECK(d.ec == r.ec);
    CHECK(d.req.envelope == Envelope::kMt5CrsV1);
    CHECK(d.req.action == Action::kOpen);  // so its error reply takes the v1 shape
    std::string err;
    EncodeErrorReply(d.req.uuid.view(), d.ec, true, "", kNow, &err);
    CHECK(Reply(err).retcode == -2);
  }
}

TEST_CASE(
    "a body without an action is the bridge protocol's when it has a valid uuid, else a v1 "
    "envelope's when it has a req_id or a payload",
    "[transport][v1]") {
  const Decoded bridge = Decode(R"({"uuid":"u-1","req_id":"r-1","symbol":"EURUSD"})");
  CHECK(bridge.ec == ErrorCode::kMissingAction);
  CHECK(bridge.req.envelope == Envelope::kBridge);
  CHECK(Str(bridge.req.uuid.view()) == "u-1");
  const Decoded v1 = Decode(R"({"req_id":"r-1","payload":{}})");
  CHECK(v1.ec == ErrorCode::kMissingAction);
  CHECK(v1.req.envelope == Envelope::kMt5CrsV1);
  CHECK(Str(v1.req.uuid.view()) == "r-1");
  const Decoded neither = Decode(R"({"symbol":"EURUSD"})");
  CHECK(neither.ec == ErrorCode::kMissingAction);
  CHECK(neither.req.envelope == Envelope::kBridge);
}

TEST_CASE("a v1 member out of range is refused at its edges (retcode -3)", "[transport][v1]") {
  struct Row {
    std::string payload;
    ErrorCode ec;  // kOk: accepted
  };
  const std::string c31(31, 'c');
  const Row rows[] = {
      {R"("symbol":"EURUSD","type":"OP_BUY","volume":0.01)", ErrorCode::kOk},
      {R"("symbol":"EURUSD","type":"OP_BUY","volume":100)", ErrorCode::kOk},
      {R"("symbol":"EURUSD","type":"OP_BUY","volume":0.0099)", ErrorCode::kInvalidVolume},
      {R"("symbol":"EURUSD","type":"OP_BUY","volume":100.0001)", ErrorCode::kInvalidVolume},
      {R"("symbol":"EURUSD","type":"OP_BUY","volume":"0.1")", ErrorCode::kInvalidVolume},
      {R"("symbol":"EURUSD","type":"BUY","volume":0.1)", ErrorCode::kInvalidType},
      {R"("symbol":"EURUSD","type":"OP_BUY_LIMIT","volume":0.1)", ErrorCode::kInvalidType},
      {R"("symbol":"EURUSD","type":"OP_BUY","volume":0.1,"comment":")" + c31 + "\"",
       ErrorCode::kOk},
      {R"("symbol":"EURUSD","type":"OP_BUY","volume":0.1,"comment":")" + c31 + "c\"",
       ErrorCode::kInvalidField},
      {R"("symbol":"EURUSD","type":"OP_BUY","volume":0.1,"magic":1.5)", ErrorCode::kInvalidField},
      {R"("symbol":"EURUSD","type":"OP_BUY","volume":0.1,"sl":-1)", ErrorCode::kInvalidPrice},
  };
  for (const Row& r : rows) {
    INFO(r.payload);
    const Decoded d = Decode(Send(r.payload));
    CHECK(d.ec == r.ec);
    if (r.ec != ErrorCode::kOk) {
      std::string err;
      EncodeErrorReply(d.req.uuid.view(), d.ec, true, "", kNow, &err);
      CHECK(Reply(err).retcode == -3);
    }
  }
  const Decoded bad_id = Decode(Send(kPayload, "has space"));
  CHECK(bad_id.ec == ErrorCode::kInvalidUuid);
  std::string err;
  EncodeErrorReply("", bad_id.ec, true, "", kNow, &err);
  CHECK(Reply(err).retcode == -3);
}

TEST_CASE("a fill is error false with its ticket and retcode 10009, replayed as a duplicate",
          "[transport][v1]") {
  const V1 v = Reply(
      R"({"uuid":"r-1","status":"FILLED","ticket":100000042,"symbol":"EURUSD","volume":0.01,"price":1.0512,"execution_time":"2026-11-25T09:35:52Z"})",
      true, 12);
  CHECK_FALSE(v.error);
  CHECK(v.ticket == 100000042);
  CHECK(v.retcode == 10009);
  CHECK(v.msg == "Filled at 1.0512");
  CHECK(v.duplicate);
  CHECK(v.gateway_us == 12);
}

TEST_CASE("UNKNOWN and PENDING are retcode -1 with no ticket", "[transport][v1]") {
  const V1 unknown = Reply(
      R"({"uuid":"r-1","status":"UNKNOWN","error_code":"BRIDGE_TIMEOUT","error_msg":"no reply","timestamp":"x"})");
  CHECK(unknown.error);
  CHECK(unknown.ticket == 0);
  CHECK(unknown.retcode == -1);
  CHECK(unknown.msg.find("UNKNOWN BRIDGE_TIMEOUT") == 0);
  const V1 pending = Reply(R"({"uuid":"r-1","status":"PENDING","timestamp":"x"})");
  CHECK(pending.error);
  CHECK(pending.retcode == -1);
  CHECK(pending.msg.find("PENDING") == 0);
}

TEST_CASE("a bridge's refusal keeps its MT5 retcode when it gave one, else -4", "[transport][v1]") {
  CHECK(
      Reply(
          R"({"uuid":"r","status":"REJECTED","error_code":"MT5_ORDER_FAILED","error_msg":"order_send failed: retcode 10006"})")
          .retcode == 10006);
  CHECK(Reply(R"({"uuid":"r","status":"REJECTED","error_code":"MT5_ORDER_FAILED","retcode":10019})")
            .retcode == 10019);
  const V1 plain = Reply(
      R"({"uuid":"r","status":"REJECTED","error_code":"MT5_NOT_CONNECTED","error_msg":"MT5 terminal not connected"})");
  CHECK(plain.retcode == -4);
  CHECK(plain.ticket == 0);
  CHECK(plain.msg == "REJECTED MT5_NOT_CONNECTED: MT5 terminal not connected");
}

TEST_CASE("every refusal of ordergate's is retcode -4 and names its code in msg",
          "[transport][v1]") {
  for (ErrorCode c :
       {ErrorCode::kIdempotencyConflict, ErrorCode::kRiskLimit, ErrorCode::kGatewayBusy,
        ErrorCode::kBridgeDown, ErrorCode::kStoreUnavailable, ErrorCode::kBridgeNoTicket}) {
    INFO(Str(ErrorCodeName(c)));
    std::string err;
    // A message that looks like the bridge's retcode text must not leak into an ordergate refusal.
    EncodeErrorReply("r-1", c, true, "retcode 10006", kNow, &err);
    const V1 v = Reply(err);
    CHECK(v.error);
    CHECK(v.ticket == 0);
    CHECK(v.retcode == -4);
    CHECK(v.msg.find(Str(ErrorCodeName(c))) != std::string::npos);
  }
}

}  // namespace ordergate
