// libFuzzer target: the front end's request decoder (DecodeRequest) with the gateway's default
// DecodeLimits, and everything the gateway then does with its result (the canonical fields, the
// bridge request, the error reply).
//
//   build-fuzz/bin/fuzz_decode_request -dict=tests/fuzz/ordergate.dict -max_len=20000 CORPUS_DIR
//
// Beyond "no crash, no sanitizer finding", every input is held to these properties (a violation
// traps, so libFuzzer saves the input):
//   - decoding is deterministic: the same body twice gives the same code and the same fields;
//   - the code is one DecodeRequest can return; OVERSIZE iff the body exceeds max_request_bytes;
//   - anything an independent parser rejects (or that is not an object) is INVALID_JSON/OVERSIZE;
//   - a uuid the decoder keeps is valid per the contract's rule (checked here from its text), and
//     it is the body's uuid (a v1 envelope's req_id); the action it reports is the body's action
//     (ORDER_SEND: OPEN);
//   - an error code is set iff there is no request: on OK every field is valid for its action
//     (volume finite in (0, max_volume], prices finite >= 0, ticket > 0, timeout 1..600000, ...);
//   - an OK request re-encoded for the bridge is valid JSON that decodes to the same request with
//     the same canonical fields (so a fingerprint cannot differ from what the bridge executes);
//   - an error reply is valid JSON carrying the code, the status and the uuid the contract says.
#include <simdjson.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_support.h"
#include "transport/codec.h"
#include "transport/order.h"

