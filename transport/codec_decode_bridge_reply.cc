// DecodeBridgeReply (transport/codec.h): a bridge reply reduced to what the gateway acts on
// (status, uuid, ticket, error_code), lenient on the ticket's form.
#include <simdjson.h>

#include <charconv>
#include <cmath>
#include <string_view>
#include <system_error>

#include "transport/codec.h"
#include "transport/codec_json_read.h"

namespace ordergate {
namespace {

using codec_json_read::element_type;
using codec_json_read::EqualsIgnoreCase;
using codec_json_read::GetString;
using codec_json_read::ParserWithDepth;
using codec_json_read::ThreadParser;
using codec_json_read::ToAbsl;
namespace dom = simdjson::dom;

// Bridge replies are machine-made and shallow (GET_POSITIONS is 3 levels); this only bounds the
// parser's stack.
constexpr size_t kBridgeReplyMaxDepth = 64;

dom::parser* BridgeParser() {
  thread_local ThreadParser tp;
  return ParserWithDepth(tp, kBridgeReplyMaxDepth);
}

}  // namespace

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

}  // namespace ordergate
