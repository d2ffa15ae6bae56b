#include "transport/codec.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <string_view>
#include <vector>

namespace ordergate {
namespace {

namespace dom = simdjson::dom;
using simdjson::dom::element_type;

constexpr int64_t kMicrosPerSecond = 1'000'000;
constexpr int64_t kMaxTimeoutMs = 600'000;
// Below this, simdjson would round the capacity up anyway; starting here means a typical request
// never triggers a second allocation.
constexpr size_t kInitialCapacity = 4096;
// Bridge replies are machine-made and shallow (GET_POSITIONS is 3 levels); this only bounds the
// parser's stack.
constexpr size_t kBridgeReplyMaxDepth = 64;

absl::string_view ToAbsl(std::string_view s) { return absl::string_view(s.data(), s.size()); }
std::string_view ToStd(absl::string_view s) { return std::string_view(s.data(), s.size()); }

char AsciiUpper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// `upper` is an upper-case ASCII literal.
bool EqualsIgnoreCase(std::string_view s, std::string_view upper) {
  if (s.size() != upper.size()) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (AsciiUpper(s[i]) != upper[i]) return false;
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Parsers. One per thread and purpose: requests get a tight depth bound (the contract's
// max_depth), bridge replies a loose one; sharing a parser would reallocate on every switch.

struct ThreadParser {
  dom::parser parser;
  size_t depth = 0;
};

dom::parser* ParserWithDepth(ThreadParser& tp, size_t depth) {
  if (tp.depth != depth) {
    if (tp.parser.allocate(std::max(tp.parser.capacity(), kInitialCapacity), depth) !=
        simdjson::SUCCESS) {
      tp.depth = 0;
      return nullptr;
    }
    tp.depth = depth;
  }
  return &tp.parser;
}

dom::parser* RequestParser(size_t depth) {
  thread_local ThreadParser tp;
  return ParserWithDepth(tp, depth);
}

dom::parser* BridgeParser() {
  thread_local ThreadParser tp;
  return ParserWithDepth(tp, kBridgeReplyMaxDepth);
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

bool GetString(const dom::element& e, std::string_view* s) {
  if (e.type() != element_type::STRING) return false;
  *s = e.get_string().value_unsafe();
  return true;
}

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
      if (key == "action") return kFAction;
      if (key == "symbol") return kFSymbol;
      if (key == "volume") return kFVolume;
      if (key == "ticket") return kFTicket;
      break;
    case 7:
      if (key == "comment") return kFComment;
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

// ---------------------------------------------------------------------------------------------
// Encoding helpers.

// Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, <= U+10FFFF),
// or 0 when the bytes there are not one.
size_t Utf8SequenceLength(const unsigned char* p, size_t n) {
  const unsigned char c = p[0];
  if (c < 0x80) return 1;
  auto cont = [&](size_t i) { return i < n && (p[i] & 0xC0) == 0x80; };
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && p[1] < 0xA0) return 0;  // overlong
    if (c == 0xED && p[1] > 0x9F) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && p[1] < 0x90) return 0;  // overlong
    if (c == 0xF4 && p[1] > 0x8F) return 0;  // > U+10FFFF
    return 4;
  }
  return 0;
}

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
  }
  return "error";
}

// ---------------------------------------------------------------------------------------------
// Calendar arithmetic (proleptic Gregorian, H. Hinnant's algorithms): no locale, no time zone.

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = FloorDiv(y, 400);
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = static_cast<int64_t>(yoe) + era * 400 + (*m <= 2);
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return kDays[m - 1];
}

void PutDigits(uint64_t v, int width, char* p) {
  for (int i = width - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

}  // namespace

// -----------------------------------------------------------------------------------------------

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
    return ErrorCode::kMissingAction;
  }
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

  if (f.has[kFTimeoutMs]) {
    int64_t t = 0;
    if (!GetInt64(f.value[kFTimeoutMs], &t) || t < 1 || t > kMaxTimeoutMs) {
      return ErrorCode::kInvalidField;
    }
    out->timeout_ms = t;
  }

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

