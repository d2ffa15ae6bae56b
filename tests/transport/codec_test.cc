// Decoding and encoding of both links' JSON (transport/codec.h), against docs/protocol.md.
#include "transport/codec.h"

#include <simdjson.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>

#include "transport/order.h"

namespace ordergate {
namespace {

// 2026-11-25T09:35:52.123456Z
constexpr int64_t kNow = 1795599352123456;

struct Decoded {
  ErrorCode ec;
  Request req;
  std::string status;  // ErrorStatus of ec for this request
};

Decoded Decode(std::string_view body, const DecodeLimits& limits = {}, int64_t now = kNow) {
  Decoded d;
  d.ec = DecodeRequest(absl::string_view(body.data(), body.size()), limits, now, &d.req);
  const absl::string_view st = ErrorStatus(d.ec, IsOrderAction(d.req.action));
  d.status.assign(st.data(), st.size());
  return d;
}

std::string Str(absl::string_view s) { return std::string(s.data(), s.size()); }

// An OPEN with every field, `extra` spliced in after the uuid (later duplicates are not wanted:
// tests that replace a field build their own body).
std::string Open(std::string_view fields) {
  return std::string(R"({"action":"OPEN","uuid":"ord-1",)") + std::string(fields) + "}";
}
constexpr std::string_view kOpenFields =
    R"("symbol":"EURUSD","type":"BUY","volume":0.1,"price":1.1,"sl":1.09,"tp":1.2,"comment":"hi","magic":123)";

std::string OpenWith(std::string_view name, std::string_view json_value) {
  std::string body =
      R"({"action":"OPEN","uuid":"ord-1","symbol":"EURUSD","type":"BUY","volume":0.1)";
  body += ",\"";
  body += name;
  body += "\":";
  body += json_value;
  body += "}";
  return body;
}

// A minimal OPEN with one field replaced (or removed, when json_value is empty).
std::string OpenReplacing(std::string_view name, std::string_view json_value) {
  const std::pair<std::string_view, std::string_view> base[] = {
      {"action", R"("OPEN")"}, {"uuid", R"("ord-1")"}, {"symbol", R"("EURUSD")"},
      {"type", R"("BUY")"},    {"volume", "0.1"},
  };
  std::string body = "{";
  bool first = true;
  for (const auto& [k, v] : base) {
    const std::string_view value = (k == name) ? json_value : v;
    if (value.empty()) continue;
    if (!first) body += ",";
    first = false;
    body += "\"";
    body += k;
    body += "\":";
    body += value;
  }
  body += "}";
  return body;
}

bool IsValidJson(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  return parser.parse(text).get(root) == simdjson::SUCCESS;
}

std::string Signature(int64_t signed_at_us, bool basic,
                      std::string_view checksum = "0123456789abcdef") {
  std::string sig = "RISK_PASS:";
  sig += checksum;
  sig += ":";
  AppendIsoTimestamp(signed_at_us, basic, &sig);
  return sig;
}

// ---------------------------------------------------------------------------------------------
// Valid requests.

TEST_CASE("A complete OPEN decodes with every field", "[transport]") {
  const Decoded d = Decode(Open(kOpenFields));
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.action == Action::kOpen);
  CHECK(Str(d.req.uuid.view()) == "ord-1");
  CHECK(Str(d.req.symbol.view()) == "EURUSD");
  CHECK(d.req.type == OrderType::kBuy);
  CHECK(d.req.volume == 0.1);
  CHECK(d.req.price == 1.1);
  CHECK(d.req.sl == 1.09);
  CHECK(d.req.tp == 1.2);
  CHECK(Str(d.req.comment.view()) == "hi");
  CHECK(d.req.has_magic);
  CHECK(d.req.magic == 123);
  CHECK(d.req.timeout_ms == 0);
  CHECK(d.req.risk_signature.empty());
}

TEST_CASE("A minimal OPEN defaults price, sl, tp and magic", "[transport]") {
  const Decoded d = Decode(OpenReplacing("", ""));
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.price == 0);
  CHECK(d.req.sl == 0);
  CHECK(d.req.tp == 0);
  CHECK_FALSE(d.req.has_magic);
  CHECK(d.req.comment.empty());
}

TEST_CASE("Every order type decodes, case-insensitively", "[transport]") {
  const std::pair<std::string_view, OrderType> types[] = {
      {R"("BUY")", OrderType::kBuy},
      {R"("sell")", OrderType::kSell},
      {R"("Buy_Limit")", OrderType::kBuyLimit},
      {R"("SELL_LIMIT")", OrderType::kSellLimit},
      {R"("buy_stop")", OrderType::kBuyStop},
      {R"("SELL_STOP")", OrderType::kSellStop},
  };
  for (const auto& [json, type] : types) {
    const Decoded d = Decode(OpenReplacing("type", json));
    INFO(json);
    REQUIRE(d.ec == ErrorCode::kOk);
    CHECK(d.req.type == type);
  }
}

TEST_CASE("An integer volume is accepted as a number", "[transport]") {
  const Decoded d = Decode(OpenReplacing("volume", "1"));
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.volume == 1.0);
}

TEST_CASE("A CLOSE decodes its ticket", "[transport]") {
  const Decoded d = Decode(R"({"action":"CLOSE","uuid":"c-1","ticket":123456789})");
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.action == Action::kClose);
  CHECK(Str(d.req.uuid.view()) == "c-1");
  CHECK(d.req.ticket.value == 123456789);
}

TEST_CASE("A PING decodes with or without a uuid", "[transport]") {
  Decoded d = Decode(R"({"action":"PING","uuid":"p-1","timestamp":"2026-11-25T09:35:52"})");
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.action == Action::kPing);
  CHECK(Str(d.req.uuid.view()) == "p-1");
  d = Decode(R"({"action":"PING"})");
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.uuid.view().empty());
}

TEST_CASE("A PING with a uuid string that is no ClientOrderId is served, echoing no uuid",
          "[transport]") {
  const Decoded d = Decode(R"({"action":"PING","uuid":"has spaces"})");
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.uuid.view().empty());
  CHECK(Decode(R"({"action":"GET_ACCOUNT","uuid":")" + std::string(100, 'u') + "\"}").ec ==
        ErrorCode::kOk);
}

