// libFuzzer target: the bridge reply decoder (DecodeBridgeReply -> BridgeStatus), and the
// rewriting the gateway applies to a reply before relaying or storing it (AppendWithGatewayFields).
//
//   build-fuzz/bin/fuzz_decode_bridge_reply -dict=tests/fuzz/ordergate.dict CORPUS_DIR
//
// Properties held for every input (a violation traps, so libFuzzer saves the input):
//   - decoding is deterministic;
//   - parsed iff an independent parser (same depth bound, 64) reads one JSON object;
//   - an unparsed reply carries nothing: kOther, no uuid, no ticket, no error code;
//   - a kept uuid is valid per the contract's rule and is the reply's uuid; has_uuid iff the reply
//     has a string uuid;
//   - kFilled has a ticket > 0, kNoTicket none, and a ticket > 0 is one the reply carries;
//     kFilled/kNoTicket only for a FILLED status, kRejected/kOk/kError only
//     for their status texts (case-insensitive), kNoTicket only when the ticket is 0, null or
//     absent (an executed order must never read as "placed nothing");
//   - error_code is the reply's error_code string when that is at most 64 bytes;
//   - a parsed reply with the gateway's fields added is still one valid JSON object ending with
//     them.
#include <simdjson.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tests/fuzz/fuzz_support.h"
#include "transport/codec.h"
#include "transport/order.h"

