// The nemesis run's shared pieces (see nemesis_test.cc): options, the clock, the gateway's timing
// settings and how a reply is classified and recorded.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "e2e_util.h"

namespace nemesis {

using namespace e2e;  // NOLINT(google-build-using-namespace): the e2e helpers throughout

using Clock = std::chrono::steady_clock;

struct Options {
  int duration_s = 60;
  uint64_t seed = 0;  // 0: drawn from the clock, and printed
  int clients = 4;
  int tmpfs_mb = 48;
  std::string durability = "sync";
  std::string guard = "rocksdb";  // or "postgres" (nemesis_pg.h)
  bool allow_missing_faults = false;
};
inline Options g_opt;

inline const Clock::time_point g_t0 = Clock::now();
inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - g_t0).count();
}

inline int64_t UnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// A reply's "timestamp" ("2026-12-05T01:27:07.524598Z", when the gateway built it) on the run's
// clock (NowMs); -1 when absent or unreadable. A reply may wait in a gateway or a socket after it
// was built (a gateway whose loop then blocked on its store): when it was built is what it knew.
inline int64_t BuiltAtMs(const std::string& timestamp) {
  absl::Time t;
  std::string err;
  if (timestamp.empty() || !absl::ParseTime(absl::RFC3339_full, timestamp, &t, &err)) return -1;
  const int64_t us = absl::ToUnixMicros(t);
  const int64_t now_us =
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - g_t0).count();
  return (us - (UnixUs() - now_us)) / 1000;
}

inline void Say(const std::string& s) {
  std::printf("[nemesis %7.1fs] %s\n", static_cast<double>(NowMs()) / 1000.0, s.c_str());
  std::fflush(stdout);
}

// Gateway settings: short timeouts so that many faults fit in a few minutes, aligned as
// ValidateConfig demands (bridge_timeout_ms > ttl + exec margin).
constexpr int64_t kTtlMs = 1000;
constexpr int64_t kExecMarginMs = 200;
constexpr int64_t kBridgeTimeoutMs = 1500;
constexpr int64_t kClientTimeoutMs = 1000;                 // timeout_ms every order carries
constexpr int64_t kLostAfterMs = kClientTimeoutMs + 1500;  // no reply by then: the send is lost
constexpr int kWindow = 5;                                 // uuids each client has in progress

inline bool NotRecordedRefusal(const std::string& status, const std::string& code) {
  return (status == "REJECTED" && (code == "GATEWAY_BUSY" || code == "BRIDGE_DOWN")) ||
         (status == "error" && code == "STORE_UNAVAILABLE");
}
inline bool Terminal(const std::string& status, const std::string& code) {
  return status == "FILLED" ||
         (status == "REJECTED" && code != "GATEWAY_BUSY" && code != "BRIDGE_DOWN" &&
          code != "IDEMPOTENCY_CONFLICT" && code != "RISK_LIMIT");
}

// One reply a client (or the final pass) received.
struct ReplyRec {
  std::string uuid;
  char kind = 'o';  // o: OPEN, c: conflicting OPEN, q: ORDER_STATUS, f: final ORDER_STATUS,
                    // r: final resend of the OPEN
  std::string status, code;
  int64_t ticket = 0;
  bool ticket_is_int = false;  // "ticket" present as a JSON integer
  std::optional<bool> duplicate;
  int64_t t_ms = 0;       // when the client got it
  int64_t built_ms = -1;  // when the gateway built it (BuiltAtMs), -1 if the reply does not say
  std::string raw;
};

inline ReplyRec ToRec(const Json& j, char kind) {
  ReplyRec r;
  r.uuid = j.S("uuid");
  r.kind = kind;
  r.status = j.S("status");
  r.code = j.S("error_code");
  r.ticket = j.Int("ticket").value_or(0);
  r.ticket_is_int = j.Int("ticket").has_value();
  r.duplicate = j.Bool("duplicate");
  r.t_ms = NowMs();
  r.built_ms = BuiltAtMs(j.S("timestamp"));
  r.raw = j.raw();
  return r;
}

}  // namespace nemesis