TEST_CASE("A non-string uuid is INVALID_UUID with status error on non-order actions",
          "[transport]") {
  for (std::string_view a : {"PING", "GET_ACCOUNT", "GET_POSITIONS", "ORDER_STATUS"}) {
    const Decoded d = Decode(R"({"action":")" + std::string(a) + R"(","uuid":42})");
    INFO(a);
    CHECK(d.ec == ErrorCode::kInvalidUuid);
    CHECK(d.status == "error");
  }
}

TEST_CASE("A GET_ACCOUNT decodes", "[transport]") {
  const Decoded d = Decode(R"({"action":"GET_ACCOUNT","uuid":"a-1"})");
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.action == Action::kGetAccount);
  CHECK(Str(d.req.uuid.view()) == "a-1");
}

TEST_CASE("A GET_POSITIONS decodes with and without its symbol filter", "[transport]") {
  Decoded d = Decode(R"({"action":"GET_POSITIONS","uuid":"g-1","symbol":"XAUUSD"})");
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.action == Action::kGetPositions);
  CHECK(Str(d.req.status_symbol.view()) == "XAUUSD");
  d = Decode(R"({"action":"GET_POSITIONS"})");
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.status_symbol.empty());
}

TEST_CASE("A GET_POSITIONS with a non-string symbol is an error", "[transport]") {
  const Decoded d = Decode(R"({"action":"GET_POSITIONS","symbol":5})");
  CHECK(d.ec == ErrorCode::kInvalidField);
  CHECK(d.status == "error");
}

TEST_CASE("An ORDER_STATUS decodes its uuid", "[transport]") {
  const Decoded d = Decode(R"({"action":"ORDER_STATUS","uuid":"ord-1"})");
  REQUIRE(d.ec == ErrorCode::kOk);
  CHECK(d.req.action == Action::kOrderStatus);
  CHECK(Str(d.req.uuid.view()) == "ord-1");
}

TEST_CASE("The action is matched case-insensitively", "[transport]") {
  for (std::string_view a : {"open", "Open", "oPeN"}) {
    std::string body = R"({"action":")" + std::string(a) +
                       R"(","uuid":"x","symbol":"EURUSD","type":"BUY","volume":1})";
    const Decoded d = Decode(body);
    INFO(body);
    CHECK(d.ec == ErrorCode::kOk);
    CHECK(d.req.action == Action::kOpen);
  }
  CHECK(Decode(R"({"action":"get_positions"})").req.action == Action::kGetPositions);
}

TEST_CASE("Unknown fields are ignored, nested ones included", "[transport]") {
  const Decoded d = Decode(Open(
      R"("symbol":"EURUSD","type":"BUY","volume":1,"x":{"y":[1,2,{"z":null}]},"deviation":20)"));
  CHECK(d.ec == ErrorCode::kOk);
}

TEST_CASE("Whitespace around and inside the object is accepted", "[transport]") {
  const Decoded d = Decode(" \n{ \"action\" : \"PING\" }\r\n ");
  CHECK(d.ec == ErrorCode::kOk);
}

// ---------------------------------------------------------------------------------------------
// One test per error code DecodeRequest returns, with its reply status.

TEST_CASE("Malformed JSON is INVALID_JSON with status error", "[transport]") {
  const Decoded d = Decode(R"({"action":"OPEN",)");
  CHECK(d.ec == ErrorCode::kInvalidJson);
  CHECK(d.status == "error");
  CHECK(Str(ErrorCodeName(d.ec)) == "INVALID_JSON");
}

TEST_CASE("A body over max_request_bytes is OVERSIZE with status error", "[transport]") {
  DecodeLimits limits;
  limits.max_request_bytes = 64;
  const std::string body = Open(kOpenFields);
  REQUIRE(body.size() > 64);
  const Decoded d = Decode(body, limits);
  CHECK(d.ec == ErrorCode::kOversize);
  CHECK(d.status == "error");
  CHECK(Str(ErrorCodeName(d.ec)) == "OVERSIZE");
  // Exactly at the limit is fine.
  limits.max_request_bytes = body.size();
  CHECK(Decode(body, limits).ec == ErrorCode::kOk);
}

TEST_CASE("A default-limit body of 16385 bytes is OVERSIZE", "[transport]") {
  std::string body = R"({"action":"PING","pad":")";
  body.append(16384 - body.size() - 2, 'x');
  body += "\"}";
  REQUIRE(body.size() == 16384);
  CHECK(Decode(body).ec == ErrorCode::kOk);
  body.insert(body.size() - 2, "x");
  CHECK(Decode(body).ec == ErrorCode::kOversize);
}

TEST_CASE("A missing action is MISSING_ACTION with status error", "[transport]") {
  const Decoded d = Decode(R"({"uuid":"ord-1","symbol":"EURUSD"})");
  CHECK(d.ec == ErrorCode::kMissingAction);
  CHECK(d.status == "error");
  CHECK(Str(d.req.uuid.view()) == "ord-1");  // still echoed
}

TEST_CASE("An empty or non-string action is MISSING_ACTION", "[transport]") {
  CHECK(Decode(R"({"action":""})").ec == ErrorCode::kMissingAction);
  CHECK(Decode(R"({"action":1})").ec == ErrorCode::kMissingAction);
  CHECK(Decode(R"({"action":null})").ec == ErrorCode::kMissingAction);
  CHECK(Decode(R"({"action":["OPEN"]})").ec == ErrorCode::kMissingAction);
}

TEST_CASE("An unknown action is UNKNOWN_ACTION with status error", "[transport]") {
  const Decoded d = Decode(R"({"action":"MODIFY","uuid":"ord-1"})");
  CHECK(d.ec == ErrorCode::kUnknownAction);
  CHECK(d.status == "error");
  CHECK(Str(d.req.uuid.view()) == "ord-1");
}

TEST_CASE("An OPEN without uuid is MISSING_UUID with status REJECTED", "[transport]") {
  const Decoded d = Decode(OpenReplacing("uuid", ""));
  CHECK(d.ec == ErrorCode::kMissingUuid);
  CHECK(d.status == "REJECTED");
  CHECK(d.req.action == Action::kOpen);
}

TEST_CASE("A CLOSE or ORDER_STATUS without uuid is MISSING_UUID", "[transport]") {
  Decoded d = Decode(R"({"action":"CLOSE","ticket":5})");
  CHECK(d.ec == ErrorCode::kMissingUuid);
  CHECK(d.status == "REJECTED");
  d = Decode(R"({"action":"ORDER_STATUS"})");
  CHECK(d.ec == ErrorCode::kMissingUuid);
  CHECK(d.status == "error");  // not an order
}

