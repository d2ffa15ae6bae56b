#include "gateway/config.h"

#include <toml++/toml.h>

#include <cmath>
#include <cstdlib>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ordergate::gateway {

absl::StatusOr<idempotency::Durability> ParseDurability(absl::string_view s) {
  std::string lower = absl::AsciiStrToLower(s);
  if (lower == "sync") return idempotency::Durability::kSync;
  if (lower == "async") return idempotency::Durability::kAsync;
  return absl::InvalidArgumentError(
      absl::StrCat("durability must be \"sync\" or \"async\", not \"", s, "\""));
}

absl::string_view DurabilityName(idempotency::Durability d) {
  return d == idempotency::Durability::kSync ? "sync" : "async";
}

absl::StatusOr<absl::Duration> ParseRetention(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s.empty()) return absl::InvalidArgumentError("retention is empty");
  int64_t n = 0;
  if (absl::SimpleAtoi(s, &n)) {
    if (n <= 0) return absl::InvalidArgumentError("retention must be positive");
    return absl::Seconds(n);
  }
  if (s.back() == 'd') {
    double days = 0;
    if (!absl::SimpleAtod(s.substr(0, s.size() - 1), &days) || !(days > 0) ||
        !std::isfinite(days)) {
      return absl::InvalidArgumentError(absl::StrCat("retention \"", s, "\" is not a duration"));
    }
    return absl::Hours(24) * days;
  }
  absl::Duration d;
  if (!absl::ParseDuration(s, &d) || d <= absl::ZeroDuration() || d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("retention \"", s, "\" is not a positive duration (e.g. 7d, 168h, 3600s)"));
  }
  return d;
}

namespace {

absl::Status KeyError(const std::string& path, const toml::node& node, absl::string_view key,
                      absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat(path, ":", node.source().begin.line, ": ", key, " ", what));
}

absl::Status ReadInt(const std::string& path, const toml::node& node, absl::string_view key,
                     int64_t* out) {
  auto v = node.value<int64_t>();
  if (!v) return KeyError(path, node, key, "must be an integer");
  *out = *v;
  return absl::OkStatus();
}

absl::Status ReadString(const std::string& path, const toml::node& node, absl::string_view key,
                        std::string* out) {
  auto v = node.value<std::string>();
  if (!v) return KeyError(path, node, key, "must be a string");
  *out = *v;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<GatewayConfig> LoadConfigFile(const std::string& path) {
  // Debian's toml++ is built with exceptions: its parse error is converted here, at start-up.
  toml::table table;
  try {
    table = toml::parse_file(path);
  } catch (const toml::parse_error& err) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ":", err.source().begin.line, ": ", std::string(err.description())));
  }
  GatewayConfig cfg;
  for (const auto& [key_node, node] : table) {
    const std::string key(key_node.str());
    absl::Status s;
    if (key == "listen") {
      s = ReadString(path, node, key, &cfg.listen);
    } else if (key == "bridge") {
      s = ReadString(path, node, key, &cfg.bridge);
    } else if (key == "data_dir") {
      s = ReadString(path, node, key, &cfg.data_dir);
    } else if (key == "log_level") {
      s = ReadString(path, node, key, &cfg.log_level);
    } else if (key == "metrics_listen") {
      s = ReadString(path, node, key, &cfg.metrics_listen);
    } else if (key == "durability") {
      std::string text;
      s = ReadString(path, node, key, &text);
      if (s.ok()) {
        auto d = ParseDurability(text);
        if (!d.ok()) return KeyError(path, node, key, d.status().message());
        cfg.durability = *d;
      }
    } else if (key == "retention") {
      std::string text;
      s = ReadString(path, node, key, &text);
      if (s.ok()) {
        auto d = ParseRetention(text);
        if (!d.ok()) return KeyError(path, node, key, d.status().message());
        cfg.retention = *d;
      }
    } else if (key == "max_volume") {
      auto v = node.value<double>();
      if (!v) return KeyError(path, node, key, "must be a number");
      cfg.max_volume = *v;
    } else if (key == "client_timeout_ms") {
      s = ReadInt(path, node, key, &cfg.client_timeout_ms);
    } else if (key == "reply_margin_ms") {
      s = ReadInt(path, node, key, &cfg.reply_margin_ms);
    } else if (key == "bridge_timeout_ms") {
      s = ReadInt(path, node, key, &cfg.bridge_timeout_ms);
    } else if (key == "bridge_signature_ttl_ms") {
      s = ReadInt(path, node, key, &cfg.bridge_signature_ttl_ms);
    } else if (key == "bridge_exec_margin_ms") {
      s = ReadInt(path, node, key, &cfg.bridge_exec_margin_ms);
    } else if (key == "bridge_max_in_flight") {
      s = ReadInt(path, node, key, &cfg.bridge_max_in_flight);
    } else if (key == "max_request_bytes") {
      s = ReadInt(path, node, key, &cfg.max_request_bytes);
    } else if (key == "max_message_bytes") {
      s = ReadInt(path, node, key, &cfg.max_message_bytes);
    } else if (key == "unknown_query_interval_ms") {
      s = ReadInt(path, node, key, &cfg.unknown_query_interval_ms);
    } else if (key == "late_reply_window_ms") {
      s = ReadInt(path, node, key, &cfg.late_reply_window_ms);
    } else if (key == "max_batch") {
      s = ReadInt(path, node, key, &cfg.max_batch);
    } else {
      return KeyError(path, node, key, "is not a setting of ordergated");
    }
    if (!s.ok()) return s;
  }
  return cfg;
}