BridgeReply DecodeBridgeReply(absl::string_view body) {
  BridgeReply r;
  dom::parser* parser = BridgeParser();
  if (parser == nullptr) return r;
  dom::element root;
  if (parser->parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS ||
      root.type() != element_type::OBJECT) {
    return r;
  }
  r.parsed = true;

  enum class TicketState { kAbsent, kZero, kPositive, kUnreadable };
  TicketState ticket_state = TicketState::kAbsent;
  std::string_view status_text;
  bool has_status = false;

  const dom::object obj = root.get_object().value_unsafe();
  for (dom::key_value_pair kv : obj) {
    const std::string_view key = kv.key;
    std::string_view s;
    if (key == "uuid") {
      if (GetString(kv.value, &s)) {
        r.has_uuid = true;
        if (IsValidClientOrderId(ToAbsl(s))) {
          r.uuid.Assign(ToAbsl(s));
        } else {
          r.uuid.Assign("");
        }
      }
    } else if (key == "status") {
      has_status = GetString(kv.value, &status_text);
    } else if (key == "error_code") {
      if (GetString(kv.value, &s)) r.error_code.Assign(ToAbsl(s));
    } else if (key == "ticket") {
      // Lenient on the ticket's form: misreading a real ticket as "none" would report an executed
      // order as REJECTED, and the strategy would then resend it under a new uuid.
      const dom::element& v = kv.value;
      int64_t t = 0;
      bool ok = false;
      switch (v.type()) {
        case element_type::NULL_VALUE:
          ticket_state = TicketState::kAbsent;
          continue;
        case element_type::INT64:
          t = v.get_int64().value_unsafe();
          ok = true;
          break;
        case element_type::DOUBLE: {
          const double d = v.get_double().value_unsafe();
          if (d >= 0 && d < 9.2e18 && std::trunc(d) == d) {
            t = static_cast<int64_t>(d);
            ok = true;
          }
          break;
        }
        case element_type::STRING: {
          s = v.get_string().value_unsafe();
          const auto res = std::from_chars(s.data(), s.data() + s.size(), t);
          ok = !s.empty() && res.ec == std::errc() && res.ptr == s.data() + s.size();
          break;
        }
        default:
          break;
      }
      if (!ok || t < 0) {
        ticket_state = TicketState::kUnreadable;
      } else if (t == 0) {
        ticket_state = TicketState::kZero;
      } else {
        ticket_state = TicketState::kPositive;
        r.ticket.value = t;
      }
    }
  }

  // Without a status (or with one not listed) the reply stays kOther: nothing to act on.
  if (!has_status) {
    return r;
  }
  if (EqualsIgnoreCase(status_text, "FILLED")) {
    switch (ticket_state) {
      case TicketState::kPositive:
        r.status = BridgeStatus::kFilled;
        break;
      case TicketState::kAbsent:
      case TicketState::kZero:
        r.status = BridgeStatus::kNoTicket;
        break;
      case TicketState::kUnreadable:
        r.status = BridgeStatus::kOther;
        break;
    }
  } else if (EqualsIgnoreCase(status_text, "REJECTED")) {
    r.status = BridgeStatus::kRejected;
  } else if (EqualsIgnoreCase(status_text, "OK")) {
    r.status = BridgeStatus::kOk;
  } else if (EqualsIgnoreCase(status_text, "ERROR")) {
    r.status = BridgeStatus::kError;
  } else {
    r.status = BridgeStatus::kOther;
  }
  if (ticket_state != TicketState::kPositive) r.ticket.value = 0;
  return r;
}

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

void AppendJsonString(absl::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  out->push_back('"');
  size_t run = 0;  // start of the bytes not yet copied
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    if (c >= 0x80) {
      const size_t len = Utf8SequenceLength(p + i, n - i);
      if (len != 0) {
        i += len;
        continue;
      }
    }
    out->append(s.data() + run, i - run);
    if (c == '"') {
      out->append("\\\"");
    } else if (c == '\\') {
      out->append("\\\\");
    } else if (c < 0x20) {
      const char esc[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
      out->append(esc, sizeof(esc));
    } else {
      // A byte that is not UTF-8: the output must still be valid JSON for the peer's parser.
      out->append("\\ufffd");
    }
    ++i;
    run = i;
  }
  out->append(s.data() + run, n - run);
  out->push_back('"');
}

