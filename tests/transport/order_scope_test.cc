// The names of an order (transport/order_scope.h): its store key and its bridge uuid, per client.
#include "transport/order_scope.h"

#include <catch2/catch.hpp>
#include <set>
#include <string>

#include "transport/order.h"

namespace ordergate {
namespace {

std::string Key(absl::string_view identity, absl::string_view uuid) {
  std::string out;
  AppendStoreKey(identity, uuid, &out);
  return out;
}

std::string BridgeUuid(absl::string_view identity, absl::string_view uuid) {
  std::string out;
  AppendBridgeUuid(identity, uuid, &out);
  return out;
}

TEST_CASE("without an identity both the store key and the bridge uuid are the uuid itself",
          "[transport]") {
  CHECK(Key("", "ord-1") == "ord-1");
  CHECK(BridgeUuid("", "ord-1") == "ord-1");
  const ScopedUuid s = SplitStoreKey("ord-1");
  CHECK(s.identity.empty());
  CHECK(s.uuid == "ord-1");
  CHECK(OrderLabel("ord-1") == "ord-1");
}

TEST_CASE("two clients sending the same uuid get two store keys and two bridge uuids",
          "[transport]") {
  CHECK(Key("alice", "ord-1") != Key("bob", "ord-1"));
  CHECK(Key("alice", "ord-1") != Key("", "ord-1"));
  CHECK(BridgeUuid("alice", "ord-1") != BridgeUuid("bob", "ord-1"));
  CHECK(BridgeUuid("alice", "ord-1") != BridgeUuid("alice", "ord-2"));
  // A name and a uuid cannot be cut elsewhere: "al"+"ice:1" and "alice"+":1" are different orders.
  CHECK(Key("al", "ice:1") != Key("alice", ":1"));
  CHECK(BridgeUuid("al", "ice:1") != BridgeUuid("alice", ":1"));
}

TEST_CASE("a store key splits back into its client and uuid, and is labelled client/uuid",
          "[transport]") {
  const std::string key = Key("strategy-a", "ord:7");
  CHECK(key == std::string("strategy-a\0ord:7", 16));
  const ScopedUuid s = SplitStoreKey(key);
  CHECK(s.identity == "strategy-a");
  CHECK(s.uuid == "ord:7");
  CHECK(OrderLabel(key) == "strategy-a/ord:7");
}

TEST_CASE(
    "a named client's bridge uuid is stable, within the contract's uuid rules, and 'og' with 32 "
    "hex digits of SHA-256",
    "[transport]") {
  const std::string b = BridgeUuid("strategy-a", "ord-1");
  CHECK(b == BridgeUuid("strategy-a", "ord-1"));  // a restart asks under the same name
  CHECK(b.size() == 34);
  CHECK(b.rfind("og", 0) == 0);
  CHECK(b.find_first_not_of("0123456789abcdef", 2) == std::string::npos);
  CHECK(IsValidClientOrderId(b));
  // The longest uuid and a long name still give 34 characters.
  const std::string longest(64, 'x');
  CHECK(BridgeUuid(std::string(255, 'n'), longest).size() == 34);
  // SHA-256("strategy-a\0ord-1")'s first 16 bytes, computed independently (Python hashlib).
  CHECK(b == "og913d13f5c6d8ae83029f518328d083c2");
}

TEST_CASE("ten thousand clients sending the same hundred uuids never share a bridge uuid",
          "[transport]") {
  std::set<std::string> seen;
  for (int c = 0; c < 10000; ++c) {
    for (int u = 0; u < 100; ++u) {
      seen.insert(BridgeUuid("client-" + std::to_string(c), "u" + std::to_string(u)));
    }
  }
  CHECK(seen.size() == 1000000);
}

}  // namespace
}  // namespace ordergate
