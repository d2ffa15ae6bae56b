// JSON codec for both links: decoding front-end requests with the contract's validation, decoding
// bridge replies, encoding bridge requests and gateway replies with correct escaping.
//
//   DecodeLimits limits;                 // max_request_bytes, max_volume, ...
//   Request req;
//   ErrorCode ec = DecodeRequest(body, limits, now_unix_us, &req);
//   std::string out;
//   if (ec != ErrorCode::kOk) EncodeErrorReply(req.uuid.view(), ec, IsOrderAction(req.action), "", now, &out);
//
// Thread-safety: every function is reentrant; DecodeRequest/DecodeBridgeReply use a thread_local
// parser, so they allocate only when a message is larger than any seen before on that thread.
// Nothing here blocks.
#ifndef ORDERGATE_TRANSPORT_CODEC_H_
#define ORDERGATE_TRANSPORT_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "transport/order.h"

namespace ordergate {

struct DecodeLimits {
  size_t max_request_bytes = 16384;   // larger bodies: kOversize (not parsed)
  double max_volume = 1000.0;         // volume above it: kInvalidVolume
  int max_depth = 16;                 // deeper nesting: kInvalidJson
  int64_t signature_ttl_ms = 5000;    // a strategy's own risk_signature older than this: rejected
};

// Decodes one front-end request body. On kOk, `out` is fully validated for its action:
//   - `action` case-insensitive; missing/not a string -> kMissingAction; unknown -> kUnknownAction.
//   - OPEN/CLOSE/ORDER_STATUS: uuid required (kMissingUuid), valid ClientOrderId (kInvalidUuid,
//     also for a non-string).
//   - OPEN: symbol (kMissingSymbol; non-string or > 64 chars -> kInvalidField), type (kMissingType;
//     unknown or non-string -> kInvalidType), volume finite, > 0, <= max_volume, a JSON number
//     (kInvalidVolume), price/sl/tp finite numbers >= 0 (kInvalidPrice), comment string <= 31
//     (kInvalidField), magic integer (kInvalidField).
//   - CLOSE: ticket a positive integer (kMissingTicket when absent; kInvalidField otherwise).
//   - timeout_ms an integer 1..600000 (kInvalidField).
//   - risk_signature, when present: "RISK_PASS:<checksum>:<timestamp>" split on the first two
//     colons, checksum >= 8 chars, timestamp ISO 8601 (basic or extended, UTC) not older than
//     signature_ttl_ms and not more than signature_ttl_ms in the future -> else kRiskSignatureInvalid.
//   - Body larger than max_request_bytes -> kOversize. Not an object, invalid JSON or UTF-8,
//     NaN/Infinity literals, numbers out of double range, nesting deeper than max_depth, a
//     duplicated key -> kInvalidJson. Unknown fields are ignored (as the bridge does).
// Even on error, `out->action` and `out->uuid` are filled when they could be read, so the error
// reply can echo the uuid. Never throws; allocates nothing per call after warm-up.
ErrorCode DecodeRequest(absl::string_view body, const DecodeLimits& limits, int64_t now_unix_us,
                        Request* out);

// What the bridge said, reduced to what the gateway acts on.
enum class BridgeStatus : uint8_t {
  kFilled,    // "FILLED" with ticket > 0
  kNoTicket,  // "FILLED" with ticket 0 or missing: MT5 placed nothing
  kRejected,  // "REJECTED"
  kOk,        // "ok" (PING, GET_*)
  kError,     // "error"
  kOther,     // any other status text, or none
};

struct BridgeReply {
  bool parsed = false;        // false: not a JSON object (the gateway cannot learn the outcome)
  bool has_uuid = false;
  InlineString<64> uuid;      // empty when absent or not a valid ClientOrderId
  BridgeStatus status = BridgeStatus::kOther;
  Ticket ticket;
  InlineString<64> error_code;  // as the bridge sent it (may be empty)
};

// Decodes a bridge reply body. Never throws; unparseable input yields parsed=false.
BridgeReply DecodeBridgeReply(absl::string_view body);

// The canonical order fields (action, symbol, type, volume, price, sl, tp, ticket, magic, comment) as
// one byte string, numbers in shortest round-trip form, so 0.10 and 0.1 are the same order.
void CanonicalOrderFields(const Request& r, std::string* out);

// Encodes the request ordergate sends to the bridge for an OPEN/CLOSE: the order's fields plus
// `risk_signature` (OPEN only) — never the strategy's own signature or timeout_ms. Appends to *out.
void EncodeBridgeRequest(const Request& r, absl::string_view risk_signature, std::string* out);

// Encodes {"uuid":..,"action":"ORDER_STATUS"} for resolving an UNKNOWN at the bridge.
void EncodeBridgeOrderStatus(absl::string_view uuid, std::string* out);

// Error reply: {"uuid":..,"status":ErrorStatus(c),"error_code":..,"error_msg":..,"timestamp":..}.
// `uuid` empty -> "uuid":null. `msg` empty -> a fixed text for the code. Appends to *out.
void EncodeErrorReply(absl::string_view uuid, ErrorCode c, bool is_order, absl::string_view msg,
                      int64_t now_unix_us, std::string* out);

// Takes a JSON object text (a bridge reply, or a stored one) and appends it to *out with
// ,"duplicate":<dup>,"gateway_us":<us> added before its closing brace. Existing "duplicate" or
// "gateway_us" members are not removed (the bridge sends neither). `object` must be a JSON object.
void AppendWithGatewayFields(absl::string_view object, bool duplicate, int64_t gateway_us,
                             std::string* out);

// Appends `s` as a JSON string literal (quotes included), escaping per RFC 8259.
void AppendJsonString(absl::string_view s, std::string* out);
// Appends a double in shortest round-trip form ("0.1", "1e+300"); non-finite values as null.
void AppendJsonNumber(double v, std::string* out);

// ISO 8601 UTC with microseconds, extended ("2026-11-25T09:35:52.123456Z") or basic
// ("20261125T093552.123456Z", the colon-free form a risk_signature needs).
void AppendIsoTimestamp(int64_t unix_us, bool basic, std::string* out);
// Parses either form (fraction optional, 'Z' required). False on anything else.
bool ParseIsoTimestamp(absl::string_view s, int64_t* unix_us);

}  // namespace ordergate

#endif  // ORDERGATE_TRANSPORT_CODEC_H_
