// DecodeRequest (transport/codec.h): a front-end request body, validated as the contract and the
// bridge validate it: envelope and structure, then action, uuid, timeout_ms and the action's
// fields, first failure returned.
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "transport/codec.h"
#include "transport/codec_json_read.h"
#include "transport/iso_time.h"

namespace ordergate {
namespace {

using codec_json_read::element_type;
using codec_json_read::EqualsIgnoreCase;
using codec_json_read::GetString;
using codec_json_read::ParserWithDepth;
using codec_json_read::ThreadParser;
using codec_json_read::ToAbsl;
namespace dom = simdjson::dom;

constexpr int64_t kMaxTimeoutMs = 600'000;

dom::parser* RequestParser(size_t depth) {
  thread_local ThreadParser tp;
  return ParserWithDepth(tp, depth);
}

// ---------------------------------------------------------------------------------------------
// Structure checks simdjson does not do: duplicated keys (a parser differential — the bridge's
// Python json keeps the last, a naive reader the first — is how one request could mean two
// orders), and the exact depth bound.

bool IsContainer(const dom::element& e) {
  const element_type t = e.type();
  return t == element_type::OBJECT || t == element_type::ARRAY;
}

bool KeysUnique(const dom::object& obj) {
  constexpr size_t kSmall = 16;
  std::string_view small[kSmall];
  size_t n = 0;
  bool overflow = false;
  for (dom::key_value_pair kv : obj) {
    if (n == kSmall) {
      overflow = true;
      break;
    }
    for (size_t j = 0; j < n; ++j) {
      if (small[j] == kv.key) return false;
    }
    small[n++] = kv.key;
  }
  if (!overflow) return true;
  // Many keys: sort instead of comparing every pair, so a 16 KiB body of distinct keys stays cheap.
  thread_local std::vector<std::string_view> keys;
  keys.clear();
  for (dom::key_value_pair kv : obj) keys.push_back(kv.key);
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) == keys.end();
}

// `depth` is the nesting level of `e` (the root object is 1).
bool CheckStructure(const dom::element& e, int depth, int max_depth) {
  if (depth > max_depth) return false;
  if (e.type() == element_type::OBJECT) {
    const dom::object obj = e.get_object().value_unsafe();
    if (!KeysUnique(obj)) return false;
    for (dom::key_value_pair kv : obj) {
      if (IsContainer(kv.value) && !CheckStructure(kv.value, depth + 1, max_depth)) return false;
    }
  } else if (e.type() == element_type::ARRAY) {
    // Bound to a local: value_unsafe() refers into the temporary simdjson_result.
    const dom::array arr = e.get_array().value_unsafe();
    for (dom::element child : arr) {
      if (IsContainer(child) && !CheckStructure(child, depth + 1, max_depth)) return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Typed access.

// Any JSON number: strategies send `"volume": 1` as readily as `1.0`.
bool GetNumber(const dom::element& e, double* v) {
  switch (e.type()) {
    case element_type::INT64:
      *v = static_cast<double>(e.get_int64().value_unsafe());
      return true;
    case element_type::UINT64:
      *v = static_cast<double>(e.get_uint64().value_unsafe());
      return true;
    case element_type::DOUBLE:
      *v = e.get_double().value_unsafe();
      return true;
    default:
      return false;
  }
}

// A JSON integer that fits int64 (1.0 is not an integer here: the fields are ints in the bridge).
bool GetInt64(const dom::element& e, int64_t* v) {
  if (e.type() != element_type::INT64) return false;
  *v = e.get_int64().value_unsafe();
  return true;
}

bool ParseAction(std::string_view s, Action* a) {
  static constexpr std::pair<std::string_view, Action> kActions[] = {
      {"OPEN", Action::kOpen},
      {"CLOSE", Action::kClose},
      {"PING", Action::kPing},
      {"GET_ACCOUNT", Action::kGetAccount},
      {"GET_POSITIONS", Action::kGetPositions},
      {"ORDER_STATUS", Action::kOrderStatus},
  };
  for (const auto& [name, action] : kActions) {
    if (EqualsIgnoreCase(s, name)) {
      *a = action;
      return true;
    }
  }
  return false;
}

bool ParseOrderType(std::string_view s, OrderType* t) {
  static constexpr std::pair<std::string_view, OrderType> kTypes[] = {
      {"BUY", OrderType::kBuy},
      {"SELL", OrderType::kSell},
      {"BUY_LIMIT", OrderType::kBuyLimit},
      {"SELL_LIMIT", OrderType::kSellLimit},
      {"BUY_STOP", OrderType::kBuyStop},
      {"SELL_STOP", OrderType::kSellStop},
  };
  for (const auto& [name, type] : kTypes) {
    if (EqualsIgnoreCase(s, name)) {
      *t = type;
      return true;
    }
  }
  return false;
}

bool CheckRiskSignature(std::string_view sig, int64_t ttl_ms, int64_t now_unix_us) {
  constexpr std::string_view kPrefix = "RISK_PASS:";
  if (sig.size() < kPrefix.size() || sig.substr(0, kPrefix.size()) != kPrefix) return false;
  const std::string_view rest = sig.substr(kPrefix.size());
  // Split on the first two colons only, so the extended timestamp form (with colons) passes too.
  const size_t colon = rest.find(':');
  if (colon == std::string_view::npos) return false;
  const std::string_view checksum = rest.substr(0, colon);
  const std::string_view stamp = rest.substr(colon + 1);
  if (checksum.size() < 8) return false;
  int64_t signed_at = 0;
  if (!ParseIsoTimestamp(ToAbsl(stamp), &signed_at)) return false;
  // Parsed timestamps lie within years 0000-9999 (|t| < 2.6e17 us); bound `now` and the TTL so the
  // arithmetic below cannot overflow.
  constexpr int64_t kSaneBound = int64_t{1} << 61;
  if (now_unix_us > kSaneBound || now_unix_us < -kSaneBound) return false;
  const int64_t ttl_us = std::clamp<int64_t>(ttl_ms, 0, int64_t{1} << 40) * 1000;
  const int64_t age_us = now_unix_us - signed_at;
  return age_us <= ttl_us && -age_us <= ttl_us;
}

// Known request members. Everything else is ignored, as the bridge does.
enum Field : int {
  kFAction,
  kFUuid,
  kFSymbol,
  kFType,
  kFVolume,
  kFPrice,
  kFSl,
  kFTp,
  kFComment,
  kFMagic,
  kFTicket,
  kFTimeoutMs,
  kFRiskSignature,
  kFReqId,    // the v1 envelope's idempotency key (section 2a)
  kFPayload,  // the v1 envelope's order
  kFieldCount,
};

int FieldIndex(std::string_view key) {
  switch (key.size()) {
    case 2:
      if (key == "sl") return kFSl;
      if (key == "tp") return kFTp;
      break;
    case 4:
      if (key == "uuid") return kFUuid;
      if (key == "type") return kFType;
      break;
    case 5:
      if (key == "price") return kFPrice;
      if (key == "magic") return kFMagic;
      break;
    case 6:
      if (key == "req_id") return kFReqId;
      if (key == "action") return kFAction;
      if (key == "symbol") return kFSymbol;
      if (key == "volume") return kFVolume;
      if (key == "ticket") return kFTicket;
      break;
    case 7:
      if (key == "comment") return kFComment;
      if (key == "payload") return kFPayload;
      break;
    case 10:
      if (key == "timeout_ms") return kFTimeoutMs;
      break;
    case 14:
      if (key == "risk_signature") return kFRiskSignature;
      break;
    default:
      break;
  }
  return -1;
}

struct Fields {
  dom::element value[kFieldCount];
  bool has[kFieldCount] = {};
};

ErrorCode DecodePrice(const Fields& f, int field, double* out) {
  if (!f.has[field]) return ErrorCode::kOk;
  double v = 0;
  if (!GetNumber(f.value[field], &v) || !std::isfinite(v) || v < 0) return ErrorCode::kInvalidPrice;
  *out = v;
  return ErrorCode::kOk;
}

ErrorCode DecodeOpen(const Fields& f, const DecodeLimits& limits, int64_t now_unix_us,
                     Request* out) {
  // Same order of checks as the bridge: symbol, type, volume, then the rest.
  std::string_view s;
  if (!f.has[kFSymbol]) return ErrorCode::kMissingSymbol;
  if (!GetString(f.value[kFSymbol], &s)) return ErrorCode::kInvalidField;
  if (s.empty()) return ErrorCode::kMissingSymbol;
  if (!out->symbol.Assign(ToAbsl(s))) return ErrorCode::kInvalidField;

  if (!f.has[kFType]) return ErrorCode::kMissingType;
  if (!GetString(f.value[kFType], &s)) return ErrorCode::kInvalidType;
  if (s.empty()) return ErrorCode::kMissingType;
  if (!ParseOrderType(s, &out->type)) return ErrorCode::kInvalidType;

  double volume = 0;
  if (!f.has[kFVolume] || !GetNumber(f.value[kFVolume], &volume) || !std::isfinite(volume) ||
      !(volume > 0) || !(volume <= limits.max_volume)) {
    return ErrorCode::kInvalidVolume;
  }
  out->volume = volume;

  for (auto [field, dst] :
       {std::pair{kFPrice, &out->price}, std::pair{kFSl, &out->sl}, std::pair{kFTp, &out->tp}}) {
    if (ErrorCode ec = DecodePrice(f, field, dst); ec != ErrorCode::kOk) return ec;
  }

  if (f.has[kFComment]) {
    if (!GetString(f.value[kFComment], &s) || !out->comment.Assign(ToAbsl(s))) {
      return ErrorCode::kInvalidField;
    }
  }
  if (f.has[kFMagic]) {
    if (!GetInt64(f.value[kFMagic], &out->magic)) return ErrorCode::kInvalidField;
    out->has_magic = true;
  }
  if (f.has[kFRiskSignature]) {
    if (!GetString(f.value[kFRiskSignature], &s) ||
        !CheckRiskSignature(s, limits.signature_ttl_ms, now_unix_us) ||
        !out->risk_signature.Assign(ToAbsl(s))) {
      return ErrorCode::kRiskSignatureInvalid;
    }
  }
  return ErrorCode::kOk;
}

ErrorCode DecodeClose(const Fields& f, Request* out) {
  if (!f.has[kFTicket]) return ErrorCode::kMissingTicket;
  int64_t ticket = 0;
  if (!GetInt64(f.value[kFTicket], &ticket) || ticket <= 0) return ErrorCode::kInvalidField;
  out->ticket.value = ticket;
  return ErrorCode::kOk;
}

// The strategy's own receive timeout, on either envelope: an integer in 1..600000.
ErrorCode DecodeTimeout(const Fields& f, Request* out) {
  if (!f.has[kFTimeoutMs]) return ErrorCode::kOk;
  int64_t t = 0;
  if (!GetInt64(f.value[kFTimeoutMs], &t) || t < 1 || t > kMaxTimeoutMs) {
    return ErrorCode::kInvalidField;
  }
  out->timeout_ms = t;
  return ErrorCode::kOk;
}

// ---------------------------------------------------------------------------------------------
// The MT5-CRS JSON v1 envelope (protocol.md section 2a): an OPEN written as
// {"action":"ORDER_SEND","req_id":..,"payload":{symbol,type,volume,magic,comment,sl,tp}}, with the
// ranges MT5-CRS's json_trade_client checks (volume 0.01-100, OP_BUY/OP_SELL, comment <= 31) and
// its defaults (magic 123456, comment "MT5-CRS-AI", sl/tp 0), so the fingerprint of a resent req_id
// is the same whether or not the strategy spelled the defaults out.

constexpr double kV1MinVolume = 0.01;
constexpr double kV1MaxVolume = 100.0;
constexpr int64_t kV1DefaultMagic = 123456;
constexpr std::string_view kV1DefaultComment = "MT5-CRS-AI";

ErrorCode DecodeV1Payload(const dom::object& payload, const DecodeLimits& limits, Request* out) {
  dom::element symbol, type, volume, magic, comment, sl, tp;
  bool has_symbol = false, has_type = false, has_volume = false, has_magic = false,
       has_comment = false, has_sl = false, has_tp = false;
  for (dom::key_value_pair kv : payload) {
    const std::string_view k = kv.key;
    if (k == "symbol") {
      symbol = kv.value, has_symbol = true;
    } else if (k == "type") {
      type = kv.value, has_type = true;
    } else if (k == "volume") {
      volume = kv.value, has_volume = true;
    } else if (k == "magic") {
      magic = kv.value, has_magic = true;
    } else if (k == "comment") {
      comment = kv.value, has_comment = true;
    } else if (k == "sl") {
      sl = kv.value, has_sl = true;
    } else if (k == "tp") {
      tp = kv.value, has_tp = true;
    }
  }
  std::string_view s;
  if (!has_symbol) return ErrorCode::kMissingSymbol;
  if (!GetString(symbol, &s)) return ErrorCode::kInvalidField;
  if (s.empty()) return ErrorCode::kMissingSymbol;
  if (!out->symbol.Assign(ToAbsl(s))) return ErrorCode::kInvalidField;

  if (!has_type) return ErrorCode::kMissingType;
  if (!GetString(type, &s)) return ErrorCode::kInvalidType;
  if (s.empty()) return ErrorCode::kMissingType;
  if (EqualsIgnoreCase(s, "OP_BUY")) {
    out->type = OrderType::kBuy;
  } else if (EqualsIgnoreCase(s, "OP_SELL")) {
    out->type = OrderType::kSell;
  } else {
    return ErrorCode::kInvalidType;
  }

  if (!has_volume) return ErrorCode::kMissingVolume;
  double v = 0;
  if (!GetNumber(volume, &v) || !std::isfinite(v) || !(v >= kV1MinVolume) || !(v <= kV1MaxVolume) ||
      !(v <= limits.max_volume)) {
    return ErrorCode::kInvalidVolume;
  }
  out->volume = v;

  for (auto [has, e, dst] :
       {std::tuple{has_sl, &sl, &out->sl}, std::tuple{has_tp, &tp, &out->tp}}) {
    if (!has) continue;
    double p = 0;
    if (!GetNumber(*e, &p) || !std::isfinite(p) || p < 0) return ErrorCode::kInvalidPrice;
    *dst = p;
  }
  out->has_magic = true;
  out->magic = kV1DefaultMagic;
  if (has_magic && !GetInt64(magic, &out->magic)) return ErrorCode::kInvalidField;
  if (has_comment) {
    if (!GetString(comment, &s) || !out->comment.Assign(ToAbsl(s))) return ErrorCode::kInvalidField;
  } else {
    out->comment.Assign(ToAbsl(kV1DefaultComment));
  }
  return ErrorCode::kOk;
}

// `f` holds the envelope's top-level members. The request is an OPEN from here on, whatever fails,
// so that every reply to it takes the v1 shape.
ErrorCode DecodeV1(const Fields& f, const DecodeLimits& limits, Request* out) {
  out->envelope = Envelope::kMt5CrsV1;
  out->action = Action::kOpen;
  out->uuid = ClientOrderId{};  // a top-level "uuid" means nothing here: req_id is the key
  std::string_view s;
  const bool req_id_valid =
      f.has[kFReqId] && GetString(f.value[kFReqId], &s) && IsValidClientOrderId(ToAbsl(s));
  if (req_id_valid) out->uuid.value.Assign(ToAbsl(s));
  if (!f.has[kFAction]) return ErrorCode::kMissingAction;
  if (!f.has[kFReqId]) return ErrorCode::kMissingUuid;
  if (!req_id_valid) return ErrorCode::kInvalidUuid;
  if (ErrorCode ec = DecodeTimeout(f, out); ec != ErrorCode::kOk) return ec;
  if (!f.has[kFPayload] || f.value[kFPayload].type() != element_type::OBJECT) {
    return ErrorCode::kMissingPayload;
  }
  return DecodeV1Payload(f.value[kFPayload].get_object().value_unsafe(), limits, out);
}

}  // namespace

ErrorCode DecodeRequest(absl::string_view body, const DecodeLimits& limits, int64_t now_unix_us,
                        Request* out) {
  *out = Request{};
  if (body.size() > limits.max_request_bytes) return ErrorCode::kOversize;

  const int max_depth = std::clamp(limits.max_depth, 1, 1 << 16);
  // simdjson's own bound is a little loose (it counts scalars inside arrays); it only guards its
  // stack here, CheckStructure enforces the exact limit.
  dom::parser* parser = RequestParser(static_cast<size_t>(max_depth) + 2);
  if (parser == nullptr) return ErrorCode::kInvalidJson;
  dom::element root;
  // realloc_if_needed: copies into the parser's own padded buffer, which is reused across calls.
  if (parser->parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS) {
    return ErrorCode::kInvalidJson;
  }
  if (root.type() != element_type::OBJECT) return ErrorCode::kInvalidJson;
  if (!CheckStructure(root, 1, max_depth)) return ErrorCode::kInvalidJson;

  Fields f;
  const dom::object obj = root.get_object().value_unsafe();
  for (dom::key_value_pair kv : obj) {
    const int idx = FieldIndex(kv.key);
    if (idx >= 0) {
      f.value[idx] = kv.value;
      f.has[idx] = true;
    }
  }

  // uuid first, so that every later error reply can echo it.
  bool uuid_valid = false;
  std::string_view s;
  if (f.has[kFUuid] && GetString(f.value[kFUuid], &s) && IsValidClientOrderId(ToAbsl(s))) {
    out->uuid.value.Assign(ToAbsl(s));
    uuid_valid = true;
  }

  if (!f.has[kFAction] || !GetString(f.value[kFAction], &s) || s.empty()) {
    // Without its action a v1 envelope is still recognisable by its own members, unless the body
    // carries a valid uuid: then it is the bridge protocol's, and its error reply echoes the uuid.
    if (!f.has[kFAction] && !uuid_valid && (f.has[kFReqId] || f.has[kFPayload])) {
      return DecodeV1(f, limits, out);
    }
    return ErrorCode::kMissingAction;
  }
  if (EqualsIgnoreCase(s, "ORDER_SEND")) return DecodeV1(f, limits, out);
  if (!ParseAction(s, &out->action)) return ErrorCode::kUnknownAction;

  const Action action = out->action;
  if (action == Action::kOpen || action == Action::kClose || action == Action::kOrderStatus) {
    if (!f.has[kFUuid]) return ErrorCode::kMissingUuid;
    if (!uuid_valid) return ErrorCode::kInvalidUuid;
  } else if (f.has[kFUuid] && f.value[kFUuid].type() != element_type::STRING) {
    // The contract restricts the uuid's characters only for orders; PING and the relayed GET_*
    // accept any string, as the bridge does (it is just not captured when it is no ClientOrderId).
    return ErrorCode::kInvalidUuid;
  }

  if (ErrorCode ec = DecodeTimeout(f, out); ec != ErrorCode::kOk) return ec;

  switch (action) {
    case Action::kOpen:
      return DecodeOpen(f, limits, now_unix_us, out);
    case Action::kClose:
      return DecodeClose(f, out);
    case Action::kGetPositions:
      if (f.has[kFSymbol]) {
        if (!GetString(f.value[kFSymbol], &s) || !out->status_symbol.Assign(ToAbsl(s))) {
          return ErrorCode::kInvalidField;
        }
      }
      return ErrorCode::kOk;
    case Action::kPing:
    case Action::kGetAccount:
    case Action::kOrderStatus:
      return ErrorCode::kOk;
  }
  return ErrorCode::kOk;
}

}  // namespace ordergate