void AppendJsonNumber(double v, std::string* out) {
  if (!std::isfinite(v)) {
    out->append("null");
    return;
  }
  char buf[32];
  const auto res = std::to_chars(buf, buf + sizeof(buf), v);
  const absl::string_view text(buf, static_cast<size_t>(res.ptr - buf));
  out->append(text.data(), text.size());
  // The shortest form prints integral values below 1e21 as bare digits. Past the 64-bit integers
  // such a literal is refused by parsers that read integers into int64/uint64 (simdjson, and so
  // this decoder and the bridge simulator: "big integer"), although it is an ordinary double:
  // mark it as one. (Found by fuzz_decode_request: a price of 9.2e19 re-encoded unreadably.)
  constexpr double kTwoPow63 = 9223372036854775808.0;
  if (std::fabs(v) >= kTwoPow63 && text.find_first_of(".e") == absl::string_view::npos) {
    out->append(".0");
  }
}

void AppendIsoTimestamp(int64_t unix_us, bool basic, std::string* out) {
  const int64_t secs = FloorDiv(unix_us, kMicrosPerSecond);
  int64_t micros =
      unix_us % kMicrosPerSecond;  // not unix_us - secs * 1e6: that overflows at the ends
  if (micros < 0) micros += kMicrosPerSecond;
  const int64_t days = FloorDiv(secs, 86400);
  const int64_t sod = secs - days * 86400;
  int64_t year = 0;
  unsigned month = 0;
  unsigned day = 0;
  CivilFromDays(days, &year, &month, &day);

  if (year < 0 || year > 9999) {
    // Outside ISO's 4-digit years: not a time ordergate can meet; keep the output parseable-ish.
    AppendInt(year, out);
  } else {
    char y[4];
    PutDigits(static_cast<uint64_t>(year), 4, y);
    out->append(y, 4);
  }
  char buf[32];
  char* p = buf;
  if (!basic) *p++ = '-';
  PutDigits(month, 2, p);
  p += 2;
  if (!basic) *p++ = '-';
  PutDigits(day, 2, p);
  p += 2;
  *p++ = 'T';
  PutDigits(static_cast<uint64_t>(sod / 3600), 2, p);
  p += 2;
  if (!basic) *p++ = ':';
  PutDigits(static_cast<uint64_t>(sod / 60 % 60), 2, p);
  p += 2;
  if (!basic) *p++ = ':';
  PutDigits(static_cast<uint64_t>(sod % 60), 2, p);
  p += 2;
  *p++ = '.';
  PutDigits(static_cast<uint64_t>(micros), 6, p);
  p += 6;
  *p++ = 'Z';
  out->append(buf, static_cast<size_t>(p - buf));
}

bool ParseIsoTimestamp(absl::string_view text, int64_t* unix_us) {
  const std::string_view s = ToStd(text);
  size_t i = 0;
  auto digits = [&](int count, int64_t* v) {
    if (i + static_cast<size_t>(count) > s.size()) return false;
    int64_t acc = 0;
    for (int k = 0; k < count; ++k) {
      const char c = s[i++];
      if (c < '0' || c > '9') return false;
      acc = acc * 10 + (c - '0');
    }
    *v = acc;
    return true;
  };
  auto expect = [&](char c) {
    if (i >= s.size() || s[i] != c) return false;
    ++i;
    return true;
  };

  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!digits(4, &year)) return false;
  const bool extended = i < s.size() && s[i] == '-';
  if (extended) ++i;
  if (!digits(2, &month)) return false;
  if (extended && !expect('-')) return false;
  if (!digits(2, &day) || !expect('T') || !digits(2, &hour)) return false;
  if (extended && !expect(':')) return false;
  if (!digits(2, &minute)) return false;
  if (extended && !expect(':')) return false;
  if (!digits(2, &second)) return false;

  int64_t micros = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int count = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (count < 6) micros = micros * 10 + (s[i] - '0');
      ++count;
      ++i;
    }
    if (count == 0 || count > 9) return false;
    for (int k = count; k < 6; ++k) micros *= 10;
  }
  if (!expect('Z') || i != s.size()) return false;

  if (month < 1 || month > 12) return false;
  const int64_t month_days = DaysInMonth(year, static_cast<unsigned>(month));
  if (day < 1 || day > month_days) return false;
  if (hour > 23 || minute > 59 || second > 59) return false;

  const int64_t days =
      DaysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  *unix_us = ((days * 86400) + hour * 3600 + minute * 60 + second) * kMicrosPerSecond + micros;
  return true;
}

}  // namespace ordergate