TEST_CASE("A bad uuid is INVALID_UUID with status REJECTED", "[transport]") {
  const Decoded d = Decode(OpenReplacing("uuid", R"("bad uuid")"));
  CHECK(d.ec == ErrorCode::kInvalidUuid);
  CHECK(d.status == "REJECTED");
  CHECK(d.req.uuid.view().empty());  // never echo what is not a valid id
}

TEST_CASE("uuid edge cases: 64 characters pass, 65, empty, bad characters and non-strings fail",
          "[transport]") {
  const std::string u64(64, 'a');
  const std::string u65(65, 'a');
  CHECK(Decode(OpenReplacing("uuid", "\"" + u64 + "\"")).ec == ErrorCode::kOk);
  CHECK(Decode(OpenReplacing("uuid", "\"" + u65 + "\"")).ec == ErrorCode::kInvalidUuid);
  CHECK(Decode(OpenReplacing("uuid", R"("")")).ec == ErrorCode::kInvalidUuid);
  CHECK(Decode(OpenReplacing("uuid", R"("A-z.0_9:x")")).ec == ErrorCode::kOk);
  for (std::string_view bad : {R"("a/b")", R"("a b")", R"("a\"b")", R"("é")", R"("a\u0000")",
                               R"("a+b")", R"("a#b")", "123", "null", "true", R"(["a"])"}) {
    INFO(bad);
    CHECK(Decode(OpenReplacing("uuid", bad)).ec == ErrorCode::kInvalidUuid);
  }
}

TEST_CASE("An OPEN without symbol is MISSING_SYMBOL with status REJECTED", "[transport]") {
  Decoded d = Decode(OpenReplacing("symbol", ""));
  CHECK(d.ec == ErrorCode::kMissingSymbol);
  CHECK(d.status == "REJECTED");
  CHECK(Str(d.req.uuid.view()) == "ord-1");
  d = Decode(OpenReplacing("symbol", R"("")"));
  CHECK(d.ec == ErrorCode::kMissingSymbol);
}

TEST_CASE("An OPEN without type is MISSING_TYPE with status REJECTED", "[transport]") {
  Decoded d = Decode(OpenReplacing("type", ""));
  CHECK(d.ec == ErrorCode::kMissingType);
  CHECK(d.status == "REJECTED");
  CHECK(Decode(OpenReplacing("type", R"("")")).ec == ErrorCode::kMissingType);
}

TEST_CASE("An unknown order type is INVALID_TYPE with status REJECTED", "[transport]") {
  const Decoded d = Decode(OpenReplacing("type", R"("BUY_STOP_LIMIT")"));
  CHECK(d.ec == ErrorCode::kInvalidType);
  CHECK(d.status == "REJECTED");
  CHECK(Decode(OpenReplacing("type", "0")).ec == ErrorCode::kInvalidType);
  CHECK(Decode(OpenReplacing("type", "null")).ec == ErrorCode::kInvalidType);
}

TEST_CASE("A bad volume is INVALID_VOLUME with status REJECTED", "[transport]") {
  const Decoded d = Decode(OpenReplacing("volume", "0"));
  CHECK(d.ec == ErrorCode::kInvalidVolume);
  CHECK(d.status == "REJECTED");
}

TEST_CASE("Volume must be a number above 0 and at most max_volume", "[transport]") {
  for (std::string_view bad :
       {"0", "-1", "-0.0", "1000.0001", "1e300", R"("0.1")", "null", "true", "[0.1]", "{}", ""}) {
    INFO(bad);
    CHECK(Decode(OpenReplacing("volume", bad)).ec == ErrorCode::kInvalidVolume);
  }
  CHECK(Decode(OpenReplacing("volume", "1000")).ec == ErrorCode::kOk);
  CHECK(Decode(OpenReplacing("volume", "0.01")).ec == ErrorCode::kOk);
  DecodeLimits limits;
  limits.max_volume = 5;
  CHECK(Decode(OpenReplacing("volume", "5.5"), limits).ec == ErrorCode::kInvalidVolume);
}

TEST_CASE("A bad price is INVALID_PRICE with status REJECTED", "[transport]") {
  const Decoded d = Decode(OpenWith("price", "-1.1"));
  CHECK(d.ec == ErrorCode::kInvalidPrice);
  CHECK(d.status == "REJECTED");
}

TEST_CASE("price, sl and tp must be non-negative numbers", "[transport]") {
  for (std::string_view field : {"price", "sl", "tp"}) {
    for (std::string_view bad : {"-0.5", R"("1.1")", "null", "true", "[1]", "{}"}) {
      INFO(field << " = " << bad);
      CHECK(Decode(OpenWith(field, bad)).ec == ErrorCode::kInvalidPrice);
    }
    CHECK(Decode(OpenWith(field, "0")).ec == ErrorCode::kOk);
    CHECK(Decode(OpenWith(field, "2")).ec == ErrorCode::kOk);
    CHECK(Decode(OpenWith(field, "1e308")).ec == ErrorCode::kOk);
  }
}

TEST_CASE("A CLOSE without ticket is MISSING_TICKET with status REJECTED", "[transport]") {
  const Decoded d = Decode(R"({"action":"CLOSE","uuid":"c-1"})");
  CHECK(d.ec == ErrorCode::kMissingTicket);
  CHECK(d.status == "REJECTED");
  CHECK(Str(d.req.uuid.view()) == "c-1");
}

TEST_CASE("A ticket must be a positive integer", "[transport]") {
  for (std::string_view bad :
       {"0", "-5", "1.5", "5.0", R"("5")", "null", "true", "[5]", "18446744073709551615"}) {
    const std::string body = R"({"action":"CLOSE","uuid":"c-1","ticket":)" + std::string(bad) + "}";
    INFO(body);
    const Decoded d = Decode(body);
    CHECK(d.ec == ErrorCode::kInvalidField);
    CHECK(d.status == "REJECTED");
  }
  CHECK(
      Decode(R"({"action":"CLOSE","uuid":"c-1","ticket":9223372036854775807})").req.ticket.value ==
      INT64_MAX);
}

TEST_CASE("A field of the wrong type is INVALID_FIELD with status REJECTED", "[transport]") {
  const Decoded d = Decode(OpenWith("magic", R"("123")"));
  CHECK(d.ec == ErrorCode::kInvalidField);
  CHECK(d.status == "REJECTED");
}

