// ordergatectl's `checkpoint` and `status` (gateway/ordergatectl.h), over GET /admin/windows
// (gateway/window_routes.h) and GET /admin/status (gateway/admin_api.h):
//
//   ordergatectl checkpoint --window 1h|4h|12h|24h [--slo FILE] [--json]
//   ordergatectl status
//
// The checkpoint is the seed's 24-hour production checkpoint for one window, from the gateway's own
// rolling windows: Markdown (every figure with its target, ✅/❌, and the verdict) or one JSON
// object. Exit status 0 when the report was produced (PASS or FAIL alike: the verdict is in it), 1
// when the gateway could not be asked. The targets are the seed's unless --slo names a JSON file
// that overrides any of them:
//   {"duplicate_send_rate_max": 0, "success_rate_min": 0.99, "p99_ms_max": 5000}
// (duplicate_send_rate_max: the share of sends that were a uuid's second send, in percent).
#ifndef ORDERGATE_GATEWAY_CTL_CHECKPOINT_H_
#define ORDERGATE_GATEWAY_CTL_CHECKPOINT_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/ordergatectl.h"

namespace ordergate::gateway::ctl {

struct SloTargets {
  double duplicate_send_rate_max = 0.0;  // percent of sends
  double success_rate_min = 0.99;        // filled / sent
  double p99_ms_max = 5000.0;            // total stage, strictly below
};

// Reads an --slo file (the JSON above; unknown members are refused so a typo cannot pass). Errors
// name the file and the member. Blocks on the file.
absl::StatusOr<SloTargets> LoadSloFile(const std::string& path);

struct CheckpointCheck {
  std::string name;
  double value = 0;
  std::string target;  // e.g. "<= 0 %", ">= 99 %", "< 5000 ms"
  bool ok = false;
};

struct Checkpoint {
  std::string json;      // the report as one JSON object and a newline
  std::string markdown;  // the report as Markdown
  std::vector<CheckpointCheck> checks;
  bool pass = false;
};

// The report for one /admin/windows body. kInvalidArgument when the body is not such a document
// (naming the missing member). Pure.
absl::StatusOr<Checkpoint> BuildCheckpoint(absl::string_view windows_json, const SloTargets& slo);

CtlCommand AddCheckpointCommand(CLI::App& app);
CtlCommand AddStatusCommand(CLI::App& app);

}  // namespace ordergate::gateway::ctl

#endif  // ORDERGATE_GATEWAY_CTL_CHECKPOINT_H_
