#include "transport/public_client_wire.h"

#include <simdjson.h>
#include <sodium.h>

#include <array>
#include <cmath>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "transport/json_write.h"

namespace ordergate::transport {
namespace {

constexpr size_t kMaxUuidChars = 64;

// ordergate's own refusals (docs/protocol.md section 2): nothing recorded, the uuid is not spent.
// A REJECTED with any other code is the bridge's, recorded.
bool IsOrdergateRefusal(std::string_view code) {
  static constexpr std::array<std::string_view, 20> kCodes = {
      "INVALID_JSON",  "OVERSIZE",          "MISSING_ACTION",       "UNKNOWN_ACTION",
      "MISSING_UUID",  "INVALID_UUID",      "MISSING_SYMBOL",       "MISSING_TYPE",
      "INVALID_TYPE",  "INVALID_VOLUME",    "INVALID_PRICE",        "MISSING_TICKET",
      "INVALID_FIELD", "RISK_LIMIT",        "GATEWAY_BUSY",         "BRIDGE_DOWN",
      "NOT_FOUND",     "STORE_UNAVAILABLE", "IDEMPOTENCY_CONFLICT", "BRIDGE_TIMEOUT"};
  for (std::string_view c : kCodes) {
    if (c == code) return true;
  }
  return false;
}

bool IsNotNow(std::string_view code) {
  return code == "GATEWAY_BUSY" || code == "BRIDGE_DOWN" || code == "STORE_UNAVAILABLE";
}

absl::string_view TypeName(TradeType t) {
  switch (t) {
    case TradeType::kBuy:
      return "BUY";
    case TradeType::kSell:
      return "SELL";
    case TradeType::kBuyLimit:
      return "BUY_LIMIT";
    case TradeType::kSellLimit:
      return "SELL_LIMIT";
    case TradeType::kBuyStop:
      return "BUY_STOP";
    case TradeType::kSellStop:
      return "SELL_STOP";
  }
  return "BUY";
}

std::string Text(simdjson::dom::element e) {
  std::string_view s;
  if (e.get_string().get(s) != simdjson::SUCCESS) return {};
  return std::string(s);
}

int64_t Int(simdjson::dom::element e) {
  int64_t i = 0;
  if (e.get_int64().get(i) == simdjson::SUCCESS) return i;
  double d = 0;
  if (e.get_double().get(d) == simdjson::SUCCESS && std::isfinite(d))
    return static_cast<int64_t>(d);
  return 0;
}

double Num(simdjson::dom::element e) {
  double d = 0;
  if (e.get_double().get(d) == simdjson::SUCCESS) return d;
  return 0;
}

}  // namespace

bool IsWireUuid(absl::string_view uuid) {
  if (uuid.empty() || uuid.size() > kMaxUuidChars) return false;
  for (char c : uuid) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string NewUuidV4() {
  std::array<unsigned char, 16> b{};
  // sodium_init() is idempotent and thread-safe; randombytes_buf needs it for its own state.
  if (sodium_init() < 0) std::abort();
  randombytes_buf(b.data(), b.size());
  b[6] = static_cast<unsigned char>((b[6] & 0x0F) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3F) | 0x80);  // variant 10
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < b.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[b[i] >> 4]);
    out.push_back(kHex[b[i] & 0x0F]);
  }
  return out;
}

absl::string_view NonFiniteField(const Order& order) {
  if (!std::isfinite(order.volume)) return "INVALID_VOLUME";
  if (!std::isfinite(order.price) || !std::isfinite(order.sl) || !std::isfinite(order.tp)) {
    return "INVALID_PRICE";
  }
  return {};
}