TEST_CASE("Wrong JSON types for symbol, comment and magic are INVALID_FIELD", "[transport]") {
  for (std::string_view bad : {"1", "null", "true", R"(["EURUSD"])", R"({"s":1})"}) {
    INFO(bad);
    CHECK(Decode(OpenReplacing("symbol", bad)).ec == ErrorCode::kInvalidField);
    CHECK(Decode(OpenWith("comment", bad)).ec == ErrorCode::kInvalidField);
  }
  for (std::string_view bad :
       {R"("1")", "1.5", "1.0", "null", "true", "[1]", "18446744073709551615"}) {
    INFO(bad);
    CHECK(Decode(OpenWith("magic", bad)).ec == ErrorCode::kInvalidField);
  }
  CHECK(Decode(OpenWith("magic", "-7")).req.magic == -7);
}

TEST_CASE("A symbol longer than 64 bytes is INVALID_FIELD", "[transport]") {
  CHECK(Decode(OpenReplacing("symbol", "\"" + std::string(64, 'S') + "\"")).ec == ErrorCode::kOk);
  CHECK(Decode(OpenReplacing("symbol", "\"" + std::string(65, 'S') + "\"")).ec ==
        ErrorCode::kInvalidField);
}

TEST_CASE("A comment of 31 bytes passes and one of 32 is INVALID_FIELD", "[transport]") {
  const Decoded ok = Decode(OpenWith("comment", "\"" + std::string(31, 'c') + "\""));
  REQUIRE(ok.ec == ErrorCode::kOk);
  CHECK(ok.req.comment.size() == 31);
  CHECK(Decode(OpenWith("comment", "\"" + std::string(32, 'c') + "\"")).ec ==
        ErrorCode::kInvalidField);
}

TEST_CASE("timeout_ms must be an integer from 1 to 600000", "[transport]") {
  auto with_timeout = [](std::string_view v) {
    return Decode(std::string(R"({"action":"GET_ACCOUNT","timeout_ms":)") + std::string(v) + "}");
  };
  CHECK(with_timeout("1").req.timeout_ms == 1);
  CHECK(with_timeout("600000").req.timeout_ms == 600000);
  for (std::string_view bad : {"0", "-1", "600001", "1.5", "1000.0", R"("1000")", "null", "true"}) {
    INFO(bad);
    const Decoded d = with_timeout(bad);
    CHECK(d.ec == ErrorCode::kInvalidField);
    CHECK(d.status == "error");  // GET_ACCOUNT is not an order
  }
  const Decoded order = Decode(OpenWith("timeout_ms", "600001"));
  CHECK(order.ec == ErrorCode::kInvalidField);
  CHECK(order.status == "REJECTED");
  CHECK(Decode(OpenWith("timeout_ms", "2500")).req.timeout_ms == 2500);
}

TEST_CASE("A bad risk_signature is RISK_SIGNATURE_INVALID with status REJECTED", "[transport]") {
  const Decoded d = Decode(OpenWith("risk_signature", R"("nonsense")"));
  CHECK(d.ec == ErrorCode::kRiskSignatureInvalid);
  CHECK(d.status == "REJECTED");
  CHECK(Str(ErrorCodeName(d.ec)) == "RISK_SIGNATURE_INVALID");
}

TEST_CASE("A fresh risk_signature is accepted in basic and extended timestamp form",
          "[transport]") {
  for (bool basic : {true, false}) {
    const std::string sig = Signature(kNow - 1'000'000, basic);
    INFO(sig);
    const Decoded d = Decode(OpenWith("risk_signature", "\"" + sig + "\""));
    REQUIRE(d.ec == ErrorCode::kOk);
    CHECK(Str(d.req.risk_signature.view()) == sig);
  }
  // Without a fraction, too.
  CHECK(Decode(OpenWith("risk_signature", R"("RISK_PASS:abcdefgh:20261125T093550Z")")).ec ==
        ErrorCode::kOk);
}

TEST_CASE("A risk_signature older than the TTL or too far ahead is rejected", "[transport]") {
  DecodeLimits limits;  // 5 s
  auto check = [&](int64_t signed_at) {
    return Decode(OpenWith("risk_signature", "\"" + Signature(signed_at, true) + "\""), limits).ec;
  };
  CHECK(check(kNow - 5'000'000) == ErrorCode::kOk);  // exactly the TTL
  CHECK(check(kNow - 5'000'001) == ErrorCode::kRiskSignatureInvalid);
  CHECK(check(kNow - 60'000'000) == ErrorCode::kRiskSignatureInvalid);
  CHECK(check(kNow + 5'000'000) == ErrorCode::kOk);
  CHECK(check(kNow + 5'000'001) == ErrorCode::kRiskSignatureInvalid);
  limits.signature_ttl_ms = 60'000;
  CHECK(check(kNow - 59'000'000) == ErrorCode::kOk);
}

TEST_CASE("A risk_signature checksum shorter than 8 characters is rejected", "[transport]") {
  auto with_checksum = [](std::string_view c) {
    return Decode(OpenWith("risk_signature", "\"" + Signature(kNow, true, c) + "\"")).ec;
  };
  CHECK(with_checksum("1234567") == ErrorCode::kRiskSignatureInvalid);
  CHECK(with_checksum("") == ErrorCode::kRiskSignatureInvalid);
  CHECK(with_checksum("12345678") == ErrorCode::kOk);
}

TEST_CASE("A risk_signature needs the RISK_PASS prefix", "[transport]") {
  for (std::string_view bad :
       {R"("RISK_FAIL:0123456789abcdef:20261125T093552.000000Z")",
        R"("risk_pass:0123456789abcdef:20261125T093552.000000Z")",
        R"("RISK_PASS0123456789abcdef:20261125T093552.000000Z")",
        R"(" RISK_PASS:0123456789abcdef:20261125T093552.000000Z")", "5", "null", R"("")"}) {
    INFO(bad);
    CHECK(Decode(OpenWith("risk_signature", bad)).ec == ErrorCode::kRiskSignatureInvalid);
  }
}

