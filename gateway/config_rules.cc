// The rules between settings (ValidateConfig, see config.h): the alignment of the contract's
// timeouts (section 3), the bridge's queue, the message sizes, and the security and shared-guard
// rules, each computed without overflow and refused with a message that names the values and says
// why. The ranges of single settings are config.cc's (CheckRanges), checked first.
#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "gateway/config.h"

namespace ordergate::gateway {

bool IsLoopbackEndpoint(absl::string_view endpoint) {
  if (absl::StartsWith(endpoint, "ipc://") || absl::StartsWith(endpoint, "inproc://")) return true;
  if (!absl::ConsumePrefix(&endpoint, "tcp://")) return false;
  const size_t colon = endpoint.rfind(':');
  if (colon == absl::string_view::npos) return false;
  const absl::string_view host = endpoint.substr(0, colon);
  if (host == "localhost" || host == "[::1]") return true;
  // 127.0.0.0/8, written as a dotted quad.
  if (!absl::StartsWith(host, "127.")) return false;
  const absl::string_view rest = host.substr(4);
  int dots = 0;
  int digits = 0;
  for (char ch : rest) {
    if (ch == '.') {
      if (digits == 0) return false;
      ++dots;
      digits = 0;
    } else if (absl::ascii_isdigit(static_cast<unsigned char>(ch)) && digits < 3) {
      ++digits;
    } else {
      return false;
    }
  }
  return dots == 2 && digits > 0;
}

namespace {

// a + b, or nullopt when it does not fit int64_t.
std::optional<int64_t> CheckedSum(int64_t a, int64_t b) {
  int64_t sum = 0;
  if (__builtin_add_overflow(a, b, &sum)) return std::nullopt;
  return sum;
}

}  // namespace

absl::Status ValidateConfig(const GatewayConfig& c) {
  if (absl::Status in_range = CheckRanges(c); !in_range.ok()) return in_range;
  auto fail = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (c.reply_margin_ms >= c.client_timeout_ms) {
    return fail("reply_margin_ms (", c.reply_margin_ms, ") must be below client_timeout_ms (",
                c.client_timeout_ms, "): ordergate replies by client_timeout_ms - reply_margin_ms");
  }
  // Within their ranges the sum cannot overflow; it is checked anyway, so that widening a range
  // can never turn this rule into one that passes by wrapping around.
  const std::optional<int64_t> ttl_end =
      CheckedSum(c.bridge_signature_ttl_ms, c.bridge_exec_margin_ms);
  if (!ttl_end || c.bridge_timeout_ms <= *ttl_end) {
    return fail("bridge_timeout_ms (", c.bridge_timeout_ms,
                ") must exceed bridge_signature_ttl_ms (", c.bridge_signature_ttl_ms,
                ") + bridge_exec_margin_ms (", c.bridge_exec_margin_ms,
                "): when ordergate gives up on a reply, the bridge must already have executed the "
                "order or be bound to reject it as expired");
  }
  if (c.bridge_receive_hwm > 0 && c.bridge_max_in_flight >= c.bridge_receive_hwm) {
    return fail("bridge_max_in_flight (", c.bridge_max_in_flight,
                ") must be below bridge_receive_hwm (", c.bridge_receive_hwm,
                "): the bridge handles one request while its socket queues the rest, and a "
                "socket queue at its HWM stops reading the connection, heartbeats included, so "
                "the link would be dropped with every request on it");
  }
  if (c.max_message_bytes <= c.max_request_bytes) {
    return fail("max_message_bytes (", c.max_message_bytes, ") must exceed max_request_bytes (",
                c.max_request_bytes,
                "): an oversize body must still reach ordergate to get its "
                "OVERSIZE reply");
  }
  if (c.curve_secret_cert.empty() != c.curve_clients_dir.empty()) {
    return fail("curve_secret_cert (\"", c.curve_secret_cert, "\") and curve_clients_dir (\"",
                c.curve_clients_dir,
                "\") go together: CURVE needs the gateway's secret certificate and the clients' "
                "public certificates; give both, or neither");
  }
  if (c.curve_secret_cert.empty() && !c.insecure_remote && !IsLoopbackEndpoint(c.listen)) {
    return fail("listen (\"", c.listen,
                "\") reaches beyond this host without CURVE: anyone who reaches the port could "
                "trade. Set curve_secret_cert and curve_clients_dir (docs/SECURITY.md), listen on "
                "loopback, or give --insecure-remote to accept the risk");
  }
  if (c.guard == "postgres") {
    if (c.guard_dsn.empty()) {
      return fail(
          "guard_dsn (\"\") is required with guard = postgres: the shared guard's "
          "database (a libpq connection string)");
    }
    if (c.gateway_id.empty()) {
      return fail(
          "gateway_id (\"\") is required with guard = postgres: each gateway on the "
          "shared guard holds a lease and marks its records under its own name");
    }
    if (c.guard_lease_ms >= c.bridge_timeout_ms) {
      return fail("guard_lease_ms (", c.guard_lease_ms, ") must be below bridge_timeout_ms (",
                  c.bridge_timeout_ms,
                  "): a dead gateway's in-flight orders become UNKNOWN only after its lease "
                  "expired, and that must not take longer than a live gateway's bridge deadline");
    }
  }
  return absl::OkStatus();
}

}  // namespace ordergate::gateway