namespace ordergate::fuzz {
namespace {

namespace dom = simdjson::dom;

bool Identical(const BridgeReply& a, const BridgeReply& b) {
  return a.parsed == b.parsed && a.has_uuid == b.has_uuid && a.uuid == b.uuid &&
         a.status == b.status && a.ticket.value == b.ticket.value && a.error_code == b.error_code;
}

// The same depth bound as the codec's bridge parser, so both must agree on what parses.
dom::parser& IndependentParser() {
  static dom::parser parser(/*max_capacity=*/simdjson::SIMDJSON_MAXSIZE_BYTES);
  static const bool allocated = [] {
    return parser.allocate(4096, /*max_depth=*/64) == simdjson::SUCCESS;
  }();
  FUZZ_CHECK(allocated);
  return parser;
}

// True when the ticket member `e` means "MT5 placed nothing": 0 (any numeric form), or null.
bool MeansNoTicket(const dom::element& e) {
  switch (e.type()) {
    case dom::element_type::NULL_VALUE:
      return true;
    case dom::element_type::INT64:
      return e.get_int64().value_unsafe() == 0;
    case dom::element_type::UINT64:
      return e.get_uint64().value_unsafe() == 0;
    case dom::element_type::DOUBLE:
      return e.get_double().value_unsafe() == 0;
    case dom::element_type::STRING: {
      std::string_view s = e.get_string().value_unsafe();
      if (!s.empty() && s[0] == '-') s.remove_prefix(1);
      return !s.empty() && s.find_first_not_of('0') == std::string_view::npos;
    }
    default:
      return false;
  }
}

bool HasRepeatedMember(const dom::object& obj) {
  std::vector<std::string_view> keys;
  for (dom::key_value_pair kv : obj) keys.push_back(kv.key);
  std::sort(keys.begin(), keys.end());
  return std::adjacent_find(keys.begin(), keys.end()) != keys.end();
}

// What the gateway relays or stores: a reply that parsed as an object, plus its own two fields,
// is still one object, and those fields read back as written.
void CheckGatewayFields(std::string_view body) {
  static dom::parser parser;  // not IndependentParser(): the caller still reads its document
  std::string with_fields;
  AppendWithGatewayFields(absl::string_view(body.data(), body.size()), true, 77, &with_fields);
  dom::element out;
  FUZZ_CHECK(ParseIndependently(parser, with_fields, &out));
  FUZZ_CHECK(out.type() == dom::element_type::OBJECT);
  dom::element e;
  bool dup = false;
  int64_t us = 0;
  FUZZ_CHECK(LastMember(out.get_object().value_unsafe(), "duplicate", &e) &&
             e.get_bool().get(dup) == simdjson::SUCCESS && dup);
  FUZZ_CHECK(LastMember(out.get_object().value_unsafe(), "gateway_us", &e) &&
             e.get_int64().get(us) == simdjson::SUCCESS && us == 77);
}

void CheckAgainstIndependentParse(std::string_view body, const BridgeReply& r) {
  dom::parser& parser = IndependentParser();
  dom::element root;
  const bool object =
      ParseIndependently(parser, body, &root) && root.type() == dom::element_type::OBJECT;
  FUZZ_CHECK(r.parsed == object);
  if (!object) {
    FUZZ_CHECK(r.status == BridgeStatus::kOther && !r.has_uuid && r.uuid.empty() &&
               r.ticket.value == 0 && r.error_code.empty());
    return;
  }
  const dom::object obj = root.get_object().value_unsafe();
  dom::element e;
  std::string_view s;
  if (!r.uuid.empty()) FUZZ_CHECK(ContractUuid(ToStd(r.uuid.view())));
  CheckGatewayFields(body);
  // A bridge writes replies with Python's json, which never repeats a member; with repeated ones
  // "which member counts" has no single right answer, so the member checks below stop here.
  if (HasRepeatedMember(obj)) return;

  const bool uuid_string =
      LastMember(obj, "uuid", &e) && e.get_string().get(s) == simdjson::SUCCESS;
  FUZZ_CHECK(r.has_uuid == uuid_string);
  if (!r.uuid.empty()) {
    FUZZ_CHECK(uuid_string && s == ToStd(r.uuid.view()));
  } else if (uuid_string) {
    FUZZ_CHECK(!ContractUuid(s));
  }

  std::string_view status;
  const bool has_status =
      LastMember(obj, "status", &e) && e.get_string().get(status) == simdjson::SUCCESS;
  switch (r.status) {
    case BridgeStatus::kFilled:
      FUZZ_CHECK(has_status && EqualsIgnoreAsciiCase(status, "FILLED"));
      FUZZ_CHECK(r.ticket.value > 0);
      break;
    case BridgeStatus::kNoTicket:
      FUZZ_CHECK(has_status && EqualsIgnoreAsciiCase(status, "FILLED"));
      FUZZ_CHECK(!LastMember(obj, "ticket", &e) || MeansNoTicket(e));
      break;
    case BridgeStatus::kRejected:
      FUZZ_CHECK(has_status && EqualsIgnoreAsciiCase(status, "REJECTED"));
      break;
    case BridgeStatus::kOk:
      FUZZ_CHECK(has_status && EqualsIgnoreAsciiCase(status, "OK"));
      break;
    case BridgeStatus::kError:
      FUZZ_CHECK(has_status && EqualsIgnoreAsciiCase(status, "ERROR"));
      break;
    case BridgeStatus::kOther:
      FUZZ_CHECK(!has_status || !EqualsIgnoreAsciiCase(status, "REJECTED"));
      FUZZ_CHECK(!has_status || !EqualsIgnoreAsciiCase(status, "OK"));
      FUZZ_CHECK(!has_status || !EqualsIgnoreAsciiCase(status, "ERROR"));
      break;
  }
  FUZZ_CHECK(r.ticket.value >= 0);
  if (r.ticket.value > 0) {
    // Only a ticket the reply really carries, whatever its status.
    FUZZ_CHECK(LastMember(obj, "ticket", &e) && !MeansNoTicket(e));
    FUZZ_CHECK(r.status != BridgeStatus::kNoTicket);
  }

  if (LastMember(obj, "error_code", &e) && e.get_string().get(s) == simdjson::SUCCESS &&
      s.size() <= 64) {
    FUZZ_CHECK(s == ToStd(r.error_code.view()));
  } else {
    FUZZ_CHECK(r.error_code.empty());
  }
}

}  // namespace
}  // namespace ordergate::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ordergate;
  using namespace ordergate::fuzz;
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  const BridgeReply r = DecodeBridgeReply(body);
  FUZZ_CHECK(Identical(r, DecodeBridgeReply(body)));
  FUZZ_CHECK(!r.has_uuid ? r.uuid.empty() : true);
  FUZZ_CHECK(r.parsed || r.status == BridgeStatus::kOther);
  CheckAgainstIndependentParse(ToStd(body), r);
  return 0;
}