TEST_CASE("A risk_signature is split on its first two colons only", "[transport]") {
  // The third part is the timestamp, colons and all; a colon inside the checksum cannot be
  // told apart from the separator, so such a signature is read with a short checksum.
  CHECK(Decode(OpenWith("risk_signature",
                        R"("RISK_PASS:0123456789abcdef:2026-11-25T09:35:52.000000Z")"))
            .ec == ErrorCode::kOk);
  CHECK(
      Decode(OpenWith("risk_signature", R"("RISK_PASS:0123:456789abcdef:20261125T093552Z")")).ec ==
      ErrorCode::kRiskSignatureInvalid);
  CHECK(Decode(OpenWith("risk_signature", R"("RISK_PASS:0123456789abcdef")")).ec ==
        ErrorCode::kRiskSignatureInvalid);
  CHECK(Decode(OpenWith("risk_signature", R"("RISK_PASS:0123456789abcdef:")")).ec ==
        ErrorCode::kRiskSignatureInvalid);
  CHECK(Decode(OpenWith("risk_signature",
                        R"("RISK_PASS:0123456789abcdef:20261125T093552.000000Z:extra")"))
            .ec == ErrorCode::kRiskSignatureInvalid);
}

TEST_CASE("A risk_signature on other actions is ignored, as the bridge does", "[transport]") {
  CHECK(Decode(R"({"action":"CLOSE","uuid":"c","ticket":1,"risk_signature":"junk"})").ec ==
        ErrorCode::kOk);
}

// ---------------------------------------------------------------------------------------------
// Envelope problems: all INVALID_JSON, status error.

TEST_CASE("An empty body is INVALID_JSON", "[transport]") {
  CHECK(Decode("").ec == ErrorCode::kInvalidJson);
  CHECK(Decode("   ").ec == ErrorCode::kInvalidJson);
}

TEST_CASE("A top-level array or scalar is INVALID_JSON", "[transport]") {
  for (std::string_view body : {R"([{"action":"PING"}])", "[]", "1", R"("PING")", "null", "true"}) {
    INFO(body);
    const Decoded d = Decode(body);
    CHECK(d.ec == ErrorCode::kInvalidJson);
    CHECK(d.status == "error");
  }
}

TEST_CASE("Trailing garbage and two objects are INVALID_JSON", "[transport]") {
  CHECK(Decode(R"({"action":"PING"}x)").ec == ErrorCode::kInvalidJson);
  CHECK(Decode(R"({"action":"PING"}{"action":"PING"})").ec == ErrorCode::kInvalidJson);
  CHECK(Decode(R"({"action":"PING",})").ec == ErrorCode::kInvalidJson);
  CHECK(Decode(R"({'action':'PING'})").ec == ErrorCode::kInvalidJson);
}

TEST_CASE("Nesting deeper than max_depth is INVALID_JSON", "[transport]") {
  auto nested = [](int levels) {  // root object plus levels-1 nested containers
    std::string body = R"({"action":"PING","x":)";
    for (int i = 1; i < levels - 1; ++i) body += (i % 2) ? "[" : "{\"k\":";
    body += (levels > 1) ? "[1]" : "1";
    for (int i = levels - 2; i >= 1; --i) body += (i % 2) ? "]" : "}";
    body += "}";
    return body;
  };
  CHECK(Decode(nested(16)).ec == ErrorCode::kOk);
  CHECK(Decode(nested(17)).ec == ErrorCode::kInvalidJson);
  CHECK(Decode(nested(1000)).ec == ErrorCode::kInvalidJson);
  DecodeLimits limits;
  limits.max_depth = 3;
  CHECK(Decode(R"({"action":"PING","a":{"b":[]}})", limits).ec == ErrorCode::kOk);
  CHECK(Decode(R"({"action":"PING","a":{"b":[[]]}})", limits).ec == ErrorCode::kInvalidJson);
  CHECK(Decode(R"({"action":"PING","a":{"b":{"c":{}}}})", limits).ec == ErrorCode::kInvalidJson);
  // Back to the default on the same thread: the parser follows the limit both ways.
  CHECK(Decode(nested(16)).ec == ErrorCode::kOk);
}

TEST_CASE("Huge numbers are INVALID_JSON", "[transport]") {
  CHECK(Decode(OpenReplacing("volume", "1e400")).ec == ErrorCode::kInvalidJson);
  CHECK(Decode(OpenWith("price", "-1e400")).ec == ErrorCode::kInvalidJson);
  CHECK(Decode(R"({"action":"CLOSE","uuid":"c","ticket":123456789012345678901234567890})").ec ==
        ErrorCode::kInvalidJson);
}

TEST_CASE("NaN and Infinity literals are INVALID_JSON", "[transport]") {
  for (std::string_view v : {"NaN", "nan", "Infinity", "-Infinity", "inf"}) {
    INFO(v);
    CHECK(Decode(OpenReplacing("volume", v)).ec == ErrorCode::kInvalidJson);
    CHECK(Decode(OpenWith("price", v)).ec == ErrorCode::kInvalidJson);
  }
}

TEST_CASE("A duplicated key is INVALID_JSON, at any level", "[transport]") {
  CHECK(Decode(R"({"action":"PING","action":"PING"})").ec == ErrorCode::kInvalidJson);
  CHECK(Decode(Open(R"("symbol":"EURUSD","type":"BUY","volume":0.1,"volume":100)")).ec ==
        ErrorCode::kInvalidJson);
  CHECK(Decode(R"({"action":"PING","x":{"a":1,"a":2}})").ec == ErrorCode::kInvalidJson);
  CHECK(Decode(R"({"action":"PING","x":[{"a":1},{"a":2}]})").ec == ErrorCode::kOk);
  // Many keys take the sorting path.
  std::string many = R"({"action":"PING")";
  for (int i = 0; i < 500; ++i) many += ",\"k" + std::to_string(i) + "\":" + std::to_string(i);
  CHECK(Decode(many + "}").ec == ErrorCode::kOk);
  CHECK(Decode(many + R"(,"k250":0})").ec == ErrorCode::kInvalidJson);
  // Escapes are resolved before comparing: "\u0061ction" is "action".
  CHECK(Decode(R"({"action":"PING","\u0061ction":"OPEN"})").ec == ErrorCode::kInvalidJson);
}

TEST_CASE("Bytes that are not UTF-8 are INVALID_JSON", "[transport]") {
  for (std::string_view bad : {"\xff", "\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf5\x80\x80\x80"}) {
    std::string body = R"({"action":"PING","x":")" + std::string(bad) + "\"}";
    CHECK(Decode(body).ec == ErrorCode::kInvalidJson);
  }
  CHECK(Decode("{\"action\":\"PING\",\"x\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}").ec ==
        ErrorCode::kOk);
}

TEST_CASE("Unescaped control characters in strings are INVALID_JSON", "[transport]") {
  CHECK(Decode(std::string("{\"action\":\"PI\nNG\"}")).ec == ErrorCode::kInvalidJson);
}

