// Command line of ordergated: `--config FILE` (TOML) first, then flags that override it.
//
//   absl::StatusOr<CliOptions> cli = ParseCommandLine(argc, argv);
//   // cli->config is the merged configuration; cli->help is true for --help, cli->version for
//   // --version (print VersionText() and exit 0).
//
// Flags take `--name=value` or `--name value`; names use dashes (--data-dir) as documented in
// README.md. Start-up only: errors carry messages naming the flag.
#ifndef ORDERGATE_GATEWAY_CLI_H_
#define ORDERGATE_GATEWAY_CLI_H_

#include <string>

#include "absl/status/statusor.h"
#include "gateway/config.h"

namespace ordergate::gateway {

struct CliOptions {
  GatewayConfig config;
  bool help = false;
  bool version = false;
};

absl::StatusOr<CliOptions> ParseCommandLine(int argc, const char* const* argv);

// The --help text: every flag with its default and range, and the HTTP paths served on
// --metrics-listen.
std::string UsageText();

// The --version line: "ordergated VERSION (commit COMMIT)\n" (gateway/build_info.h).
std::string VersionText();

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_CLI_H_
