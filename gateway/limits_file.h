// The pre-trade limits of ordergated's TOML file (gateway/risk_limits.h): its [limits.NAME]
// tables, read beside the settings (LoadConfigFile skips them) at start-up and again at every
// SIGHUP.
//
//   [limits.default]                  # every client without a section of its own
//   max_volume = 5.0                  # per order, inclusive
//   max_orders_per_second = 50        # token bucket, burst = the rate
//   max_in_flight = 20
//   max_notional_per_minute = 1e6     # volume x price, priced orders only
//
//   [limits.alpha]                    # the CURVE identity "alpha" (its certificate's name)
//   symbols = ["EURUSD", "XAUUSD"]    # keys not named here keep [limits.default]'s
//
// Each key is checked: symbols a non-empty list of non-empty strings; max_volume and
// max_notional_per_minute numbers > 0 and finite; max_orders_per_second a number within
// 0.001..1000000; max_in_flight an integer within 1..1000000. An unknown key, a value of another
// type or out of its range is an error naming the file, the line and the key: a typo must not
// silently lift a limit. A file without a [limits] table has no limits.
//
// Defined in the daemon's target (ordergate_daemon), which carries toml++. Start-up and reload
// calls: they read a file and allocate; never call them on the pipeline's thread.
// Thread-safety: pure functions of their arguments (and the file).
#ifndef ORDERGATE_GATEWAY_LIMITS_FILE_H_
#define ORDERGATE_GATEWAY_LIMITS_FILE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/risk_limits.h"

namespace ordergate::gateway {

// The limits of the TOML file at `path`. kInvalidArgument "<path>:<line>: <what>" for a parse
// error or a bad limit; kNotFound-like errors of the parser for a missing file are reported as
// kInvalidArgument with the parser's message.
absl::StatusOr<LimitsTable> LoadLimitsFile(const std::string& path);

// The same from TOML text; `source` names it in messages (as the path does above).
absl::StatusOr<LimitsTable> ParseLimits(absl::string_view toml_text, absl::string_view source);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_LIMITS_FILE_H_