namespace ordergate::fuzz {
namespace {

namespace dom = simdjson::dom;

bool SameBits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

// Every field, compared exactly (bit patterns for doubles: determinism means the same bits).
bool Identical(const Request& a, const Request& b) {
  return a.action == b.action && a.envelope == b.envelope && a.uuid.value == b.uuid.value &&
         a.symbol == b.symbol && a.type == b.type && SameBits(a.volume, b.volume) &&
         SameBits(a.price, b.price) && SameBits(a.sl, b.sl) && SameBits(a.tp, b.tp) &&
         a.comment == b.comment && a.magic == b.magic && a.has_magic == b.has_magic &&
         a.ticket.value == b.ticket.value && a.timeout_ms == b.timeout_ms &&
         a.risk_signature == b.risk_signature && a.status_symbol == b.status_symbol;
}

// What survives the trip to the bridge: everything but the strategy's own signature and timeout
// (never forwarded); -0 may come back as 0, which is the same number.
bool SameOrder(const Request& a, const Request& b) {
  return a.action == b.action && a.uuid.value == b.uuid.value && a.symbol == b.symbol &&
         a.type == b.type && a.volume == b.volume && a.price == b.price && a.sl == b.sl &&
         a.tp == b.tp && a.comment == b.comment && a.magic == b.magic &&
         a.has_magic == b.has_magic && a.ticket.value == b.ticket.value &&
         a.status_symbol == b.status_symbol;
}

bool DecoderMayReturn(ErrorCode ec) {
  switch (ec) {
    case ErrorCode::kOk:
    case ErrorCode::kInvalidJson:
    case ErrorCode::kOversize:
    case ErrorCode::kMissingAction:
    case ErrorCode::kUnknownAction:
    case ErrorCode::kMissingUuid:
    case ErrorCode::kInvalidUuid:
    case ErrorCode::kMissingSymbol:
    case ErrorCode::kMissingType:
    case ErrorCode::kInvalidType:
    case ErrorCode::kInvalidVolume:
    case ErrorCode::kInvalidPrice:
    case ErrorCode::kMissingTicket:
    case ErrorCode::kInvalidField:
    case ErrorCode::kRiskSignatureInvalid:
    case ErrorCode::kMissingPayload:  // the MT5-CRS v1 envelope's (section 2a)
    case ErrorCode::kMissingVolume:
      return true;
    default:
      return false;
  }
}

bool ValidPrice(double v) { return std::isfinite(v) && v >= 0; }

// On OK, the request is complete and valid for its action (the contract's field rules).
void CheckValidRequest(const Request& r, const DecodeLimits& limits) {
  const bool needs_uuid =
      r.action == Action::kOpen || r.action == Action::kClose || r.action == Action::kOrderStatus;
  if (needs_uuid) FUZZ_CHECK(!r.uuid.view().empty());
  FUZZ_CHECK(r.timeout_ms == 0 || (r.timeout_ms >= 1 && r.timeout_ms <= 600000));
  switch (r.action) {
    case Action::kOpen:
      FUZZ_CHECK(!r.symbol.empty() && r.symbol.size() <= 64);
      FUZZ_CHECK(std::isfinite(r.volume) && r.volume > 0 && r.volume <= limits.max_volume);
      FUZZ_CHECK(ValidPrice(r.price) && ValidPrice(r.sl) && ValidPrice(r.tp));
      FUZZ_CHECK(r.comment.size() <= 31);
      FUZZ_CHECK(r.has_magic || r.magic == 0);
      FUZZ_CHECK(r.risk_signature.empty() ||
                 ToStd(r.risk_signature.view()).substr(0, 10) == "RISK_PASS:");
      FUZZ_CHECK(r.ticket.value == 0);
      break;
    case Action::kClose:
      FUZZ_CHECK(r.ticket.value > 0);
      FUZZ_CHECK(r.symbol.empty() && r.volume == 0 && !r.has_magic);
      break;
    default:
      FUZZ_CHECK(r.symbol.empty() && r.volume == 0 && r.ticket.value == 0);
      break;
  }
  if (r.action != Action::kGetPositions) FUZZ_CHECK(r.status_symbol.empty());
}

// The bridge request made from `r` is valid JSON and decodes to the same order, with the same
// canonical fields; with a signature, the signature survives too.
void CheckReencode(const Request& r, dom::parser& parser) {
  std::string canonical;
  CanonicalOrderFields(r, &canonical);
  const absl::string_view action_name = ActionName(r.action);
  FUZZ_CHECK(std::string_view(canonical).substr(0, action_name.size()) == ToStd(action_name));

  for (const absl::string_view sig :
       {absl::string_view(), absl::string_view("RISK_PASS:0011223344556677:20261125T093552Z")}) {
    std::string wire;
    EncodeBridgeRequest(r, sig, &wire);
    dom::element root;
    FUZZ_CHECK(ParseIndependently(parser, wire, &root));
    FUZZ_CHECK(root.type() == dom::element_type::OBJECT);

    Request back;
    const ErrorCode ec = DecodeRequest(absl::string_view(wire.data(), wire.size()), DecodeLimits{},
                                       kNowUnixUs, &back);
    FUZZ_CHECK(ec == ErrorCode::kOk);
    FUZZ_CHECK(SameOrder(r, back));
    FUZZ_CHECK(back.timeout_ms == 0);
    if (r.action == Action::kOpen) FUZZ_CHECK(back.risk_signature.view() == sig);
    std::string canonical_back;
    CanonicalOrderFields(back, &canonical_back);
    FUZZ_CHECK(canonical_back == canonical);
  }
}

// The error reply the gateway would send is valid JSON with the contract's fields.
void CheckErrorReply(const Request& r, ErrorCode ec, dom::parser& parser) {
  const bool is_order = IsOrderAction(r.action);
  std::string reply;
  EncodeErrorReply(r.uuid.view(), ec, is_order, "", kNowUnixUs, &reply);
  dom::element root;
  FUZZ_CHECK(ParseIndependently(parser, reply, &root));
  dom::object obj;
  FUZZ_CHECK(root.get_object().get(obj) == simdjson::SUCCESS);
  std::string_view s;
  FUZZ_CHECK(obj["error_code"].get(s) == simdjson::SUCCESS && s == ToStd(ErrorCodeName(ec)));
  FUZZ_CHECK(obj["status"].get(s) == simdjson::SUCCESS && s == ToStd(ErrorStatus(ec, is_order)));
  FUZZ_CHECK(s == "error" || s == "REJECTED");
  if (r.uuid.view().empty()) {
    FUZZ_CHECK(obj["uuid"].is_null());
  } else {
    FUZZ_CHECK(obj["uuid"].get(s) == simdjson::SUCCESS && s == ToStd(r.uuid.view()));
  }
  std::string with_fields;
  AppendWithGatewayFields(reply, false, 12, &with_fields);
  FUZZ_CHECK(ParseIndependently(parser, with_fields, &root));
  int64_t us = 0;
  FUZZ_CHECK(root["gateway_us"].get(us) == simdjson::SUCCESS && us == 12);
}

// What an independent parse of the body says must agree with how far the decoder got.
void CheckAgainstIndependentParse(std::string_view body, ErrorCode ec, const Request& r,
                                  dom::parser& parser) {
  if (ec == ErrorCode::kOversize) return;
  dom::element root;
  const bool parsed = ParseIndependently(parser, body, &root);
  if (!parsed || root.type() != dom::element_type::OBJECT) {
    FUZZ_CHECK(ec == ErrorCode::kInvalidJson);
    return;
  }
  if (ec == ErrorCode::kInvalidJson) return;  // duplicate keys, depth: the codec's own checks
  const dom::object obj = root.get_object().value_unsafe();

  dom::element e;
  std::string_view s;
  // A v1 envelope (ORDER_SEND) is keyed by its req_id; its top-level uuid, if any, means nothing.
  const bool v1 = r.envelope == Envelope::kMt5CrsV1;
  const bool has_uuid_string =
      LastMember(obj, v1 ? "req_id" : "uuid", &e) && e.get_string().get(s) == simdjson::SUCCESS;
  if (!r.uuid.view().empty()) {
    FUZZ_CHECK(has_uuid_string && s == ToStd(r.uuid.view()));
  } else if (has_uuid_string && ContractUuid(s)) {
    FUZZ_CHECK(false);  // a valid uuid in the body must be kept, so the reply can echo it
  }

  if (ec == ErrorCode::kMissingAction) return;
  FUZZ_CHECK(LastMember(obj, "action", &e) && e.get_string().get(s) == simdjson::SUCCESS);
  if (ec == ErrorCode::kUnknownAction) return;
  if (v1) {
    FUZZ_CHECK(EqualsIgnoreAsciiCase(s, "ORDER_SEND") && r.action == Action::kOpen);
  } else {
    FUZZ_CHECK(EqualsIgnoreAsciiCase(s, ToStd(ActionName(r.action))));
  }
}

}  // namespace
}  // namespace ordergate::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace ordergate;
  using namespace ordergate::fuzz;
  const absl::string_view body(reinterpret_cast<const char*>(data), size);
  const DecodeLimits limits;  // the gateway's defaults (16384 bytes, depth 16, volume 1000)

  Request req;
  const ErrorCode ec = DecodeRequest(body, limits, kNowUnixUs, &req);
  Request again;
  FUZZ_CHECK(DecodeRequest(body, limits, kNowUnixUs, &again) == ec);
  FUZZ_CHECK(Identical(req, again));

  FUZZ_CHECK(DecoderMayReturn(ec));
  FUZZ_CHECK((ec == ErrorCode::kOversize) == (size > limits.max_request_bytes));
  if (!req.uuid.view().empty()) FUZZ_CHECK(ContractUuid(ToStd(req.uuid.view())));

  static dom::parser parser;  // independent of the codec's thread_local one
  CheckAgainstIndependentParse(ToStd(body), ec, req, parser);
  if (ec == ErrorCode::kOk) {
    CheckValidRequest(req, limits);
    CheckReencode(req, parser);
  } else {
    CheckErrorReply(req, ec, parser);
  }
  return 0;
}
