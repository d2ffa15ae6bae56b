// The relay correlation id swap (transport/relay_uuid.h): the strategy's uuid out, ordergate's in,
// and back again, every other byte unchanged.
#include "transport/relay_uuid.h"

#include <catch2/catch.hpp>
#include <string>

namespace ordergate {
namespace {

TEST_CASE("the top-level uuid of a relay is swapped for ordergate's id and every other byte kept",
          "[transport]") {
  std::string out;
  RelayUuid old;
  REQUIRE(SwapTopLevelUuid(R"({"action":"GET_ACCOUNT", "uuid" : "acct" ,"x":{"uuid":"inner"}})",
                           R"("ordergate#relay-7")", &out, &old));
  CHECK(out == R"({"action":"GET_ACCOUNT", "uuid" : "ordergate#relay-7" ,"x":{"uuid":"inner"}})");
  CHECK(old.present);
  CHECK(old.is_string);
  CHECK(old.text == "acct");
  CHECK(old.json == R"("acct")");
}

TEST_CASE("a relay without a uuid gets ordergate's id as its first member and remembers null",
          "[transport]") {
  std::string out;
  RelayUuid old;
  REQUIRE(
      SwapTopLevelUuid(R"( {"action":"GET_POSITIONS","symbol":"EURUSD"})", R"("r-1")", &out, &old));
  CHECK(out == R"( {"uuid":"r-1","action":"GET_POSITIONS","symbol":"EURUSD"})");
  CHECK_FALSE(old.present);
  CHECK(old.json == "null");
  REQUIRE(SwapTopLevelUuid("{}", R"("r-2")", &out, &old));
  CHECK(out == R"({"uuid":"r-2"})");
}

TEST_CASE("uuids the order charset forbids are carried through escaped as they came",
          "[transport]") {
  std::string out;
  RelayUuid old;
  const std::string body = R"({"uuid":"a\/b \u00e4 \"q\"","action":"GET_ACCOUNT"})";
  REQUIRE(SwapTopLevelUuid(body, R"("id")", &out, &old));
  CHECK(old.text == "a/b \xc3\xa4 \"q\"");
  CHECK(old.json == R"("a\/b \u00e4 \"q\"")");
  // The bridge's reply gets the strategy's uuid back, byte for byte as the strategy wrote it.
  std::string back;
  REQUIRE(
      SwapTopLevelUuid(R"({"uuid":"id","status":"ok","balance":1.5})", old.json, &back, nullptr));
  CHECK(back == R"({"uuid":"a\/b \u00e4 \"q\"","status":"ok","balance":1.5})");
}

TEST_CASE("a null or numeric uuid is replaced whole; text that is not an object is refused",
          "[transport]") {
  std::string out;
  RelayUuid old;
  REQUIRE(SwapTopLevelUuid(R"({"uuid":null,"status":"ok"})", R"("x")", &out, &old));
  CHECK(out == R"({"uuid":"x","status":"ok"})");
  CHECK(old.present);
  CHECK_FALSE(old.is_string);
  REQUIRE(SwapTopLevelUuid(R"({"uuid":42 ,"status":"ok"})", R"("x")", &out, &old));
  CHECK(out == R"({"uuid":"x" ,"status":"ok"})");
  CHECK_FALSE(SwapTopLevelUuid("[1,2]", R"("x")", &out, &old));
  CHECK_FALSE(SwapTopLevelUuid("not json", R"("x")", &out, &old));
  CHECK_FALSE(SwapTopLevelUuid(R"({"uuid":["a"]})", R"("x")", &out, &old));
  RelayUuid read;
  CHECK(ReadTopLevelUuid(R"({"action":"PING","uuid":"\u00e4"})", &read));
  CHECK(read.text == "\xc3\xa4");
  CHECK_FALSE(ReadTopLevelUuid("]", &read));
  CHECK_FALSE(read.present);
}

}  // namespace
}  // namespace ordergate
