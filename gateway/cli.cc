#include "gateway/cli.h"

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gateway/build_info.h"
#include "transport/cli_style.h"

namespace ordergate::gateway {

namespace {

namespace cli = ordergate::transport::cli;

constexpr char kProgram[] = "ordergated";
constexpr char kDescription[] = "ordergated: the ordergate order execution gateway.";
// The description column starts at 36 (cli_style.h): 62 more keeps --help within 100 columns.
constexpr size_t kHelpWidth = 62;

constexpr char kFooter[] =
    R"(Flags override the TOML file of --config (same names, with underscores: --data-dir is
data_dir); only the flags given do. Defaults are those of docs/protocol.md. A value outside its
range refuses to start with a message naming the flag, the value and the range; a misaligned set
of values names the rule.

HTTP endpoint, on --metrics-listen (GET; JSON bodies end with a newline):
  /healthz   200 "ok" while the process serves HTTP
  /readyz    200 {"ready":true,...} when ordergated takes orders and the bridge link is up; 503
             with the reason otherwise: {"ready":false,"bridge":"down",...} while the bridge is
             unreachable (orders then get BRIDGE_DOWN), "serving":false before the loop runs or
             while it drains; the body also carries the seconds since the bridge's last reply
  /metrics   Prometheus text: order outcomes, counters, gauges (bridge up, time since its last
             reply, capacity, service time), per-stage latency histograms, process CPU/memory/
             fds, store size, ordergate_build_info
  /latency   the per-stage latency histograms as JSON (decode, reserve, bridge, total,
             store_apply)
  /admin/... status, orders by state, operator resolution of UNKNOWN orders, rolling windows
             (ordergatectl; mutating calls from loopback or with admin_token_file's token))";

// `text` broken at spaces into lines of at most `width` characters (a longer word keeps its own
// line), joined by '\n'; CLI11 indents each line to the description column.
std::string Wrap(absl::string_view text, size_t width) {
  std::string out;
  size_t line = 0;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (line > 0 && line + 1 + word.size() > width) {
      out += '\n';
      line = 0;
    } else if (line > 0) {
      out += ' ';
      ++line;
    }
    absl::StrAppend(&out, word);
    line += word.size();
  }
  return out;
}

// A check for ->check(): the value must be accepted by SetSetting for `key` (its syntax and its
// range). CLI11 puts the flag before the message: "--bridge-timeout-ms: bridge_timeout_ms (0) must
// be within 1..600000". Each setting's range depends on its own value only, so a scratch
// configuration judges it as well as the merged one will.
CLI::Validator AcceptedBy(absl::string_view key) {
  return CLI::Validator(
      [key](std::string& input) -> std::string {
        GatewayConfig scratch;
        const absl::Status s = SetSetting(key, input, &scratch);
        return s.ok() ? std::string() : std::string(s.message());
      },
      "");
}

// What the command line said, before it is applied to a configuration.
struct Flags {
  std::string config_path;
  CLI::Option* config = nullptr;
  std::vector<std::string> values;     // one per Settings() entry, in its order
  std::vector<CLI::Option*> settings;  // idem: count() says whether the flag was given
  bool version = false;
};

// Declares --config, one flag per setting of Settings() (name, value placeholder, help, default
// and range from the table) and --version over `f`, with the common style.
void AddFlags(CLI::App& app, Flags& f) {
  cli::ApplyStyle(app);
  f.config = app.add_option("--config", f.config_path,
                            "TOML file with the settings below, read first; the flags given\n"
                            "override it")
                 ->type_name("FILE");
  const absl::Span<const SettingDoc> docs = Settings();
  f.values.assign(docs.size(), std::string());  // sized once: the options keep references
  f.settings.clear();
  for (size_t i = 0; i < docs.size(); ++i) {
    const SettingDoc& s = docs[i];
    if (s.type == SettingType::kBoolean) {
      // A switch: `--insecure-remote` is true; `--insecure-remote=false` spells out the default.
      f.settings.push_back(
          app.add_flag(s.flag, f.values[i],
                       absl::StrCat(Wrap(s.help, kHelpWidth), "\n",
                                    Wrap(absl::StrCat("accepts: ", s.range), kHelpWidth)))
              ->default_str(s.default_value)
              ->check(AcceptedBy(s.key)));
      continue;
    }
    f.settings.push_back(
        app.add_option(s.flag, f.values[i],
                       absl::StrCat(Wrap(s.help, kHelpWidth), "\n",
                                    Wrap(absl::StrCat("accepts: ", s.range), kHelpWidth)))
            ->type_name(std::string(s.value))
            ->default_str(s.default_value)
            ->check(AcceptedBy(s.key)));
  }
  app.add_flag("--version", f.version, "print the version and git commit, then exit 0");
  app.footer(kFooter);
}

}  // namespace

std::string UsageText() {
  CLI::App app{kDescription, kProgram};
  Flags f;
  AddFlags(app, f);
  return app.help();
}

std::string VersionText() {
  return absl::StrCat("ordergated ", BuildVersion(), " (commit ", BuildCommit(), ")\n");
}

absl::StatusOr<CliOptions> ParseCommandLine(int argc, const char* const* argv) {
  CLI::App app{kDescription, kProgram};
  Flags f;
  AddFlags(app, f);
  // CLI11 2.1 reads `--name=` (nothing after '=') as `--name` and takes the next argument as
  // its value; here, as `--name=value` promises, it is an empty value (`--metrics-listen=` turns
  // the endpoint off like `--metrics-listen ""`).
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if (args[i].size() > 3 && args[i].rfind("--", 0) == 0 && args[i].back() == '=') {
      args[i].pop_back();
      args.insert(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, std::string());
      ++i;
    }
  }
  std::vector<const char*> arg_ptrs;
  arg_ptrs.reserve(args.size());
  for (const std::string& a : args) arg_ptrs.push_back(a.c_str());
  CliOptions out;
  try {
    app.parse(static_cast<int>(arg_ptrs.size()), arg_ptrs.data());
  } catch (const CLI::CallForHelp&) {
    out.help = true;
    return out;
  } catch (const CLI::ParseError& e) {
    // CLI11's messages start with the flag ("--listen: 1 required ENDPOINT missing").
    return absl::InvalidArgumentError(
        absl::StrCat(e.what(), "\nRun ", kProgram, " --help for the flags."));
  }
  if (f.version) {
    out.version = true;
    return out;
  }
  if (f.config->count() > 0) {
    out.config_path = f.config_path;
    auto loaded = LoadConfigFile(f.config_path);
    if (!loaded.ok()) {
      return absl::InvalidArgumentError(absl::StrCat("--config: ", loaded.status().message()));
    }
    out.config = *std::move(loaded);
  }
  const absl::Span<const SettingDoc> docs = Settings();
  for (size_t i = 0; i < docs.size(); ++i) {
    if (f.settings[i]->count() == 0) continue;  // not given: the file's value or the default
    // Checked by AcceptedBy already; a failure here would be a bug in the table, named anyway.
    if (absl::Status s = SetSetting(docs[i].key, f.values[i], &out.config); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(docs[i].flag, ": ", s.message()));
    }
  }
  return out;
}

}  // namespace ordergate::gateway
