// JSON codec for both links: decoding front-end requests with the contract's validation, decoding
// bridge replies, encoding bridge requests and gateway replies with correct escaping.
//
//   DecodeLimits limits;                 // max_request_bytes, max_volume, ...
//   Request req;
//   ErrorCode ec = DecodeRequest(body, limits, now_unix_us, &req);
//   std::string out;
//   if (ec != ErrorCode::kOk) EncodeErrorReply(req.uuid.view(), ec, IsOrderAction(req.action), "",
//   now, &out);
//
// Thread-safety: every function is reentrant; DecodeRequest/DecodeBridgeReply use a thread_local
// parser, so they allocate only when a message is larger than any seen before on that thread.
// Nothing here blocks.
//
// By idea: codec_decode_request.cc, codec_decode_bridge_reply.cc, codec_encode.cc (this header);
// JSON values written by hand in transport/json_write.h, ISO timestamps in transport/iso_time.h
// (both included here, so that includers of the codec keep seeing them).
#ifndef ORDERGATE_TRANSPORT_CODEC_H_
#define ORDERGATE_TRANSPORT_CODEC_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "transport/iso_time.h"    // AppendIsoTimestamp, ParseIsoTimestamp
#include "transport/json_write.h"  // AppendJsonString, AppendJsonNumber
#include "transport/order.h"

