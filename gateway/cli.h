// Command line of ordergated: `--config FILE` (TOML) first, then the flags given override it.
//
//   absl::StatusOr<CliOptions> cli = ParseCommandLine(argc, argv);
//   // !ok: a bad command line; the message names the flag (print it, exit 2). Otherwise
//   // cli->help is true for --help/-h (print UsageText(), exit 0), cli->version for --version
//   // (print VersionText(), exit 0), else cli->config is the merged configuration.
//
// Parsed with CLI11 in the common style of every ordergate binary (transport/cli_style.h): long
// flags with dashes (--data-dir), `--name value` or `--name=value`, the last of a repeated flag
// counts. The flags are generated from the settings table of config.cc (Settings()), so a setting
// has one name, one range and one default for TOML, flags and --help. Start-up only: may allocate;
// CLI11's exceptions never leave cli.cc. Thread-safety: pure functions of their arguments.
#ifndef ORDERGATE_GATEWAY_CLI_H_
#define ORDERGATE_GATEWAY_CLI_H_

#include <string>

#include "absl/status/statusor.h"
#include "gateway/config.h"

namespace ordergate::gateway {

struct CliOptions {
  GatewayConfig config;
  std::string config_path;  // the --config file ("" without one): SIGHUP reloads its limits
  bool help = false;
  bool version = false;
};

// Parses argv: the file of --config if given (LoadConfigFile), then every setting flag that was
// actually given (a flag left out keeps the file's value, or the default without a file). Each
// flag's value is checked against its setting's range here (SetSetting); the rules between
// settings are ValidateConfig's, which the caller runs. kInvalidArgument on an unknown flag, a
// missing or malformed value, an out-of-range value ("--FLAG: SETTING (VALUE) must be ...", then a
// line pointing at --help), or a --config file that cannot be read ("--config: FILE:LINE: ...").
// With --help or --version nothing is loaded and config holds the defaults.
absl::StatusOr<CliOptions> ParseCommandLine(int argc, const char* const* argv);

// The --help text: every flag with its default and range, and the HTTP paths served on
// --metrics-listen.
std::string UsageText();

// The --version line: "ordergated VERSION (commit COMMIT)\n" (gateway/build_info.h).
std::string VersionText();

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_CLI_H_