absl::Status ValidateConfig(const GatewayConfig& c) {
  auto fail = [](auto&&... parts) { return absl::InvalidArgumentError(absl::StrCat(parts...)); };
  if (c.client_timeout_ms < 1 || c.client_timeout_ms > 600000) {
    return fail("client_timeout_ms (", c.client_timeout_ms, ") must be within 1..600000");
  }
  if (c.reply_margin_ms < 0 || c.reply_margin_ms >= c.client_timeout_ms) {
    return fail("reply_margin_ms (", c.reply_margin_ms,
                ") must be >= 0 and below client_timeout_ms (", c.client_timeout_ms,
                "): ordergate replies by client_timeout_ms - reply_margin_ms");
  }
  if (c.bridge_signature_ttl_ms < 1) {
    return fail("bridge_signature_ttl_ms (", c.bridge_signature_ttl_ms, ") must be positive");
  }
  if (c.bridge_exec_margin_ms < 0) {
    return fail("bridge_exec_margin_ms (", c.bridge_exec_margin_ms, ") must be >= 0");
  }
  if (c.bridge_timeout_ms <= c.bridge_signature_ttl_ms + c.bridge_exec_margin_ms) {
    return fail("bridge_timeout_ms (", c.bridge_timeout_ms,
                ") must exceed bridge_signature_ttl_ms (", c.bridge_signature_ttl_ms,
                ") + bridge_exec_margin_ms (", c.bridge_exec_margin_ms,
                "): when ordergate gives up on a reply, the bridge must already have executed the "
                "order or be bound to reject it as expired");
  }
  if (c.bridge_max_in_flight < 1) {
    return fail("bridge_max_in_flight (", c.bridge_max_in_flight, ") must be at least 1");
  }
  if (c.max_request_bytes < 64) {
    return fail("max_request_bytes (", c.max_request_bytes, ") must be at least 64");
  }
  if (c.max_message_bytes <= c.max_request_bytes) {
    return fail("max_message_bytes (", c.max_message_bytes, ") must exceed max_request_bytes (",
                c.max_request_bytes,
                "): an oversize body must still reach ordergate to get its "
                "OVERSIZE reply");
  }
  if (!(c.max_volume > 0) || !std::isfinite(c.max_volume)) {
    return fail("max_volume (", c.max_volume, ") must be a positive number");
  }
  if (c.unknown_query_interval_ms < 100) {
    return fail("unknown_query_interval_ms (", c.unknown_query_interval_ms, ") must be >= 100");
  }
  if (c.late_reply_window_ms < 0) {
    return fail("late_reply_window_ms (", c.late_reply_window_ms, ") must be >= 0");
  }
  if (c.max_batch < 1 || c.max_batch > 65536) {
    return fail("max_batch (", c.max_batch, ") must be within 1..65536");
  }
  if (c.retention <= absl::ZeroDuration()) return fail("retention must be positive");
  if (c.data_dir.empty()) return fail("data_dir must not be empty");
  if (c.listen.empty()) return fail("listen must not be empty");
  if (c.bridge.empty()) return fail("bridge must not be empty");
  static const std::set<std::string> kLevels = {"trace", "debug",    "info", "warn",
                                                "error", "critical", "off"};
  if (!kLevels.count(c.log_level)) {
    return fail("log_level (\"", c.log_level,
                "\") must be one of trace, debug, info, warn, error, critical, off");
  }
  return absl::OkStatus();
}

}  // namespace ordergate::gateway
