#include "transport/sim/sim_json.h"

#include <charconv>
#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace ordergate::transport::sim {
namespace internal {

void AppendEscaped(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xF];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

void AppendInt(std::string& out, int64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

void AppendDouble(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";  // JSON has no NaN/Inf
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest round-trip form
  out.append(buf, r.ptr);
  // Bare digits past the 64-bit integers would read as a "big integer" to 64-bit parsers; the real
  // bridge (Python's json) writes such a float with an exponent. Keep it a double.
  if (std::fabs(v) >= 9223372036854775808.0 &&
      std::string_view(buf, r.ptr - buf).find_first_of(".e") == std::string_view::npos) {
    out += ".0";
  }
}

namespace {

struct OddReplyName {
  uint32_t kind;
  const char* name;
};
constexpr OddReplyName kOddReplyNames[] = {
    {kOddServerError, "server_error"},
    {kOddNoStatus, "no_status"},
    {kOddStatusOk, "ok"},
    {kOddStatusPending, "pending"},
    {kOddNegativeTicket, "negative_ticket"},
    {kOddFractionalTicket, "fractional_ticket"},
};

}  // namespace

std::string OddReplyText(uint32_t kind, const std::string& uuid_json, int64_t ticket,
                         std::string_view symbol, double volume, double price,
                         const std::string& timestamp) {
  std::string out;
  ObjectWriter w(out);
  w.Raw("uuid", uuid_json);
  switch (kind) {
    case kOddServerError:
      // What a bridge whose handler threw says, whether or not order_send ran before the throw.
      w.Str("status", "error")
          .Str("error_code", "SERVER_ERROR")
          .Str("error_msg", "Internal server error (injected)")
          .Str("timestamp", timestamp);
      break;
    case kOddNoStatus:
      w.Int("ticket", ticket)
          .Str("symbol", symbol)
          .Num("volume", volume)
          .Str("timestamp", timestamp);
      break;
    case kOddStatusOk:
      w.Str("status", "ok").Str("timestamp", timestamp);
      break;
    case kOddStatusPending:
      w.Str("status", "PENDING").Str("timestamp", timestamp);
      break;
    case kOddNegativeTicket:
      w.Str("status", "FILLED")
          .Int("ticket", -5)
          .Str("symbol", symbol)
          .Num("volume", volume)
          .Num("price", price)
          .Str("execution_time", timestamp);
      break;
    default:  // kOddFractionalTicket
      w.Str("status", "FILLED")
          .Num("ticket", 12.5)
          .Str("symbol", symbol)
          .Num("volume", volume)
          .Num("price", price)
          .Str("execution_time", timestamp);
      break;
  }
  w.Close();
  return out;
}

int CountOddReplyKinds(uint32_t mask) {
  int n = 0;
  for (const auto& k : kOddReplyNames) n += (mask & k.kind) != 0 ? 1 : 0;
  return n;
}

uint32_t NthOddReplyKind(uint32_t mask, int n) {
  for (const auto& k : kOddReplyNames) {
    if ((mask & k.kind) == 0) continue;
    if (n-- == 0) return k.kind;
  }
  return kOddServerError;
}

}  // namespace internal

absl::StatusOr<uint32_t> ParseOddReplyKinds(absl::string_view list) {
  uint32_t mask = 0;
  for (absl::string_view word : absl::StrSplit(list, ',')) {
    word = absl::StripAsciiWhitespace(word);
    if (word == "all") {
      mask |= kAllOddReplies;
      continue;
    }
    bool known = false;
    for (const auto& k : internal::kOddReplyNames) {
      if (word == k.name) {
        mask |= k.kind;
        known = true;
      }
    }
    if (!known) {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown odd reply '", word,
          "': want all or a list of server_error, no_status, ok, pending, negative_ticket, "
          "fractional_ticket"));
    }
  }
  if (mask == 0) return absl::InvalidArgumentError("no odd reply kind named");
  return mask;
}

}  // namespace ordergate::transport::sim
