#include "gateway/cli.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gateway/build_info.h"

namespace ordergate::gateway {

namespace {

// The setting behind `--flag` (dashes or underscores), or nullptr.
const SettingDoc* FindFlag(absl::string_view name) {
  std::string flag = absl::StrCat("--", name);
  std::replace(flag.begin(), flag.end(), '_', '-');
  for (const SettingDoc& s : Settings()) {
    if (s.flag == flag) return &s;
  }
  return nullptr;
}

}  // namespace

std::string UsageText() {
  std::string out = R"(ordergated: the ordergate order execution gateway.

Usage: ordergated [--config FILE] [flags]

Flags override the TOML file (same names, with underscores); defaults are those of
docs/protocol.md. A value outside its range, or a misaligned set of values, refuses to start
with a message naming the setting, its value and its range (or the rule).
  --config FILE                    TOML file with the settings below
)";
  for (const SettingDoc& s : Settings()) {
    std::string head = absl::StrCat("  ", s.flag, " ", s.value);
    head.resize(std::max<size_t>(head.size() + 1, 35), ' ');
    absl::StrAppend(&out, head, s.help, "\n", std::string(35, ' '), "default ", s.default_value,
                    "; ", s.range, "\n");
  }
  out += R"(  --version                        print the version and git commit, then exit 0
  --help                           this text

HTTP endpoint, on --metrics-listen (GET; JSON bodies end with a newline):
  /healthz   200 "ok" while the process serves HTTP
  /readyz    200 {"ready":true,...} when ordergated takes orders and the bridge link is up; 503
             with the reason otherwise: {"ready":false,"bridge":"down",...} while the bridge is
             unreachable (orders then get BRIDGE_DOWN), "serving":false before the loop runs or
             while it drains; the body also carries the seconds since the bridge's last reply
  /metrics   Prometheus text: counters, gauges (bridge up, time since its last reply, capacity,
             service time), ordergate_build_info, per-stage latency summaries and the order
             latency histogram
  /latency   the per-stage latency histograms as JSON (decode, reserve, bridge, total,
             store_apply)
)";
  return out;
}

std::string VersionText() {
  return absl::StrCat("ordergated ", BuildVersion(), " (commit ", BuildCommit(), ")\n");
}

absl::StatusOr<CliOptions> ParseCommandLine(int argc, const char* const* argv) {
  std::vector<std::pair<const SettingDoc*, std::string>> flags;
  std::string config_path;
  CliOptions cli;
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
    std::replace(name.begin(), name.end(), '_', '-');
    if (name == "help") {
      cli.help = true;
      continue;
    }
    if (name == "version") {
      cli.version = true;
      continue;
    }
    const SettingDoc* setting = name == "config" ? nullptr : FindFlag(name);
    if (name != "config" && setting == nullptr) {
      return absl::InvalidArgumentError(absl::StrCat("unknown flag --", name, " (see --help)"));
    }
    if (!has_value) {
      if (i + 1 >= argc) {
        return absl::InvalidArgumentError(absl::StrCat("--", name, " needs a value"));
      }
      value = argv[++i];
    }
    if (setting == nullptr) {
      config_path = value;
    } else {
      flags.emplace_back(setting, value);
    }
  }
  if (!config_path.empty()) {
    auto loaded = LoadConfigFile(config_path);
    if (!loaded.ok()) return loaded.status();
    cli.config = *loaded;
  }
  for (const auto& [setting, value] : flags) {
    // Each value is checked against its range here, so the message names the flag; the rules
    // between settings are ValidateConfig's.
    if (absl::Status s = SetSetting(setting->key, value, &cli.config); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(setting->flag, ": ", s.message()));
    }
  }
  return cli;
}

}  // namespace ordergate::gateway