TEST_CASE("The first error reported follows the contract's precedence", "[transport]") {
  // Envelope before action, action before uuid, uuid before fields.
  CHECK(Decode(R"({"symbol":1})").ec == ErrorCode::kMissingAction);
  CHECK(Decode(R"({"action":"NOPE","symbol":1})").ec == ErrorCode::kUnknownAction);
  CHECK(Decode(R"({"action":"OPEN","volume":-1})").ec == ErrorCode::kMissingUuid);
  CHECK(Decode(R"({"action":"OPEN","uuid":"u","volume":-1})").ec == ErrorCode::kMissingSymbol);
}

TEST_CASE("A decode failure leaves no stale fields from an earlier request", "[transport]") {
  Request req;
  REQUIRE(DecodeRequest(Open(kOpenFields), DecodeLimits{}, kNow, &req) == ErrorCode::kOk);
  CHECK(DecodeRequest("{", DecodeLimits{}, kNow, &req) == ErrorCode::kInvalidJson);
  CHECK(req.uuid.view().empty());
  CHECK(req.symbol.empty());
  CHECK(req.volume == 0);
}

TEST_CASE("Decoding needs no heap allocation once warmed up", "[transport]") {
  // Indirect check: the same thread decodes many requests of varying size without failing, and the
  // request type is trivially copyable (fixed inline storage).
  STATIC_REQUIRE(std::is_trivially_copyable_v<Request>);
  for (int i = 0; i < 1000; ++i) {
    const std::string body = Open(kOpenFields);
    REQUIRE(Decode(body).ec == ErrorCode::kOk);
  }
}

// ---------------------------------------------------------------------------------------------
// ErrorStatus beyond what the decoder returns.

TEST_CASE("Pre-send refusals of an order are REJECTED, envelope and service errors are error",
          "[transport]") {
  for (ErrorCode c :
       {ErrorCode::kIdempotencyConflict, ErrorCode::kRiskLimit, ErrorCode::kGatewayBusy,
        ErrorCode::kBridgeDown, ErrorCode::kRiskSignatureInvalid, ErrorCode::kBridgeNoTicket}) {
    INFO(Str(ErrorCodeName(c)));
    CHECK(Str(ErrorStatus(c, true)) == "REJECTED");
    CHECK(Str(ErrorStatus(c, false)) == "error");
  }
  for (ErrorCode c : {ErrorCode::kInvalidJson, ErrorCode::kOversize, ErrorCode::kMissingAction,
                      ErrorCode::kUnknownAction, ErrorCode::kStoreUnavailable, ErrorCode::kNotFound,
                      ErrorCode::kBridgeTimeout}) {
    INFO(Str(ErrorCodeName(c)));
    CHECK(Str(ErrorStatus(c, true)) == "error");
    CHECK(Str(ErrorStatus(c, false)) == "error");
  }
}

TEST_CASE("Every error code has its contract spelling", "[transport]") {
  CHECK(Str(ErrorCodeName(ErrorCode::kStoreUnavailable)) == "STORE_UNAVAILABLE");
  CHECK(Str(ErrorCodeName(ErrorCode::kBridgeNoTicket)) == "BRIDGE_NO_TICKET");
  CHECK(Str(ErrorCodeName(ErrorCode::kIdempotencyConflict)) == "IDEMPOTENCY_CONFLICT");
  CHECK(Str(ErrorCodeName(ErrorCode::kGatewayBusy)) == "GATEWAY_BUSY");
  CHECK(Str(ActionName(Action::kOrderStatus)) == "ORDER_STATUS");
  CHECK(Str(OrderTypeName(OrderType::kSellLimit)) == "SELL_LIMIT");
}

// ---------------------------------------------------------------------------------------------
// Encoders.

std::string RoundTripString(std::string_view s) {
  std::string json = "{\"s\":";
  AppendJsonString(absl::string_view(s.data(), s.size()), &json);
  json += "}";
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  REQUIRE(parser.parse(json).get(root) == simdjson::SUCCESS);
  std::string_view back;
  REQUIRE(root["s"].get(back) == simdjson::SUCCESS);
  return std::string(back);
}

TEST_CASE("Strings with quotes, backslashes and control characters round-trip", "[transport]") {
  const std::string tricky = std::string("a\"b\\c/d\n\t\r\b\f") + std::string(1, '\0') +
                             "\x01\x1f\x7f" + "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
  CHECK(RoundTripString(tricky) == tricky);
  std::string out;
  AppendJsonString("\x01", &out);
  CHECK(out == "\"\\u0001\"");
}

TEST_CASE("Invalid UTF-8 handed to the encoder still yields valid JSON", "[transport]") {
  CHECK(RoundTripString("a\xff"
                        "b") ==
        "a\xef\xbf\xbd"
        "b");
  CHECK(RoundTripString("\xc3") == "\xef\xbf\xbd");
}

TEST_CASE("Numbers are written in shortest round-trip form, non-finite as null", "[transport]") {
  auto num = [](double v) {
    std::string s;
    AppendJsonNumber(v, &s);
    return s;
  };
  CHECK(num(0.1) == "0.1");
  CHECK(num(1.0) == "1");
  CHECK(num(1.1) == "1.1");
  CHECK(num(1e300) == "1e+300");
  // Integral doubles past the 64-bit integers keep a fraction, or a 64-bit parser refuses them.
  CHECK(num(92233720368547758071.2) == "92233720368547758080.0");
  CHECK(num(-18446744073709551616.0) == "-18446744073709551616.0");
  CHECK(num(-1e19) == "-1e+19");  // already a double by its exponent
  CHECK(num(9007199254740993.0) == "9007199254740992");
  CHECK(num(std::numeric_limits<double>::infinity()) == "null");
  CHECK(num(std::numeric_limits<double>::quiet_NaN()) == "null");
  CHECK(IsValidJson("[" + num(1e300) + "," + num(5e-324) + "," + num(-0.0) + "]"));
}

TEST_CASE("An accepted OPEN with a price past the 64-bit integers re-encodes to a readable request",
          "[transport]") {
  const Decoded d = Decode(OpenWith("price", "92233720368547758071.2"));
  REQUIRE(d.ec == ErrorCode::kOk);
  std::string wire;
  EncodeBridgeRequest(d.req, {}, &wire);
  INFO(wire);
  CHECK(IsValidJson(wire));
  const Decoded back = Decode(wire);
  REQUIRE(back.ec == ErrorCode::kOk);
  CHECK(back.req.price == d.req.price);
}

