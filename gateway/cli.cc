#include "gateway/cli.h"

#include <cmath>
#include <map>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ordergate::gateway {

namespace {

absl::Status IntFlag(absl::string_view name, absl::string_view value, int64_t* out) {
  if (!absl::SimpleAtoi(value, out)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", name, " takes an integer, not \"", value, "\""));
  }
  return absl::OkStatus();
}

}  // namespace

std::string UsageText() {
  return R"(ordergated: the ordergate order execution gateway.

Usage: ordergated [--config FILE] [flags]

Flags override the TOML file; defaults are those of docs/protocol.md.
  --config FILE                    TOML file with the settings below (underscored names)
  --listen ENDPOINT                front-end ROUTER (tcp://127.0.0.1:5555)
  --bridge ENDPOINT                the MT5 bridge's REP (tcp://127.0.0.1:5556)
  --data-dir DIR                   RocksDB directory (ordergate-data)
  --durability sync|async          sync: fsync before sending (default); async: WAL in page cache
  --client-timeout-ms N            reply deadline when a request carries no timeout_ms (2000)
  --reply-margin-ms N              reply this long before the client's deadline (50)
  --bridge-timeout-ms N            give up on a bridge reply: UNKNOWN (6000)
  --bridge-signature-ttl-ms N      the bridge's risk_signature TTL (5000)
  --bridge-exec-margin-ms N        execution time allowed after the TTL check (500)
  --bridge-max-in-flight N         orders outstanding at the bridge; beyond: GATEWAY_BUSY (1024)
  --retention DURATION             keep terminal records this long (7d)
  --log-level LEVEL                trace|debug|info|warn|error|critical|off (info)
  --metrics-listen HOST:PORT       /healthz /readyz /metrics (127.0.0.1:9464; "" turns it off)
  --max-request-bytes N            larger bodies get OVERSIZE (16384)
  --max-message-bytes N            ZMQ_MAXMSGSIZE: larger frames disconnect the peer (1048576)
  --max-volume X                   larger volumes get INVALID_VOLUME (1000)
  --unknown-query-interval-ms N    how often an UNKNOWN is asked about with ORDER_STATUS (5000)
  --late-reply-window-ms N         how long a timed-out order still accepts its reply (600000)
  --max-batch N                    requests drained into one store batch (256)
  --help                           this text
)";
}

absl::StatusOr<CliOptions> ParseCommandLine(int argc, const char* const* argv) {
  std::vector<std::pair<std::string, std::string>> flags;
  std::string config_path;
  CliOptions cli;
  static const std::map<std::string, bool> kKnown = {{"config", true},
                                                     {"listen", true},
                                                     {"bridge", true},
                                                     {"data-dir", true},
                                                     {"durability", true},
                                                     {"client-timeout-ms", true},
                                                     {"reply-margin-ms", true},
                                                     {"bridge-timeout-ms", true},
                                                     {"bridge-signature-ttl-ms", true},
                                                     {"bridge-exec-margin-ms", true},
                                                     {"bridge-max-in-flight", true},
                                                     {"retention", true},
                                                     {"log-level", true},
                                                     {"metrics-listen", true},
                                                     {"max-request-bytes", true},
                                                     {"max-message-bytes", true},
                                                     {"max-volume", true},
                                                     {"unknown-query-interval-ms", true},
                                                     {"late-reply-window-ms", true},
                                                     {"max-batch", true},
                                                     {"help", false}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("unexpected argument \"", arg, "\" (see --help)"));
    }
    arg = arg.substr(2);
    std::string name = arg;
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      has_value = true;
    }
    for (char& ch : name) {
      if (ch == '_') ch = '-';
    }
    auto known = kKnown.find(name);
    if (known == kKnown.end()) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!known->second) {
      cli.help = true;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= argc)
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      value = argv[++i];
    }
    if (name == "config") {
      config_path = value;
    } else {
      flags.emplace_back(name, value);
    }
  }
  if (!config_path.empty()) {
    auto loaded = LoadConfigFile(config_path);
    if (!loaded.ok()) return loaded.status();
    cli.config = *loaded;
  }
  GatewayConfig& c = cli.config;
  for (const auto& [name, value] : flags) {
    absl::Status s;
    if (name == "listen") {
      c.listen = value;
    } else if (name == "bridge") {
      c.bridge = value;
    } else if (name == "data-dir") {
      c.data_dir = value;
    } else if (name == "log-level") {
      c.log_level = value;
    } else if (name == "metrics-listen") {
      c.metrics_listen = value;
    } else if (name == "durability") {
      auto d = ParseDurability(value);
      if (!d.ok())
        return absl::InvalidArgumentError(absl::StrCat("--durability: ", d.status().message()));
      c.durability = *d;
    } else if (name == "retention") {
      auto d = ParseRetention(value);
      if (!d.ok())
        return absl::InvalidArgumentError(absl::StrCat("--retention: ", d.status().message()));
      c.retention = *d;
    } else if (name == "max-volume") {
      if (!absl::SimpleAtod(value, &c.max_volume)) {
        return absl::InvalidArgumentError(
            absl::StrCat("--max-volume takes a number, not \"", value, "\""));
      }
    } else if (name == "client-timeout-ms") {
      s = IntFlag(name, value, &c.client_timeout_ms);
    } else if (name == "reply-margin-ms") {
      s = IntFlag(name, value, &c.reply_margin_ms);
    } else if (name == "bridge-timeout-ms") {
      s = IntFlag(name, value, &c.bridge_timeout_ms);
    } else if (name == "bridge-signature-ttl-ms") {
      s = IntFlag(name, value, &c.bridge_signature_ttl_ms);
    } else if (name == "bridge-exec-margin-ms") {
      s = IntFlag(name, value, &c.bridge_exec_margin_ms);
    } else if (name == "bridge-max-in-flight") {
      s = IntFlag(name, value, &c.bridge_max_in_flight);
    } else if (name == "max-request-bytes") {
      s = IntFlag(name, value, &c.max_request_bytes);
    } else if (name == "max-message-bytes") {
      s = IntFlag(name, value, &c.max_message_bytes);
    } else if (name == "unknown-query-interval-ms") {
      s = IntFlag(name, value, &c.unknown_query_interval_ms);
    } else if (name == "late-reply-window-ms") {
      s = IntFlag(name, value, &c.late_reply_window_ms);
    } else if (name == "max-batch") {
      s = IntFlag(name, value, &c.max_batch);
    }
    if (!s.ok()) return s;
  }
  return cli;
}

}  // namespace ordergate::gateway
