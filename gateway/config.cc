#include "gateway/config.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace ordergate::gateway {

namespace {

// How a setting's value is read and checked.
enum class Kind {
  kInt,              // int64_t within [min, max]
  kVolume,           // double within [min_volume, max_volume]
  kBindEndpoint,     // a ZeroMQ endpoint ordergated binds
  kConnectEndpoint,  // a ZeroMQ endpoint ordergated connects to
  kPath,             // a non-empty path
  kOptionalPath,     // a path, or "" (none)
  kMetricsListen,    // "" or HOST:PORT
  kDurability,
  kRetention,
  kLogLevel,
  kBool,          // true / false
  kGuard,         // "rocksdb" or "postgres"
  kOptionalText,  // any text, or "" (none)
  kGatewayId,     // "" or 1..64 of [A-Za-z0-9._-]
};

struct Setting {
  absl::string_view key;
  Kind kind;
  absl::string_view value = {};  // placeholder in --help
  absl::string_view help = {};
  int64_t GatewayConfig::*int_field = nullptr;
  int64_t min = 0;
  int64_t max = 0;
  std::string GatewayConfig::*string_field = nullptr;
  bool GatewayConfig::*bool_field = nullptr;
};

// Every duration in ms is at most 10 minutes, or a day for the late-reply window: the gateway adds
// them to steady-clock nanoseconds, which stay far from overflow, and an operator who means more
// has misread the unit.
constexpr int64_t kMaxDurationMs = 600'000;
constexpr int64_t kMaxLateReplyWindowMs = 86'400'000;
constexpr double kMinVolume = 0.000001;  // a millionth of a lot; 1e-320 is a typo, not a limit
constexpr double kMaxVolume = 1'000'000;
constexpr absl::Duration kMinRetention = absl::Seconds(1);
constexpr absl::Duration kMaxRetention = absl::Hours(24 * 3650);
constexpr absl::string_view kLogLevels[] = {"trace", "debug",    "info", "warn",
                                            "error", "critical", "off"};
constexpr size_t kMaxIpcPathBytes = 107;  // sizeof(sockaddr_un::sun_path) - 1

const Setting kSettings[] = {
    {.key = "listen",
     .kind = Kind::kBindEndpoint,
     .value = "ENDPOINT",
     .help = "front-end ROUTER the strategies connect to",
     .string_field = &GatewayConfig::listen},
    {.key = "bridge",
     .kind = Kind::kConnectEndpoint,
     .value = "ENDPOINT",
     .help = "the MT5 bridge's REP",
     .string_field = &GatewayConfig::bridge},
    {.key = "data_dir",
     .kind = Kind::kPath,
     .value = "DIR",
     .help = "RocksDB directory (the idempotency store)",
     .string_field = &GatewayConfig::data_dir},
    {.key = "durability",
     .kind = Kind::kDurability,
     .value = "sync|async",
     .help = "sync: fsync before sending; async: WAL in page cache (survives a process crash)"},
    {.key = "client_timeout_ms",
     .kind = Kind::kInt,
     .value = "N",
     .help = "reply deadline when a request carries no timeout_ms",
     .int_field = &GatewayConfig::client_timeout_ms,
     .min = 1,
     .max = kMaxDurationMs},
    {.key = "reply_margin_ms",
     .kind = Kind::kInt,
     .value = "N",
     .help = "reply this long before the client's deadline; below client_timeout_ms",
     .int_field = &GatewayConfig::reply_margin_ms,
     .min = 0,
     .max = kMaxDurationMs - 1},
    {.key = "bridge_timeout_ms",
     .kind = Kind::kInt,
     .value = "N",
     .help = "give up on a bridge reply: UNKNOWN; above bridge_signature_ttl_ms + "
             "bridge_exec_margin_ms",
     .int_field = &GatewayConfig::bridge_timeout_ms,
     .min = 1,
     .max = kMaxDurationMs},
    {.key = "bridge_signature_ttl_ms",
     .kind = Kind::kInt,
     .value = "N",
     .help = "the bridge's risk_signature TTL",
     .int_field = &GatewayConfig::bridge_signature_ttl_ms,
     .min = 1,
     .max = kMaxDurationMs},
    {.key = "bridge_exec_margin_ms",
     .kind = Kind::kInt,
     .value = "N",
     .help = "execution time allowed after the bridge's TTL check",
     .int_field = &GatewayConfig::bridge_exec_margin_ms,
     .min = 0,
     .max = kMaxDurationMs},
    {.key = "bridge_max_in_flight",
     .kind = Kind::kInt,
     .value = "N",
     .help = "requests unanswered at the bridge (orders, relays, ORDER_STATUS); beyond: "
             "GATEWAY_BUSY; below bridge_receive_hwm",
     .int_field = &GatewayConfig::bridge_max_in_flight,
     .min = 1,
     .max = 1'000'000},
    {.key = "bridge_receive_hwm",
     .kind = Kind::kInt,
     .value = "N",
     .help = "ZMQ_RCVHWM of the bridge's REP socket, in messages (the real bridge keeps "
             "libzmq's 1000); 0: the bridge sets no limit",
     .int_field = &GatewayConfig::bridge_receive_hwm,
     .min = 0,
     .max = 100'000'000},
    {.key = "retention",
     .kind = Kind::kRetention,
     .value = "DURATION",
     .help = "keep terminal records this long (Nd, Nh, Nm, Ns or plain seconds)"},
    {.key = "log_level", .kind = Kind::kLogLevel, .value = "LEVEL", .help = "log threshold"},
    {.key = "metrics_listen",
     .kind = Kind::kMetricsListen,
     .value = "HOST:PORT",
     .help = "/healthz /readyz /metrics /latency; a second gateway on the same address refuses "
             "to start",
     .string_field = &GatewayConfig::metrics_listen},
    {.key = "admin_token_file",
     .kind = Kind::kOptionalPath,
     .value = "FILE",
     .help = "token a mutating /admin call from elsewhere than loopback must carry; mode 0600 "
             "or ordergated refuses to start; \"\": loopback only",
     .string_field = &GatewayConfig::admin_token_file},
    {.key = "curve_secret_cert",
     .kind = Kind::kOptionalPath,
     .value = "FILE",
     .help = "the gateway's CURVE secret certificate (czmq ZPL, `ordergatectl keygen`), mode "
             "0600; with curve_clients_dir the front end speaks CurveZMQ; \"\": no CURVE",
     .string_field = &GatewayConfig::curve_secret_cert},
    {.key = "curve_clients_dir",
     .kind = Kind::kOptionalPath,
     .value = "DIR",
     .help = "directory of the clients' public certificates: only these keys may connect, each "
             "under its metadata.name (read at start; *_secret and hidden files are skipped)",
     .string_field = &GatewayConfig::curve_clients_dir},
    {.key = "insecure_remote",
     .kind = Kind::kBool,
     .value = "BOOL",
     .help = "allow `listen` beyond loopback without CURVE: anyone who reaches the port can "
             "trade (warned at every start)",
     .bool_field = &GatewayConfig::insecure_remote},
    {.key = "max_request_bytes",
     .kind = Kind::kInt,
     .value = "N",
     .help = "larger bodies get OVERSIZE",
     .int_field = &GatewayConfig::max_request_bytes,
     .min = 64,
     .max = 16 << 20},
    {.key = "max_message_bytes",
     .kind = Kind::kInt,
     .value = "N",
     .help = "ZMQ_MAXMSGSIZE: larger frames disconnect the peer; above max_request_bytes",
     .int_field = &GatewayConfig::max_message_bytes,
     .min = 128,
     .max = 1 << 30},
    {.key = "max_volume",
     .kind = Kind::kVolume,
     .value = "X",
     .help = "larger volumes get INVALID_VOLUME"},
    {.key = "unknown_query_interval_ms",
     .kind = Kind::kInt,
     .value = "N",
     .help = "how often an UNKNOWN is asked about with ORDER_STATUS",
     .int_field = &GatewayConfig::unknown_query_interval_ms,
     .min = 100,
     .max = kMaxDurationMs},
    {.key = "late_reply_window_ms",
     .kind = Kind::kInt,
     .value = "N",
     .help = "how long a timed-out order still accepts its reply",
     .int_field = &GatewayConfig::late_reply_window_ms,
     .min = 0,
     .max = kMaxLateReplyWindowMs},
    {.key = "max_batch",
     .kind = Kind::kInt,
     .value = "N",
     .help = "requests drained into one store batch (one fsync)",
     .int_field = &GatewayConfig::max_batch,
     .min = 1,
     .max = 65536},
    {.key = "audit_log",
     .kind = Kind::kOptionalPath,
     .value = "FILE",
     .help = "one JSON line per decision (sent, duplicate, conflict, risk refusal, outcome, "
             "UNKNOWN, resolution); relative to data_dir unless absolute; \"\": off",
     .string_field = &GatewayConfig::audit_log},
    {.key = "audit_log_max_bytes",
     .kind = Kind::kInt,
     .value = "N",
     .help = "the audit log is rotated before a line would take it past this size",
     .int_field = &GatewayConfig::audit_log_max_bytes,
     .min = 4096,
     .max = int64_t{1} << 40},
    {.key = "audit_log_keep",
     .kind = Kind::kInt,
     .value = "N",
     .help = "rotated audit logs kept (FILE.1 ... FILE.N; older ones are deleted)",
     .int_field = &GatewayConfig::audit_log_keep,
     .min = 1,
     .max = 1000},
    {.key = "guard",
     .kind = Kind::kGuard,
     .value = "rocksdb|postgres",
     .help = "the idempotency guard: rocksdb (embedded, in data_dir) or postgres (one database "
             "shared by several gateways: guard_dsn, gateway_id)",
     .string_field = &GatewayConfig::guard},
    {.key = "guard_dsn",
     .kind = Kind::kOptionalText,
     .value = "DSN",
     .help = "libpq connection string of the shared guard (guard = postgres)",
     .string_field = &GatewayConfig::guard_dsn},
    {.key = "gateway_id",
     .kind = Kind::kGatewayId,
     .value = "NAME",
     .help = "this gateway's name on the shared guard (its lease and records); unique among "
             "running gateways; required with guard = postgres",
     .string_field = &GatewayConfig::gateway_id},
    {.key = "guard_lease_ms",
     .kind = Kind::kInt,
     .value = "N",
     .help = "the gateway's lease on the shared guard: renewed every third of it, orders stop at "
             "two thirds without a renewal; below bridge_timeout_ms",
     .int_field = &GatewayConfig::guard_lease_ms,
     .min = 300,
     .max = kMaxDurationMs},
};

const Setting* FindSetting(absl::string_view key) {
  for (const Setting& s : kSettings) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

std::string RangeText(const Setting& s) {
  switch (s.kind) {
    case Kind::kInt:
      return absl::StrCat(s.min, "..", s.max);
    case Kind::kVolume:
      return "0.000001..1000000";
    case Kind::kBindEndpoint:
      return "tcp://HOST:PORT (PORT 1..65535, or * for a free port), ipc://PATH or inproc://NAME";
    case Kind::kConnectEndpoint:
      return "tcp://HOST:PORT (PORT 1..65535), ipc://PATH or inproc://NAME";
    case Kind::kPath:
      return "a non-empty path";
    case Kind::kOptionalPath:
      return "a path, or \"\" (none)";
    case Kind::kMetricsListen:
      return "HOST:PORT (PORT 0..65535, 0 for a free port) or \"\" (off)";
    case Kind::kDurability:
      return "sync or async";
    case Kind::kRetention:
      return "1s..3650d";
    case Kind::kLogLevel:
      return absl::StrCat("one of ", absl::StrJoin(kLogLevels, ", "));
    case Kind::kBool:
      return "true or false";
    case Kind::kGuard:
      return "rocksdb or postgres";
    case Kind::kOptionalText:
      return "any text, or \"\" (none)";
    case Kind::kGatewayId:
      return "1..64 characters of [A-Za-z0-9._-], or \"\" (none)";
  }
  return "";
}

std::string RetentionText(absl::Duration d) {
  if (d % absl::Hours(24) == absl::ZeroDuration()) {
    return absl::StrCat(absl::IDivDuration(d, absl::Hours(24), &d), "d");
  }
  if (d % absl::Hours(1) == absl::ZeroDuration()) {
    return absl::StrCat(absl::IDivDuration(d, absl::Hours(1), &d), "h");
  }
  return absl::FormatDuration(d);
}

std::string ValueText(const Setting& s, const GatewayConfig& c) {
  switch (s.kind) {
    case Kind::kInt:
      return absl::StrCat(c.*s.int_field);
    case Kind::kVolume: {
      // The shortest text that reads back as the same double (StrCat keeps 6 digits only).
      char buf[32];
      const auto r = std::to_chars(buf, buf + sizeof buf, c.max_volume);
      return std::string(buf, r.ptr);
    }
    case Kind::kBindEndpoint:
    case Kind::kConnectEndpoint:
    case Kind::kPath:
    case Kind::kOptionalPath:
    case Kind::kMetricsListen:
    case Kind::kGuard:
    case Kind::kOptionalText:
    case Kind::kGatewayId:
      return absl::StrCat("\"", c.*s.string_field, "\"");
    case Kind::kDurability:
      return std::string(DurabilityName(c.durability));
    case Kind::kRetention:
      return RetentionText(c.retention);
    case Kind::kLogLevel:
      return absl::StrCat("\"", c.log_level, "\"");
    case Kind::kBool:
      return c.*s.bool_field ? "true" : "false";
  }
  return "";
}

// "<setting> (<value>) must be within <range>" for numbers, "... must be <forms>" for the rest.
absl::Status OutOfRange(const Setting& s, absl::string_view value_text) {
  const bool numeric =
      s.kind == Kind::kInt || s.kind == Kind::kVolume || s.kind == Kind::kRetention;
  return absl::InvalidArgumentError(
      absl::StrCat(s.key, " (", value_text, ") must be ", numeric ? "within " : "", RangeText(s)));
}

// The current value of `s` in `c` against its range.
absl::Status CheckRange(const Setting& s, const GatewayConfig& c) {
  switch (s.kind) {
    case Kind::kInt: {
      const int64_t v = c.*s.int_field;
      if (v < s.min || v > s.max) return OutOfRange(s, ValueText(s, c));
      return absl::OkStatus();
    }
    case Kind::kVolume:
      // Written so that NaN fails too.
      if (!(c.max_volume >= kMinVolume && c.max_volume <= kMaxVolume)) {
        return OutOfRange(s, ValueText(s, c));
      }
      return absl::OkStatus();
    case Kind::kBindEndpoint:
    case Kind::kConnectEndpoint:
      return CheckEndpoint(s.key, c.*s.string_field, s.kind == Kind::kBindEndpoint);
    case Kind::kPath:
      if ((c.*s.string_field).empty()) return OutOfRange(s, ValueText(s, c));
      return absl::OkStatus();
    case Kind::kMetricsListen:
      return CheckMetricsListen(c.*s.string_field);
    case Kind::kOptionalPath:  // the file itself is checked when the gateway starts
    case Kind::kDurability:
    case Kind::kBool:
      return absl::OkStatus();  // an enum: every value is one of the two
    case Kind::kRetention:
      if (c.retention < kMinRetention || c.retention > kMaxRetention) {
        return OutOfRange(s, absl::FormatDuration(c.retention));
      }
      return absl::OkStatus();
    case Kind::kLogLevel:
      for (absl::string_view level : kLogLevels) {
        if (c.log_level == level) return absl::OkStatus();
      }
      return OutOfRange(s, ValueText(s, c));
    case Kind::kGuard:
      if (c.*s.string_field == "rocksdb" || c.*s.string_field == "postgres") {
        return absl::OkStatus();
      }
      return OutOfRange(s, ValueText(s, c));
    case Kind::kOptionalText:
      return absl::OkStatus();
    case Kind::kGatewayId: {
      const std::string& id = c.*s.string_field;
      if (id.size() > 64) return OutOfRange(s, ValueText(s, c));
      for (char ch : id) {
        if (!absl::ascii_isalnum(static_cast<unsigned char>(ch)) && ch != '.' && ch != '_' &&
            ch != '-') {
          return OutOfRange(s, ValueText(s, c));
        }
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

// Digits only (no sign, no space), within [min, max].
std::optional<int> ParsePort(absl::string_view text, int min, int max) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  int port = 0;
  for (char ch : text) {
    if (!absl::ascii_isdigit(static_cast<unsigned char>(ch))) return std::nullopt;
    port = port * 10 + (ch - '0');
  }
  if (port < min || port > max) return std::nullopt;
  return port;
}

// HOST:PORT where HOST is a name, an IPv4 address, * (bind) or [IPv6].
bool ValidHostPort(absl::string_view hp, bool allow_wildcard_port, int min_port) {
  const size_t colon = hp.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) return false;
  const absl::string_view host = hp.substr(0, colon);
  const absl::string_view port = hp.substr(colon + 1);
  if (host.front() == '[' && (host.size() < 3 || host.back() != ']')) return false;
  if (host.front() != '[' && host.find(':') != absl::string_view::npos) return false;
  for (char ch : host) {
    if (absl::ascii_isspace(static_cast<unsigned char>(ch)) || ch == '/') return false;
  }
  if (allow_wildcard_port && port == "*") return true;
  return ParsePort(port, min_port, 65535).has_value();
}

}  // namespace

absl::Status CheckEndpoint(absl::string_view setting, absl::string_view endpoint, bool bind) {
  const Setting kind_only{.key = setting,
                          .kind = bind ? Kind::kBindEndpoint : Kind::kConnectEndpoint};
  auto refuse = [&] { return OutOfRange(kind_only, absl::StrCat("\"", endpoint, "\"")); };
  const size_t sep = endpoint.find("://");
  if (sep == absl::string_view::npos) return refuse();
  const absl::string_view transport = endpoint.substr(0, sep);
  absl::string_view address = endpoint.substr(sep + 3);
  if (transport == "tcp") {
    if (!bind) {
      // tcp://SOURCE;HOST:PORT: libzmq binds the connecting socket to SOURCE (its port may be 0).
      if (const size_t semi = address.find(';'); semi != absl::string_view::npos) {
        const absl::string_view source = address.substr(0, semi);
        address = address.substr(semi + 1);
        if (!ValidHostPort(source, /*allow_wildcard_port=*/true, /*min_port=*/0)) return refuse();
      }
    }
    if (!ValidHostPort(address, /*allow_wildcard_port=*/bind, /*min_port=*/1)) return refuse();
    return absl::OkStatus();
  }
  if (transport == "ipc") {
    if (address.empty() || address.size() > kMaxIpcPathBytes) return refuse();
    if (address == "*" && !bind) return refuse();
    return absl::OkStatus();
  }
  if (transport == "inproc") {
    if (address.empty()) return refuse();
    return absl::OkStatus();
  }
  return refuse();
}

absl::Status CheckMetricsListen(absl::string_view host_port) {
  if (host_port.empty()) return absl::OkStatus();
  if (!ValidHostPort(host_port, /*allow_wildcard_port=*/false, /*min_port=*/0)) {
    return OutOfRange(*FindSetting("metrics_listen"), absl::StrCat("\"", host_port, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<idempotency::Durability> ParseDurability(absl::string_view s) {
  std::string lower = absl::AsciiStrToLower(s);
  if (lower == "sync") return idempotency::Durability::kSync;
  if (lower == "async") return idempotency::Durability::kAsync;
  return absl::InvalidArgumentError(
      absl::StrCat("durability (\"", s, "\") must be ", RangeText(*FindSetting("durability"))));
}

absl::string_view DurabilityName(idempotency::Durability d) {
  return d == idempotency::Durability::kSync ? "sync" : "async";
}

absl::StatusOr<absl::Duration> ParseRetention(absl::string_view text) {
  const absl::string_view s = absl::StripAsciiWhitespace(text);
  auto refuse = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("retention (\"", s, "\") must be a duration within 1s..3650d"));
  };
  if (s.empty()) return refuse();
  absl::Duration d;
  int64_t n = 0;
  double days = 0;
  if (absl::SimpleAtoi(s, &n)) {
    // A plain number of seconds; bounded before multiplying so it cannot overflow.
    if (n < 1 || n > kMaxRetention / absl::Seconds(1)) return refuse();
    d = absl::Seconds(n);
  } else if (s.back() == 'd') {
    if (!absl::SimpleAtod(s.substr(0, s.size() - 1), &days) || !std::isfinite(days) || days <= 0 ||
        days > 3650) {
      return refuse();
    }
    d = absl::Hours(24) * days;
  } else if (!absl::ParseDuration(s, &d)) {
    return refuse();
  }
  // Sub-second, denormal, negative and infinite values all land outside the range.
  if (d < kMinRetention || d > kMaxRetention) return refuse();
  return d;
}

absl::Span<const SettingDoc> Settings() {
  static const std::vector<SettingDoc>* const docs = [] {
    auto* out = new std::vector<SettingDoc>();
    const GatewayConfig defaults;
    for (const Setting& s : kSettings) {
      std::string flag = absl::StrCat("--", s.key);
      for (char& ch : flag) {
        if (ch == '_') ch = '-';
      }
      std::string def = ValueText(s, defaults);
      out->push_back(SettingDoc{.key = s.key,
                                .flag = std::move(flag),
                                .value = s.value,
                                .range = RangeText(s),
                                .help = s.help,
                                .default_value = std::move(def),
                                .type = s.kind == Kind::kInt      ? SettingType::kInteger
                                        : s.kind == Kind::kVolume ? SettingType::kNumber
                                        : s.kind == Kind::kBool   ? SettingType::kBoolean
                                                                  : SettingType::kString});
    }
    return out;
  }();
  return *docs;
}

std::string SettingValueText(absl::string_view key, const GatewayConfig& cfg) {
  const Setting* s = FindSetting(key);
  return s == nullptr ? std::string() : ValueText(*s, cfg);
}

absl::Status SetSetting(absl::string_view key, absl::string_view text, GatewayConfig* cfg) {
  const Setting* s = FindSetting(key);
  if (s == nullptr) {
    return absl::NotFoundError(absl::StrCat(key, " is not a setting of ordergated"));
  }
  switch (s->kind) {
    case Kind::kInt:
      // SimpleAtoi refuses what does not fit int64_t, so an overflowing text is refused here.
      if (!absl::SimpleAtoi(text, &(cfg->*s->int_field))) {
        return absl::InvalidArgumentError(
            absl::StrCat(s->key, " (\"", text, "\") must be an integer within ", RangeText(*s)));
      }
      break;
    case Kind::kVolume:
      if (!absl::SimpleAtod(text, &cfg->max_volume)) {
        return absl::InvalidArgumentError(
            absl::StrCat(s->key, " (\"", text, "\") must be a number within ", RangeText(*s)));
      }
      break;
    case Kind::kBindEndpoint:
    case Kind::kConnectEndpoint:
    case Kind::kPath:
    case Kind::kOptionalPath:
    case Kind::kMetricsListen:
    case Kind::kGuard:
    case Kind::kOptionalText:
    case Kind::kGatewayId:
      cfg->*s->string_field = std::string(text);
      break;
    case Kind::kLogLevel:
      cfg->log_level = std::string(text);
      break;
    case Kind::kBool:
      if (text != "true" && text != "false") {
        return absl::InvalidArgumentError(
            absl::StrCat(s->key, " (\"", text, "\") must be ", RangeText(*s)));
      }
      cfg->*s->bool_field = text == "true";
      break;
    case Kind::kDurability: {
      auto d = ParseDurability(text);
      if (!d.ok()) return d.status();
      cfg->durability = *d;
      break;
    }
    case Kind::kRetention: {
      auto d = ParseRetention(text);
      if (!d.ok()) return d.status();
      cfg->retention = *d;
      break;
    }
  }
  return CheckRange(*s, *cfg);
}

absl::Status CheckRanges(const GatewayConfig& c) {
  for (const Setting& s : kSettings) {
    if (absl::Status in_range = CheckRange(s, c); !in_range.ok()) return in_range;
  }
  return absl::OkStatus();
}

}  // namespace ordergate::gateway
