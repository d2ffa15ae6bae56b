// The codec's encoders (transport/codec.h): the canonical order fields behind fingerprints, the
// requests ordergate sends to the bridge, the replies it composes itself, and the gateway's fields
// added to a bridge reply.
#include <charconv>
#include <string_view>

#include "transport/codec.h"
#include "transport/iso_time.h"
#include "transport/json_write.h"

namespace ordergate {
namespace {

std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

void AppendInt(int64_t v, std::string* out) {
  char buf[24];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, static_cast<size_t>(res.ptr - buf));
}

void AppendKey(std::string_view key, std::string* out) {
  // Keys are our own identifiers: no escaping needed.
  out->push_back('"');
  out->append(key);
  out->append("\":");
}

// Canonical numbers: shortest round-trip, with -0 folded into 0 (the same price to the bridge).
void AppendCanonicalNumber(double v, std::string* out) {
  if (v == 0) v = 0;
  AppendJsonNumber(v, out);
}

// Length-prefixed, so no byte of a string can be mistaken for a separator.
void AppendCanonicalString(absl::string_view s, std::string* out) {
  AppendInt(static_cast<int64_t>(s.size()), out);
  out->push_back(':');
  out->append(s.data(), s.size());
}

absl::string_view DefaultMessage(ErrorCode c) {
  switch (c) {
    case ErrorCode::kOk:
      return "ok";
    case ErrorCode::kInvalidJson:
      return "Request body is not a valid JSON object";
    case ErrorCode::kOversize:
      return "Request body exceeds max_request_bytes";
    case ErrorCode::kMissingAction:
      return "Missing action";
    case ErrorCode::kUnknownAction:
      return "Unknown action";
    case ErrorCode::kMissingUuid:
      return "Missing uuid";
    case ErrorCode::kInvalidUuid:
      return "uuid must be 1-64 characters of [A-Za-z0-9._:-]";
    case ErrorCode::kMissingSymbol:
      return "Missing symbol";
    case ErrorCode::kMissingType:
      return "Missing order type";
    case ErrorCode::kInvalidType:
      return "Invalid order type";
    case ErrorCode::kInvalidVolume:
      return "Invalid volume";
    case ErrorCode::kInvalidPrice:
      return "Invalid price, sl or tp";
    case ErrorCode::kMissingTicket:
      return "Missing ticket";
    case ErrorCode::kInvalidField:
      return "A field has the wrong type or is out of range";
    case ErrorCode::kIdempotencyConflict:
      return "uuid already used for a different order";
    case ErrorCode::kRiskLimit:
      return "Pre-trade risk limit exceeded";
    case ErrorCode::kGatewayBusy:
      return "Too many orders in flight at the bridge";
    case ErrorCode::kBridgeDown:
      return "Bridge is not connected";
    case ErrorCode::kStoreUnavailable:
      return "Idempotency store unavailable";
    case ErrorCode::kBridgeTimeout:
      return "Bridge did not answer in time";
    case ErrorCode::kNotFound:
      return "No record of this uuid";
    case ErrorCode::kRiskSignatureInvalid:
      return "Invalid risk signature";
    case ErrorCode::kBridgeNoTicket:
      return "Bridge reported FILLED without a ticket";
    case ErrorCode::kMissingPayload:
      return "Missing payload (an object)";
    case ErrorCode::kMissingVolume:
      return "Missing volume";
  }
  return "error";
}

}  // namespace

void CanonicalOrderFields(const Request& r, std::string* out) {
  out->clear();
  const absl::string_view action = ActionName(r.action);
  out->append(action.data(), action.size());
  switch (r.action) {
    case Action::kOpen: {
      out->push_back('|');
      AppendCanonicalString(r.symbol.view(), out);
      out->push_back('|');
      const absl::string_view type = OrderTypeName(r.type);
      out->append(type.data(), type.size());
      for (double v : {r.volume, r.price, r.sl, r.tp}) {
        out->push_back('|');
        AppendCanonicalNumber(v, out);
      }
      out->push_back('|');
      AppendInt(r.magic, out);
      out->push_back('|');
      AppendCanonicalString(r.comment.view(), out);
      break;
    }
    case Action::kClose:
      out->push_back('|');
      AppendInt(r.ticket.value, out);
      break;
    default:
      break;
  }
}

