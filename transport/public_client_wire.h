// The wire side of ordergate::Client (include/ordergate/client.h): the OPEN/CLOSE, ORDER_STATUS and
// PING bodies it sends, the uuids it makes, and the replies it reads (docs/protocol.md, section 2).
//
//   std::string body;
//   WriteClientOrderBody(order, /*timeout_ms=*/2000, &body);   // {"action":"OPEN","uuid":...}
//   ClientReply r;
//   if (ReadClientReply(reply_text, &r) && r.kind == ReplyKind::kPending) { /* ask again */ }
//
// Plain functions of their arguments, so that tests/transport drives them without a socket.
// Thread-safety: reentrant (ReadClientReply parses with a thread_local parser). Never throws.
#ifndef ORDERGATE_TRANSPORT_PUBLIC_CLIENT_WIRE_H_
#define ORDERGATE_TRANSPORT_PUBLIC_CLIENT_WIRE_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "ordergate/client.h"
#include "ordergate/order.h"
#include "ordergate/outcome.h"

namespace ordergate::transport {

// 1-64 characters of [A-Za-z0-9._:-], the wire's rule for an order's uuid.
bool IsWireUuid(absl::string_view uuid);

// A UUIDv4 from libsodium's randombytes_buf (lower-case hex, 8-4-4-4-12).
std::string NewUuidV4();

// The field an order's numbers break, or "" when each is finite: "INVALID_VOLUME" for volume,
// "INVALID_PRICE" for price, sl or tp.
absl::string_view NonFiniteField(const Order& order);

// `order` as the front end's OPEN/CLOSE body, with "timeout_ms":timeout_ms (omitted when 0).
// An empty string or a zero ticket is left out, so that the gateway answers its MISSING_* code.
// The embedded gateway writes its orders with it too (then decodes them with the wire's
// DecodeRequest), so both doors and the client share one encoding. REQUIRES: finite numbers
// (NonFiniteField).
void WriteClientOrderBody(const Order& order, int64_t timeout_ms, std::string* out);
// {"action":"ORDER_STATUS","uuid":...,"timeout_ms":...}
void WriteStatusBody(absl::string_view uuid, int64_t timeout_ms, std::string* out);
// {"action":"PING","uuid":...}
void WritePingBody(absl::string_view uuid, std::string* out);

// What a reply says, for the client's decisions.
enum class ReplyKind : uint8_t {
  kFinal,     // FILLED, REJECTED (recorded, or a refusal to fix), UNKNOWN: deliver it
  kPending,   // PENDING: in flight at the gateway; ask again under the same uuid
  kNotNow,    // GATEWAY_BUSY, BRIDGE_DOWN, STORE_UNAVAILABLE: nothing recorded; may retry later
  kNotFound,  // ORDER_STATUS of a uuid the gateway has no record of
  kPing,      // a PING reply (status "ok" with a `gateway` object)
  kOther,     // anything else (no status, an unexpected one): settles nothing
};

struct ClientReply {
  ReplyKind kind = ReplyKind::kOther;
  bool has_uuid = false;  // a string "uuid" member (its text in outcome.uuid)
  Outcome outcome;        // kFinal / kNotNow / kPending: as much of an Outcome as the reply says
  GatewayInfo gateway;    // kPing
};

// Reads one reply body into *out. False when it is not a JSON object.
bool ReadClientReply(absl::string_view body, ClientReply* out);

}  // namespace ordergate::transport

#endif  // ORDERGATE_TRANSPORT_PUBLIC_CLIENT_WIRE_H_