TEST_CASE("An OPEN for the bridge carries the order fields and our signature only", "[transport]") {
  const std::string body = Open(
      R"("symbol":"EURUSD","type":"buy_limit","volume":0.10,"price":1.1,"comment":"q\"x","magic":7,"timeout_ms":900,"risk_signature":"RISK_PASS:strategys:20261125T093552Z")");
  const Decoded d = Decode(body);
  REQUIRE(d.ec == ErrorCode::kOk);
  std::string out;
  EncodeBridgeRequest(d.req, "RISK_PASS:0011223344556677:20261125T093552.123456Z", &out);
  CHECK(
      out ==
      R"({"action":"OPEN","uuid":"ord-1","symbol":"EURUSD","type":"BUY_LIMIT","volume":0.1,"price":1.1,"sl":0,"tp":0,"comment":"q\"x","magic":7,"risk_signature":"RISK_PASS:0011223344556677:20261125T093552.123456Z"})");
  CHECK(IsValidJson(out));
}

TEST_CASE("An OPEN for the bridge omits an empty comment and an absent magic", "[transport]") {
  const Decoded d = Decode(OpenReplacing("", ""));
  REQUIRE(d.ec == ErrorCode::kOk);
  std::string out;
  EncodeBridgeRequest(d.req, "RISK_PASS:0011223344556677:20261125T093552.123456Z", &out);
  CHECK(out.find("comment") == std::string::npos);
  CHECK(out.find("magic") == std::string::npos);
  CHECK(IsValidJson(out));
}

TEST_CASE("A CLOSE for the bridge carries uuid and ticket", "[transport]") {
  const Decoded d = Decode(R"({"action":"close","uuid":"c-1","ticket":42,"timeout_ms":100})");
  REQUIRE(d.ec == ErrorCode::kOk);
  std::string out = "prefix";
  EncodeBridgeRequest(d.req, "ignored", &out);
  CHECK(out == R"(prefix{"action":"CLOSE","uuid":"c-1","ticket":42})");
}

TEST_CASE("An ORDER_STATUS query for the bridge is a small object", "[transport]") {
  std::string out;
  EncodeBridgeOrderStatus("ord-1", &out);
  CHECK(out == R"({"uuid":"ord-1","action":"ORDER_STATUS"})");
}

TEST_CASE("An error reply has uuid, status, code, message and timestamp", "[transport]") {
  std::string out;
  EncodeErrorReply("ord-1", ErrorCode::kInvalidVolume, true, "", kNow, &out);
  CHECK(out.rfind(
            R"({"uuid":"ord-1","status":"REJECTED","error_code":"INVALID_VOLUME","error_msg":")",
            0) == 0);
  CHECK(out.find(R"("timestamp":"2026-11-25T09:35:52.123456Z"})") != std::string::npos);
  CHECK(IsValidJson(out));

  out.clear();
  EncodeErrorReply("", ErrorCode::kInvalidJson, false, "bad \"body\"\n", kNow, &out);
  CHECK(
      out.rfind(
          R"({"uuid":null,"status":"error","error_code":"INVALID_JSON","error_msg":"bad \"body\"\u000a")",
          0) == 0);
  CHECK(IsValidJson(out));
}

TEST_CASE("Gateway fields are added to a normal object", "[transport]") {
  std::string out;
  AppendWithGatewayFields(R"({"uuid":"u","status":"FILLED","ticket":5})", true, 1234, &out);
  CHECK(out == R"({"uuid":"u","status":"FILLED","ticket":5,"duplicate":true,"gateway_us":1234})");
  CHECK(IsValidJson(out));
}

TEST_CASE("Gateway fields are added to an empty object without a leading comma", "[transport]") {
  for (std::string_view empty : {"{}", "{ }", " {\n}\n "}) {
    std::string out;
    AppendWithGatewayFields(absl::string_view(empty.data(), empty.size()), false, 0, &out);
    INFO(out);
    CHECK(IsValidJson(out));
    CHECK(out.find("\"duplicate\":false,\"gateway_us\":0}") != std::string::npos);
  }
}

TEST_CASE("Gateway fields survive trailing whitespace and nested braces", "[transport]") {
  std::string out = "x";
  AppendWithGatewayFields("{\"a\":{\"b\":\"}\"}}\r\n", false, -3, &out);
  CHECK(out == R"(x{"a":{"b":"}"},"duplicate":false,"gateway_us":-3})");
  CHECK(IsValidJson(out.substr(1)));
}

TEST_CASE("Timestamps round-trip in both forms", "[transport]") {
  for (int64_t t : {kNow, int64_t{0}, int64_t{1709251199999999}, int64_t{-500000},
                    int64_t{951782400000000} /* 2000-02-29 */, int64_t{253402300799999999}}) {
    for (bool basic : {true, false}) {
      std::string s;
      AppendIsoTimestamp(t, basic, &s);
      int64_t back = 0;
      INFO(s);
      REQUIRE(ParseIsoTimestamp(s, &back));
      CHECK(back == t);
      CHECK((s.find(':') == std::string::npos) == basic);
    }
  }
  std::string s;
  AppendIsoTimestamp(kNow, true, &s);
  CHECK(s == "20261125T093552.123456Z");
  s.clear();
  AppendIsoTimestamp(kNow, false, &s);
  CHECK(s == "2026-11-25T09:35:52.123456Z");
  s.clear();
  AppendIsoTimestamp(-500000, false, &s);
  CHECK(s == "1969-12-31T23:59:59.500000Z");
}

TEST_CASE("Timestamps at the ends of int64 are written without overflow", "[transport]") {
  std::string s;
  AppendIsoTimestamp(INT64_MIN, true, &s);
  AppendIsoTimestamp(INT64_MAX, false, &s);
  CHECK(s.find("T") != std::string::npos);
}