namespace ordergate {

struct DecodeLimits {
  size_t max_request_bytes = 16384;  // larger bodies: kOversize (not parsed)
  double max_volume = 1000.0;        // volume above it: kInvalidVolume
  int max_depth = 16;                // deeper nesting: kInvalidJson
  int64_t signature_ttl_ms = 5000;   // a strategy's own risk_signature older than this: rejected
};

// Decodes one front-end request body. On kOk, `out` is fully validated for its action:
//   - `action` case-insensitive; missing/empty/not a string -> kMissingAction; unknown ->
//     kUnknownAction.
//   - OPEN/CLOSE/ORDER_STATUS: uuid required (kMissingUuid), valid ClientOrderId (kInvalidUuid,
//     also for a non-string). PING/GET_*: optional; a non-string -> kInvalidUuid, but any string
//     is accepted as the bridge does (the contract restricts its form only for orders) and is
//     captured in `out->uuid` only when it is a valid ClientOrderId.
//   - OPEN: symbol (kMissingSymbol, also ""; non-string or > 64 bytes -> kInvalidField), type
//     (kMissingType, also ""; unknown or non-string -> kInvalidType; case-insensitive), volume
//     finite, > 0, <= max_volume, a JSON number, integer or not (kInvalidVolume, also when absent),
//     price/sl/tp finite numbers >= 0 (kInvalidPrice), comment string <= 31 bytes (kInvalidField),
//     magic an int64 JSON integer (kInvalidField; 7.0 is not an integer). Fields of other actions
//     (ticket) are ignored.
//   - CLOSE: ticket a positive int64 JSON integer (kMissingTicket when absent; kInvalidField
//     otherwise). OPEN-only fields are ignored.
//   - GET_POSITIONS: symbol, when present, a string <= 64 bytes (kInvalidField) -> status_symbol.
//   - timeout_ms (any action) an integer 1..600000 (kInvalidField).
//   - risk_signature, on OPEN only (the bridge ignores it elsewhere), when present:
//     "RISK_PASS:<checksum>:<timestamp>" split on the first two colons, checksum >= 8 chars,
//     timestamp ISO 8601 (basic or extended, UTC) not older than signature_ttl_ms and not more
//     than signature_ttl_ms in the future -> else kRiskSignatureInvalid (also for a non-string).
//   - Body larger than max_request_bytes -> kOversize. Not an object, empty, invalid JSON or
//     UTF-8, NaN/Infinity literals, numbers out of double range, integers beyond uint64 (simdjson
//     rejects the whole document, so a huge ticket is kInvalidJson, not kInvalidField), nesting
//     deeper than max_depth (the root object is depth 1), a duplicated key in any object ->
//     kInvalidJson. Unknown fields are ignored (as the bridge does).
// Checks run in that order: envelope, action, uuid, timeout_ms, then the action's fields in the
// bridge's order (symbol, type, volume, ...); the first failure is returned.
// Even on error, `out->action` and `out->uuid` are filled when they could be read, so the error
// reply can echo the uuid; `*out` is reset first. Never throws; allocates nothing per call after
// warm-up.
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

// The ticket is read leniently (int, integral double, or digit string), because misreading a real
// ticket as none would turn an executed order into BRIDGE_NO_TICKET. A FILLED whose ticket is
// present but unreadable (negative, fractional, another type) is kOther, never kNoTicket; a null
// ticket counts as absent. Status texts are matched case-insensitively.
struct BridgeReply {
  bool parsed = false;    // false: not a JSON object (the gateway cannot learn the outcome)
  bool has_uuid = false;  // the member exists and is a string
  InlineString<64> uuid;  // empty when absent or not a valid ClientOrderId
  BridgeStatus status = BridgeStatus::kOther;
  Ticket ticket;                // > 0 only when the bridge sent a readable positive ticket
  InlineString<64> error_code;  // as the bridge sent it (empty when absent, not a string or > 64)
};

// Decodes a bridge reply body. Never throws; unparseable input yields parsed=false.
BridgeReply DecodeBridgeReply(absl::string_view body);

// The canonical order fields as one byte string, replacing *out. Numbers in shortest round-trip
// form with -0 folded into 0, so 0.10 and 0.1 are the same order; strings length-prefixed
// ("<bytes>:<text>") so no content can alias a separator:
//   OPEN:  "OPEN|<symbol>|<TYPE>|<volume>|<price>|<sl>|<tp>|<magic>|<comment>"
//          e.g. "OPEN|6:EURUSD|BUY|0.1|1.1|1|1.2|7|1:c"  (absent magic is 0: the bridge drops it)
//   CLOSE: "CLOSE|<ticket>"
//   other actions: the action name alone (they are never fingerprinted).
// Stored fingerprints depend on this format: changing it makes retries of stored orders conflict.
void CanonicalOrderFields(const Request& r, std::string* out);

// Encodes the request ordergate sends to the bridge for an OPEN/CLOSE: the order's fields plus
// `risk_signature` (OPEN only; omitted when empty) — never the strategy's own signature or
// timeout_ms. `comment` is omitted when empty, `magic` when not given. Other actions get
// {"action","uuid"} (+ "symbol" for a GET_POSITIONS filter). Appends to *out.
void EncodeBridgeRequest(const Request& r, absl::string_view risk_signature, std::string* out);

// Encodes {"uuid":..,"action":"ORDER_STATUS"} for resolving an UNKNOWN at the bridge.
void EncodeBridgeOrderStatus(absl::string_view uuid, std::string* out);

// {"uuid":..,"status":..[,"error_code":..][,"error_msg":..],"timestamp":..}: the shape of every
// reply ordergate composes itself (errors, PENDING, UNKNOWN). Empty `code`/`msg` are left out;
// empty `uuid` -> "uuid":null. Appends to *out.
void EncodeStatusReply(absl::string_view uuid, absl::string_view status, absl::string_view code,
                       absl::string_view msg, int64_t now_unix_us, std::string* out);

// Error reply: {"uuid":..,"status":ErrorStatus(c),"error_code":..,"error_msg":..,"timestamp":..}.
// `uuid` empty -> "uuid":null. `msg` empty -> a fixed text for the code. Appends to *out.
void EncodeErrorReply(absl::string_view uuid, ErrorCode c, bool is_order, absl::string_view msg,
                      int64_t now_unix_us, std::string* out);

// Takes a JSON object text (a bridge reply, or a stored one) and appends it to *out with
// ,"duplicate":<dup>,"gateway_us":<us> added before its closing brace (no comma for "{}"; trailing
// whitespace dropped). Existing "duplicate" or "gateway_us" members are not removed (the bridge
// sends neither). `object` must be a JSON object; text that does not even look like one ('{'...'}')
// is appended unchanged.
void AppendWithGatewayFields(absl::string_view object, bool duplicate, int64_t gateway_us,
                             std::string* out);

// The reply an MT5-CRS JSON v1 strategy gets (protocol.md section 2a) for a reply object of
// ordergate's (a bridge reply, a stored outcome, or one of ordergate's own status/error replies):
// {"error":bool,"ticket":int,"msg":str,"retcode":int,"duplicate":bool,"gateway_us":int}. FILLED
// with a ticket: error false, retcode 10009. UNKNOWN and PENDING: -1. A missing member: -2; one out
// of range: -3. A bridge's refusal: its MT5 retcode ("retcode" member, or "retcode N" in its
// error_msg), else -4; any refusal of ordergate's: -4. `msg` names the status and the error code.
// Appends to *out. Never throws; an object it cannot parse becomes an error with retcode -4.
void EncodeV1Reply(absl::string_view reply_object, bool duplicate, int64_t gateway_us,
                   std::string* out);

}  // namespace ordergate

#endif  // ORDERGATE_TRANSPORT_CODEC_H_
