// The wire side of ordergate::Client (transport/public_client_wire.h), without a socket: the
// uuids it makes, the bodies it sends and how it reads each kind of reply.
#include "transport/public_client_wire.h"

#include <simdjson.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <string>

namespace ordergate::transport {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

TEST_CASE("A new uuid is a UUIDv4 that the wire accepts, and a thousand are all different",
          "[transport][client]") {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    const std::string u = NewUuidV4();
    INFO(u);
    REQUIRE(u.size() == 36);
    for (size_t k = 0; k < u.size(); ++k) {
      if (k == 8 || k == 13 || k == 18 || k == 23) {
        REQUIRE(u[k] == '-');
      } else {
        REQUIRE(IsLowerHex(u[k]));
      }
    }
    CHECK(u[14] == '4');                                                    // version 4
    CHECK((u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b'));  // variant 10
    CHECK(IsWireUuid(u));
    seen.insert(u);
  }
  CHECK(seen.size() == 1000);
}

TEST_CASE("The wire's uuid rule takes 1 to 64 characters of [A-Za-z0-9._:-] and nothing else",
          "[transport][client]") {
  CHECK(IsWireUuid("a"));
  CHECK(IsWireUuid("Strat_7.order:0001-x"));
  CHECK(IsWireUuid(std::string(64, 'z')));
  CHECK_FALSE(IsWireUuid(""));
  CHECK_FALSE(IsWireUuid(std::string(65, 'z')));
  CHECK_FALSE(IsWireUuid("with space"));
  CHECK_FALSE(IsWireUuid("hash#1"));
  CHECK_FALSE(IsWireUuid("quote\""));
}

TEST_CASE("An order's body carries its uuid, its fields and the attempt's timeout_ms",
          "[transport][client]") {
  Order o;
  o.uuid = "s1-7";
  o.symbol = "EURUSD";
  o.type = TradeType::kSellLimit;
  o.volume = 0.1;
  o.price = 1.2345;
  o.comment = "hi \"there\"";
  o.magic = 42;
  std::string body;
  WriteClientOrderBody(o, 1500, &body);
  simdjson::dom::parser p;
  simdjson::dom::element doc = p.parse(body);
  CHECK(std::string_view(doc["action"]) == "OPEN");
  CHECK(std::string_view(doc["uuid"]) == "s1-7");
  CHECK(std::string_view(doc["symbol"]) == "EURUSD");
  CHECK(std::string_view(doc["type"]) == "SELL_LIMIT");
  CHECK(double(doc["volume"]) == 0.1);
  CHECK(double(doc["price"]) == 1.2345);
  CHECK(std::string_view(doc["comment"]) == "hi \"there\"");
  CHECK(int64_t(doc["magic"]) == 42);
  CHECK(int64_t(doc["timeout_ms"]) == 1500);

  Order c;
  c.uuid = "s1-8";
  c.action = OrderAction::kClose;
  c.ticket = 1001;
  WriteClientOrderBody(c, 0, &body);
  simdjson::dom::element close = p.parse(body);
  CHECK(std::string_view(close["action"]) == "CLOSE");
  CHECK(int64_t(close["ticket"]) == 1001);
  CHECK(close["timeout_ms"].error() == simdjson::NO_SUCH_FIELD);

  o.volume = std::nan("");
  CHECK(NonFiniteField(o) == "INVALID_VOLUME");
  o.volume = 1;
  o.sl = INFINITY;
  CHECK(NonFiniteField(o) == "INVALID_PRICE");
}

TEST_CASE(
    "Replies are read into the client's decisions: FILLED and UNKNOWN are final, PENDING asks "
    "again, busy and bridge-down refusals are not now, a bridge refusal is recorded and "
    "ordergate's own is not",
    "[transport][client]") {
  ClientReply r;
  REQUIRE(ReadClientReply(
      R"({"uuid":"a","status":"FILLED","ticket":7,"price":1.5,"volume":0.1,"duplicate":true,"gateway_us":12})",
      &r));
  CHECK(r.kind == ReplyKind::kFinal);
  CHECK(r.has_uuid);
  CHECK(r.outcome.uuid == "a");
  CHECK(r.outcome.status == OutcomeStatus::kFilled);
  CHECK(r.outcome.ticket == 7);
  CHECK(r.outcome.price == 1.5);
  CHECK(r.outcome.duplicate);
  CHECK(r.outcome.gateway_us == 12);
  CHECK(r.outcome.recorded);

  REQUIRE(ReadClientReply(R"({"uuid":"a","status":"PENDING"})", &r));
  CHECK(r.kind == ReplyKind::kPending);
  REQUIRE(ReadClientReply(R"({"uuid":"a","status":"UNKNOWN","error_code":"BRIDGE_TIMEOUT"})", &r));
  CHECK(r.kind == ReplyKind::kFinal);
  CHECK(r.outcome.status == OutcomeStatus::kUnknown);
  REQUIRE(ReadClientReply(R"({"uuid":"a","status":"REJECTED","error_code":"GATEWAY_BUSY"})", &r));
  CHECK(r.kind == ReplyKind::kNotNow);
  REQUIRE(ReadClientReply(R"({"uuid":"a","status":"REJECTED","error_code":"BRIDGE_DOWN"})", &r));
  CHECK(r.kind == ReplyKind::kNotNow);
  REQUIRE(ReadClientReply(R"({"uuid":"a","status":"error","error_code":"STORE_UNAVAILABLE"})", &r));
  CHECK(r.kind == ReplyKind::kNotNow);
  REQUIRE(
      ReadClientReply(R"({"uuid":"a","status":"REJECTED","error_code":"MT5_ORDER_FAILED"})", &r));
  CHECK(r.kind == ReplyKind::kFinal);
  CHECK(r.outcome.recorded);
  REQUIRE(ReadClientReply(R"({"uuid":"a","status":"REJECTED","error_code":"IDEMPOTENCY_CONFLICT"})",
                          &r));
  CHECK(r.kind == ReplyKind::kFinal);
  CHECK_FALSE(r.outcome.recorded);
  REQUIRE(ReadClientReply(R"({"uuid":"a","status":"error","error_code":"NOT_FOUND"})", &r));
  CHECK(r.kind == ReplyKind::kNotFound);
  REQUIRE(ReadClientReply(
      R"({"uuid":"p","status":"ok","gateway":{"version":"0.1.0","bridge":"up","client_timeout_ms":1500,"bridge_timeout_ms":6000,"durability":"sync"}})",
      &r));
  CHECK(r.kind == ReplyKind::kPing);
  CHECK(r.gateway.bridge_up);
  CHECK(r.gateway.client_timeout_ms == 1500);
  CHECK(r.gateway.bridge_timeout_ms == 6000);
  CHECK(r.gateway.durability == "sync");
  REQUIRE(ReadClientReply(R"({"uuid":null,"status":"error","error_code":"INVALID_JSON"})", &r));
  CHECK_FALSE(r.has_uuid);
  CHECK_FALSE(ReadClientReply("not json", &r));
}

}  // namespace
}  // namespace ordergate::transport