TEST_CASE("Timestamp parsing accepts fractions of 0 to 9 digits and nothing malformed",
          "[transport]") {
  int64_t t = 0;
  CHECK(ParseIsoTimestamp("20261125T093552Z", &t));
  CHECK(t == kNow - 123456);
  CHECK(ParseIsoTimestamp("2026-11-25T09:35:52.1Z", &t));
  CHECK(t == kNow - 123456 + 100000);
  CHECK(ParseIsoTimestamp("2026-11-25T09:35:52.123456789Z", &t));
  CHECK(t == kNow);
  for (std::string_view bad : {"",
                               "2026-11-25T09:35:52",
                               "2026-11-25T09:35:52.123456",
                               "2026-11-25 09:35:52Z",
                               "2026-11-25T09:35:52.Z",
                               "2026-11-25T09:35:52.1234567890Z",
                               "2026-13-25T09:35:52Z",
                               "2026-02-29T09:35:52Z",
                               "2026-11-31T00:00:00Z",
                               "2026-11-25T24:00:00Z",
                               "2026-11-25T09:60:00Z",
                               "2026-11-25T09:35:60Z",
                               "2026-11-25T09:35:52+00:00",
                               "2026-1125T093552Z",
                               "20261125T09:35:52Z",
                               "2026-11-25T09:35:52z",
                               "2026-11-25t09:35:52Z",
                               "2026-11-25T09:35:52ZZ",
                               "+2026-11-25T09:35:52Z",
                               "2026-11-25T9:35:52Z"}) {
    INFO(bad);
    CHECK_FALSE(ParseIsoTimestamp(absl::string_view(bad.data(), bad.size()), &t));
  }
  CHECK(ParseIsoTimestamp("2024-02-29T00:00:00Z", &t));
}

// ---------------------------------------------------------------------------------------------
// Bridge replies.

TEST_CASE("A FILLED reply with a ticket is Filled", "[transport]") {
  const BridgeReply r = DecodeBridgeReply(
      R"({"uuid":"ord-1","status":"FILLED","ticket":98765,"symbol":"EURUSD","volume":0.1,"price":1.1,"execution_time":"x","latency_ms":3.2})");
  CHECK(r.parsed);
  CHECK(r.has_uuid);
  CHECK(Str(r.uuid.view()) == "ord-1");
  CHECK(r.status == BridgeStatus::kFilled);
  CHECK(r.ticket.value == 98765);
  CHECK(r.error_code.empty());
}

TEST_CASE("A FILLED reply with ticket 0 or none is NoTicket", "[transport]") {
  CHECK(DecodeBridgeReply(R"({"uuid":"u","status":"FILLED","ticket":0})").status ==
        BridgeStatus::kNoTicket);
  CHECK(DecodeBridgeReply(R"({"uuid":"u","status":"FILLED"})").status == BridgeStatus::kNoTicket);
  CHECK(DecodeBridgeReply(R"({"uuid":"u","status":"FILLED","ticket":null})").status ==
        BridgeStatus::kNoTicket);
}

TEST_CASE("A FILLED reply with a ticket in another numeric form still counts as Filled",
          "[transport]") {
  BridgeReply r = DecodeBridgeReply(R"({"status":"FILLED","ticket":77.0})");
  CHECK(r.status == BridgeStatus::kFilled);
  CHECK(r.ticket.value == 77);
  r = DecodeBridgeReply(R"({"status":"FILLED","ticket":"78"})");
  CHECK(r.status == BridgeStatus::kFilled);
  CHECK(r.ticket.value == 78);
}

TEST_CASE("A FILLED reply with an unreadable ticket is Other, never NoTicket", "[transport]") {
  for (std::string_view t : {R"("abc")", "-1", "1.5", "true", "[1]", "18446744073709551615"}) {
    const std::string body = R"({"status":"FILLED","ticket":)" + std::string(t) + "}";
    INFO(body);
    CHECK(DecodeBridgeReply(body).status == BridgeStatus::kOther);
  }
}

TEST_CASE("A REJECTED reply keeps its error code", "[transport]") {
  const BridgeReply r = DecodeBridgeReply(
      R"({"uuid":"u-2","status":"REJECTED","error_code":"RISK_SIGNATURE_INVALID","error_msg":"Signature expired","timestamp":"t"})");
  CHECK(r.parsed);
  CHECK(r.status == BridgeStatus::kRejected);
  CHECK(Str(r.error_code.view()) == "RISK_SIGNATURE_INVALID");
  CHECK(r.ticket.value == 0);
}

TEST_CASE("ok and error replies are told apart, case-insensitively", "[transport]") {
  CHECK(DecodeBridgeReply(R"({"uuid":"p","status":"ok","server_time":"x"})").status ==
        BridgeStatus::kOk);
  CHECK(DecodeBridgeReply(R"({"status":"OK"})").status == BridgeStatus::kOk);
  const BridgeReply e =
      DecodeBridgeReply(R"({"uuid":null,"status":"error","error_code":"UNKNOWN_ACTION"})");
  CHECK(e.status == BridgeStatus::kError);
  CHECK_FALSE(e.has_uuid);
  CHECK(Str(e.error_code.view()) == "UNKNOWN_ACTION");
  CHECK(DecodeBridgeReply(R"({"status":"PENDING"})").status == BridgeStatus::kOther);
  CHECK(DecodeBridgeReply(R"({"uuid":"x"})").status == BridgeStatus::kOther);
  CHECK(DecodeBridgeReply(R"({"status":1})").status == BridgeStatus::kOther);
}

TEST_CASE("A reply uuid that is no ClientOrderId is present but empty", "[transport]") {
  const BridgeReply r = DecodeBridgeReply(R"({"uuid":"not valid!","status":"ok"})");
  CHECK(r.has_uuid);
  CHECK(r.uuid.empty());
  CHECK_FALSE(DecodeBridgeReply(R"({"uuid":5,"status":"ok"})").has_uuid);
}

TEST_CASE("Garbage from the bridge is not parsed", "[transport]") {
  for (std::string_view body :
       {"", "garbage", "[1,2]", "\"FILLED\"", R"({"status":"FILLED")", "{\"status\":\"\xff\"}"}) {
    const BridgeReply r = DecodeBridgeReply(absl::string_view(body.data(), body.size()));
    INFO(body);
    CHECK_FALSE(r.parsed);
    CHECK(r.status == BridgeStatus::kOther);
  }
}

TEST_CASE("A large GET_POSITIONS reply parses", "[transport]") {
  std::string body = R"({"uuid":"g","status":"ok","positions":[)";
  for (int i = 0; i < 2000; ++i) {
    if (i) body += ",";
    body +=
        R"({"ticket":)" + std::to_string(i + 1) +
        R"(,"symbol":"EURUSD","type":"BUY","volume":0.1,"open_price":1.1,"current_price":1.2,"profit":3.5})";
  }
  body += "]}";
  const BridgeReply r = DecodeBridgeReply(body);
  CHECK(r.parsed);
  CHECK(r.status == BridgeStatus::kOk);
}

}  // namespace
}  // namespace ordergate