void EncodeBridgeRequest(const Request& r, absl::string_view risk_signature, std::string* out) {
  out->append("{\"action\":");
  AppendJsonString(ActionName(r.action), out);
  out->append(",\"uuid\":");
  AppendJsonString(r.uuid.view(), out);
  if (r.action == Action::kOpen) {
    out->push_back(',');
    AppendKey("symbol", out);
    AppendJsonString(r.symbol.view(), out);
    out->push_back(',');
    AppendKey("type", out);
    AppendJsonString(OrderTypeName(r.type), out);
    out->push_back(',');
    AppendKey("volume", out);
    AppendJsonNumber(r.volume, out);
    out->push_back(',');
    AppendKey("price", out);
    AppendJsonNumber(r.price, out);
    out->push_back(',');
    AppendKey("sl", out);
    AppendJsonNumber(r.sl, out);
    out->push_back(',');
    AppendKey("tp", out);
    AppendJsonNumber(r.tp, out);
    if (!r.comment.empty()) {
      out->push_back(',');
      AppendKey("comment", out);
      AppendJsonString(r.comment.view(), out);
    }
    if (r.has_magic) {
      out->push_back(',');
      AppendKey("magic", out);
      AppendInt(r.magic, out);
    }
    if (!risk_signature.empty()) {
      out->push_back(',');
      AppendKey("risk_signature", out);
      AppendJsonString(risk_signature, out);
    }
  } else if (r.action == Action::kClose) {
    out->push_back(',');
    AppendKey("ticket", out);
    AppendInt(r.ticket.value, out);
  } else if (r.action == Action::kGetPositions && !r.status_symbol.empty()) {
    out->push_back(',');
    AppendKey("symbol", out);
    AppendJsonString(r.status_symbol.view(), out);
  }
  out->push_back('}');
}

void EncodeBridgeOrderStatus(absl::string_view uuid, std::string* out) {
  out->append("{\"uuid\":");
  AppendJsonString(uuid, out);
  out->append(",\"action\":\"ORDER_STATUS\"}");
}

void EncodeStatusReply(absl::string_view uuid, absl::string_view status, absl::string_view code,
                       absl::string_view msg, int64_t now_unix_us, std::string* out) {
  out->append("{\"uuid\":");
  if (uuid.empty()) {
    out->append("null");
  } else {
    AppendJsonString(uuid, out);
  }
  out->append(",\"status\":");
  AppendJsonString(status, out);
  if (!code.empty()) {
    out->append(",\"error_code\":");
    AppendJsonString(code, out);
  }
  if (!msg.empty()) {
    out->append(",\"error_msg\":");
    AppendJsonString(msg, out);
  }
  out->append(",\"timestamp\":\"");
  AppendIsoTimestamp(now_unix_us, /*basic=*/false, out);
  out->append("\"}");
}

void EncodeErrorReply(absl::string_view uuid, ErrorCode c, bool is_order, absl::string_view msg,
                      int64_t now_unix_us, std::string* out) {
  EncodeStatusReply(uuid, ErrorStatus(c, is_order), ErrorCodeName(c),
                    msg.empty() ? DefaultMessage(c) : msg, now_unix_us, out);
}

void AppendWithGatewayFields(absl::string_view object, bool duplicate, int64_t gateway_us,
                             std::string* out) {
  const std::string_view o = ToStd(object);
  constexpr std::string_view kWhitespace = " \t\r\n";
  const size_t first = o.find_first_not_of(kWhitespace);
  const size_t last = o.find_last_not_of(kWhitespace);
  if (first == std::string_view::npos || o[first] != '{' || o[last] != '}' || first == last) {
    out->append(o);  // not an object: nothing sensible to add to
    return;
  }
  out->append(o.data(), last);  // everything up to the closing brace
  if (o.find_first_not_of(kWhitespace, first + 1) != last) out->push_back(',');
  out->append(duplicate ? "\"duplicate\":true,\"gateway_us\":"
                        : "\"duplicate\":false,\"gateway_us\":");
  AppendInt(gateway_us, out);
  out->push_back('}');
}

}  // namespace ordergate
