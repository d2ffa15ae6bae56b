// EncodeV1Reply (transport/codec.h): a reply of ordergate's, turned into what an MT5-CRS JSON v1
// strategy expects (protocol.md section 2a): {"error","ticket","msg","retcode"} plus ordergate's
// "duplicate" and "gateway_us".
#include <simdjson.h>

#include <cstdlib>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "transport/codec.h"
#include "transport/codec_json_read.h"
#include "transport/json_write.h"

namespace ordergate {
namespace {

using codec_json_read::GetString;
using codec_json_read::ParserWithDepth;
using codec_json_read::ThreadParser;
using codec_json_read::ToAbsl;
namespace dom = simdjson::dom;

constexpr int kRetcodeDone = 10009;     // TRADE_RETCODE_DONE
constexpr int kRetcodeTimeout = -1;     // UNKNOWN, PENDING
constexpr int kRetcodeMissing = -2;     // a required member absent
constexpr int kRetcodeOutOfRange = -3;  // a member out of range
constexpr int kRetcodeRefused = -4;     // refused (ordergate or the bridge without a retcode)

bool IsOrdergateCode(std::string_view code) {
  for (int c = 1; c <= static_cast<int>(kLastErrorCode); ++c) {
    const absl::string_view n = ErrorCodeName(static_cast<ErrorCode>(c));
    if (code == std::string_view(n.data(), n.size())) return true;
  }
  return false;
}

// The MT5 retcode a bridge refusal carries: a "retcode" member, or "retcode N" in its message
// (the bridge's own form, e.g. "order_send failed: retcode 10006"). 0 when there is none.
int64_t BridgeRetcode(const dom::object& obj, std::string_view msg) {
  int64_t r = 0;
  if (obj["retcode"].get(r) == simdjson::SUCCESS && r != 0) return r;
  const size_t at = msg.find("retcode ");
  if (at == std::string_view::npos) return 0;
  const char* start = msg.data() + at + 8;
  const char* end = msg.data() + msg.size();
  int64_t v = 0;
  bool any = false;
  for (const char* p = start; p < end && *p >= '0' && *p <= '9' && v < (int64_t{1} << 40); ++p) {
    v = v * 10 + (*p - '0');
    any = true;
  }
  return any ? v : 0;
}

int Retcode(std::string_view status, std::string_view code) {
  if (status == "UNKNOWN" || status == "PENDING") return kRetcodeTimeout;
  if (code == "MISSING_ACTION" || code == "MISSING_UUID" || code == "MISSING_PAYLOAD" ||
      code == "MISSING_SYMBOL" || code == "MISSING_TYPE" || code == "MISSING_VOLUME") {
    return kRetcodeMissing;
  }
  if (code == "INVALID_UUID" || code == "INVALID_TYPE" || code == "INVALID_VOLUME" ||
      code == "INVALID_PRICE" || code == "INVALID_FIELD") {
    return kRetcodeOutOfRange;
  }
  return kRetcodeRefused;
}

}  // namespace

void EncodeV1Reply(absl::string_view reply_object, bool duplicate, int64_t gateway_us,
                   std::string* out) {
  thread_local ThreadParser tp;
  dom::parser* parser = ParserWithDepth(tp, 64);
  dom::object obj;
  std::string_view status, code, error_msg;
  int64_t ticket = 0;
  double price = 0;
  bool has_price = false;
  bool parsed =
      parser != nullptr &&
      parser->parse(reply_object.data(), reply_object.size(), true).get(obj) == simdjson::SUCCESS;
  if (parsed) {
    dom::element e;
    if (obj["status"].get(e) == simdjson::SUCCESS) (void)GetString(e, &status);
    if (obj["error_code"].get(e) == simdjson::SUCCESS) (void)GetString(e, &code);
    if (obj["error_msg"].get(e) == simdjson::SUCCESS) (void)GetString(e, &error_msg);
    if (obj["ticket"].get(ticket) != simdjson::SUCCESS) ticket = 0;
    has_price = obj["price"].get(price) == simdjson::SUCCESS;
  }
  bool error = true;
  int64_t retcode = kRetcodeRefused;
  std::string msg;
  if (parsed && status == "FILLED" && ticket > 0) {
    error = false;
    retcode = kRetcodeDone;
    msg = has_price ? absl::StrCat("Filled at ", price) : std::string("Filled");
  } else {
    ticket = 0;
    retcode = Retcode(status, code);
    // A refusal of the bridge's own (not one of ordergate's codes) keeps its MT5 retcode.
    if (parsed && status == "REJECTED" && !code.empty() && !IsOrdergateCode(code)) {
      if (const int64_t mt5 = BridgeRetcode(obj, error_msg); mt5 != 0) retcode = mt5;
    }
    // The status and the code come first: the strategy's log names what happened.
    msg = parsed ? std::string(status) : std::string("error");
    if (!code.empty()) absl::StrAppend(&msg, " ", ToAbsl(code));
    if (status == "PENDING") {
      absl::StrAppend(&msg, ": the order is in flight; send the same req_id again for its outcome");
    } else if (!error_msg.empty()) {
      absl::StrAppend(&msg, ": ", ToAbsl(error_msg));
    }
  }
  absl::StrAppend(out, "{\"error\":", error ? "true" : "false", ",\"ticket\":", ticket,
                  ",\"msg\":");
  AppendJsonString(msg, out);
  absl::StrAppend(out, ",\"retcode\":", retcode, ",\"duplicate\":", duplicate ? "true" : "false",
                  ",\"gateway_us\":", gateway_us, "}");
}

}  // namespace ordergate
