// What one load run found: every order's fate (FILLED, refused by code, UNKNOWN, no final reply),
// FILLED latencies apart from refused ones, message counts, and executions from the journal.
// Plain data: filled by one LoadRun on its one thread, merged and read afterwards (no locking).
#ifndef ORDERGATE_BENCH_RUN_RESULT_H_
#define ORDERGATE_BENCH_RUN_RESULT_H_

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "gateway/latency_histogram.h"

namespace ordergate::bench {

// A reply's "status". kOk/kOther are not order outcomes of the contract, but are counted.
enum class Status : uint8_t { kFilled, kRejected, kPending, kUnknown, kError, kOk, kOther };
constexpr std::array<const char*, 7> kStatusNames = {"FILLED", "REJECTED", "PENDING", "UNKNOWN",
                                                     "error",  "ok",       "other"};
Status ClassifyStatus(std::string_view s);

// The string value of `key_with_quotes_colon` (e.g. "\"uuid\":\"") in a compact JSON body, scanned
// in place; empty when absent. Both ordergate and the simulator emit compact JSON whose looked-for
// keys appear once at the top level.
std::string_view StringMember(std::string_view body, std::string_view key_with_quotes_colon);

// Counts by error code in a fixed list (the contract's codes and the bridge's) plus the rare code
// nobody expected; no map per reply.
class CodeTally {
 public:
  CodeTally();
  void Add(std::string_view code, uint64_t n = 1);
  void Merge(const CodeTally& o);
  // The codes counted at least once, by count (largest first), then by name.
  std::vector<std::pair<std::string, uint64_t>> NonZero() const;
  uint64_t Get(std::string_view code) const;
  uint64_t Total() const;

 private:
  std::vector<std::string> names_;
  std::vector<uint64_t> counts_;
};

// The fate of a set of orders (one per uuid, its first final reply), so that
//   orders == filled + refused.Total() + unknown + without_final
// holds by construction. "refused" is every final reply other than FILLED and UNKNOWN (a
// gateway refusal such as GATEWAY_BUSY, a bridge rejection such as MT5_ORDER_FAILED), keyed by its
// error_code, or by "<status> (no code)" when it had none.
struct OrderFates {
  uint64_t orders = 0;
  uint64_t filled = 0;
  uint64_t unknown = 0;
  CodeTally refused;
  uint64_t rejected = 0, errored = 0;  // of the refused: status REJECTED / status error
  uint64_t without_final() const { return orders - filled - unknown - refused.Total(); }
  double filled_share() const {
    return orders > 0 ? static_cast<double>(filled) / static_cast<double>(orders) : 0;
  }
  void Merge(const OrderFates& o);
};

// One process's CPU time (utime + stime of all its threads, from /proc/<pid>/stat) over a run's
// CPU window: from the end of the warm-up to the moment the last order was sent (see
// process_cpu.h).
struct ProcessCpuUse {
  std::string role;  // "gateway" | "forwarder" | "bridge" | "harness"
  std::string what;  // what the process is, for the report ("ordergated", "this process: ...")
  int pid = -1;
  int64_t cpu_ns = -1;  // over the window (summed over rounds by Merge); -1: not readable
};

struct RunResult {
  std::string target;  // "ordergate" | "baseline"
  std::string prefix;
  int64_t issued = 0;    // orders (distinct uuids) sent
  int64_t measured = 0;  // of them, intended after the warm-up
  int64_t finished = 0;  // orders with a final outcome (all)
  uint64_t sent = 0, sent_retries = 0, sent_conflicts = 0, sent_followups = 0;
  uint64_t replies = 0, duplicate_replies = 0, stray_replies = 0, send_failures = 0;
  std::array<uint64_t, 7> by_status{};  // over every reply
  CodeTally reply_codes;                // error codes over every reply (retries, conflicts too)
  OrderFates fates;                     // measured orders
  OrderFates fates_all;                 // every order sent, warm-up included
  uint64_t unanswered_submissions = 0;
  gateway::HistogramSnapshot send_lag;  // open-loop: actual send - intended send, measured orders
  std::vector<int64_t> filled_ns;       // measured FILLED orders: intended send -> FILLED; sorted
  std::vector<int64_t> not_filled_ns;   // measured orders refused or UNKNOWN: -> that reply; sorted
  int64_t window_ns = 0;                // warm-up end -> last final outcome of a measured order
  int64_t executed_uuids = -1;          // from the journal; -1 unchecked
  int64_t duplicate_executions = -1;
  std::vector<uint16_t> executions;  // per order index, from the journal
  std::vector<ProcessCpuUse> cpu;    // per process, over the CPU window; empty: not measured
  int64_t cpu_window_ns = 0;         // the CPU window's length (summed over rounds)
  int64_t cpu_window_orders = 0;     // orders whose final outcome came within the CPU window
  std::string error;
};

// Adds `r` into `into` (counters summed, latencies appended unsorted: sort before reading).
void Merge(const RunResult& r, RunResult* into);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_RUN_RESULT_H_
