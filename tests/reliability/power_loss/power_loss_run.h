// The power-loss run (power_loss_test.cc): what it is given, what it counts, and the checks of the
// replies after each restart. Shared by the run and its report.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "nemesis_client.h"
#include "nemesis_env.h"
#include "power_loss_env.h"

namespace power_loss {

using nemesis::Json;
using nemesis::ReplyRec;

struct Options {
  uint64_t seed = 0;  // 0: drawn from the clock, and printed
  int sync_cuts = 36;
  int async_cuts = 12;
  int clients = 4;
  bool lenient = false;  // ordergate-lossyfs --lenient: a file's fsync makes its path durable
};
inline Options g_opt;

// "start-up": the Nth sync of a restart's own recovery (see power_loss_test.cc).
inline const char* const kCutKinds[] = {"write", "before-sync", "after-sync", "start-up"};

// One cut, as the harness armed and saw it.
struct CutRecord {
  std::string kind;
  int64_t n = 0;
  bool froze = false;     // the armed point was reached (else: cut where the run stood)
  std::string cut_stats;  // ordergate-lossyfs's answer to "cut"
  bool refused = false;   // the restart refused the data directory
  std::string refusal;    // its stderr
  int64_t lost_acks = 0;  // acknowledged outcomes not replayed the same after this restart
  int64_t absent = 0;     // uuids the bridge executed that came back NOT_FOUND after it
  int64_t checked = 0;    // uuids checked after it
  int64_t restart_ms = 0;
};

struct RunResult {
  std::string durability;
  std::vector<CutRecord> cuts;
  std::vector<std::string> violations;  // sync: any is a failure; async: the losses, listed
  int64_t orders = 0, sends = 0, executions = 0, acknowledged = 0;
  int64_t duplicates = 0;                // uuids executed more than once (journal)
  int64_t duplicates_before_resend = 0;  // of those, before the final resend
  int64_t final_lost_acks = 0;           // acknowledged outcomes not replayed at the end
  int64_t final_absent = 0;              // executed uuids NOT_FOUND (or REJECTED) at the end
  int64_t unresolved = 0;                // neither terminal nor NOT_FOUND after the final 60 s
  int64_t refusals = 0;                  // restarts that refused the directory
  int64_t files_reverted = 0, bytes_lost = 0, entries_reverted = 0;
  int64_t wall_ms = 0;
};

// ordergated's command line for both runs: the nemesis run's short timeouts (so that UNKNOWNs
// resolve within seconds), the data directory on the mount.
inline std::vector<std::string> GatewayArgs(const std::string& listen, const std::string& bridge,
                                            const std::string& data_dir,
                                            const std::string& durability) {
  return {"--listen",
          listen,
          "--bridge",
          bridge,
          "--data-dir",
          data_dir,
          "--durability",
          durability,
          "--retention",
          "7d",
          "--log-level",
          "warn",
          "--bridge-signature-ttl-ms",
          std::to_string(nemesis::kTtlMs),
          "--bridge-exec-margin-ms",
          std::to_string(nemesis::kExecMarginMs),
          "--bridge-timeout-ms",
          std::to_string(nemesis::kBridgeTimeoutMs),
          "--unknown-query-interval-ms",
          "300",
          "--client-timeout-ms",
          std::to_string(nemesis::kClientTimeoutMs)};
}

// The acknowledged outcome of a uuid: the first FILLED/REJECTED (recorded) a client saw.
struct Ack {
  std::string status, code;
  int64_t ticket = 0;
};

// What a reply says about an acknowledged outcome: "" when it replays it, else why not.
inline std::string Mismatch(const Ack& ack, const Json& reply) {
  const std::string s = reply.S("status");
  const std::string c = reply.S("error_code");
  if (s == ack.status && c == ack.code && reply.Int("ticket").value_or(0) == ack.ticket) return "";
  return "acknowledged " + ack.status + (ack.code.empty() ? "" : "/" + ack.code) + " #" +
         std::to_string(ack.ticket) + ", now " + reply.raw();
}

inline bool NotFound(const Json& reply) {
  return reply.S("status") == "error" && reply.S("error_code") == "NOT_FOUND";
}

}  // namespace power_loss