void WriteClientOrderBody(const Order& o, int64_t timeout_ms, std::string* out) {
  out->clear();
  out->append(o.action == OrderAction::kClose ? "{\"action\":\"CLOSE\"" : "{\"action\":\"OPEN\"");
  if (!o.uuid.empty()) {
    out->append(",\"uuid\":");
    AppendJsonString(o.uuid, out);
  }
  if (o.action == OrderAction::kClose) {
    if (o.ticket != 0) absl::StrAppend(out, ",\"ticket\":", o.ticket);
  } else {
    if (!o.symbol.empty()) {
      out->append(",\"symbol\":");
      AppendJsonString(o.symbol, out);
    }
    absl::StrAppend(out, ",\"type\":\"", TypeName(o.type), "\",\"volume\":");
    AppendJsonNumber(o.volume, out);
    out->append(",\"price\":");
    AppendJsonNumber(o.price, out);
    out->append(",\"sl\":");
    AppendJsonNumber(o.sl, out);
    out->append(",\"tp\":");
    AppendJsonNumber(o.tp, out);
  }
  if (!o.comment.empty()) {
    out->append(",\"comment\":");
    AppendJsonString(o.comment, out);
  }
  if (o.magic.has_value()) absl::StrAppend(out, ",\"magic\":", *o.magic);
  if (timeout_ms > 0) absl::StrAppend(out, ",\"timeout_ms\":", timeout_ms);
  out->push_back('}');
}

void WriteStatusBody(absl::string_view uuid, int64_t timeout_ms, std::string* out) {
  out->assign("{\"action\":\"ORDER_STATUS\",\"uuid\":");
  AppendJsonString(uuid, out);
  if (timeout_ms > 0) absl::StrAppend(out, ",\"timeout_ms\":", timeout_ms);
  out->push_back('}');
}

void WritePingBody(absl::string_view uuid, std::string* out) {
  out->assign("{\"action\":\"PING\",\"uuid\":");
  AppendJsonString(uuid, out);
  out->push_back('}');
}

bool ReadClientReply(absl::string_view body, ClientReply* out) {
  *out = ClientReply{};
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(body.data(), body.size()).get(obj) != simdjson::SUCCESS) return false;
  Outcome& o = out->outcome;
  std::string status;
  bool has_gateway = false;
  for (auto [key, value] : obj) {
    if (key == "uuid") {
      std::string_view s;
      if (value.get_string().get(s) == simdjson::SUCCESS) {
        out->has_uuid = true;
        o.uuid.assign(s.data(), s.size());
      }
    } else if (key == "status") {
      status = Text(value);
    } else if (key == "ticket") {
      o.ticket = Int(value);
    } else if (key == "price" || key == "close_price") {
      o.price = Num(value);
    } else if (key == "volume") {
      o.volume = Num(value);
    } else if (key == "error_code") {
      o.error_code = Text(value);
    } else if (key == "error_msg") {
      o.message = Text(value);
    } else if (key == "duplicate") {
      bool b = false;
      if (value.get_bool().get(b) == simdjson::SUCCESS) o.duplicate = b;
    } else if (key == "gateway_us") {
      o.gateway_us = Int(value);
    } else if (key == "gateway") {
      simdjson::dom::object g;
      if (value.get_object().get(g) != simdjson::SUCCESS) continue;
      has_gateway = true;
      GatewayInfo& info = out->gateway;
      for (auto [gk, gv] : g) {
        if (gk == "version") info.version = Text(gv);
        if (gk == "bridge") info.bridge_up = Text(gv) == "up";
        if (gk == "client_timeout_ms") info.client_timeout_ms = Int(gv);
        if (gk == "bridge_timeout_ms") info.bridge_timeout_ms = Int(gv);
        if (gk == "durability") info.durability = Text(gv);
      }
    }
  }
  o.reply_json.assign(body.data(), body.size());
  if (status == "FILLED") {
    out->kind = ReplyKind::kFinal;
    o.status = OutcomeStatus::kFilled;
    o.recorded = true;
  } else if (status == "REJECTED" || status == "error") {
    o.status = OutcomeStatus::kRejected;
    o.recorded = status == "REJECTED" && (o.duplicate || !IsOrdergateRefusal(o.error_code));
    if (o.error_code == "NOT_FOUND") {
      out->kind = ReplyKind::kNotFound;
    } else if (IsNotNow(o.error_code)) {
      out->kind = ReplyKind::kNotNow;
    } else {
      out->kind = ReplyKind::kFinal;
    }
  } else if (status == "UNKNOWN") {
    out->kind = ReplyKind::kFinal;
    o.status = OutcomeStatus::kUnknown;
    o.recorded = true;
  } else if (status == "PENDING") {
    out->kind = ReplyKind::kPending;
    o.status = OutcomeStatus::kInFlight;
  } else if (status == "ok" && has_gateway) {
    out->kind = ReplyKind::kPing;
  }
  return true;
}

}  // namespace ordergate::transport
