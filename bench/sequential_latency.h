// The sequential phase (--sequential-orders N): after the load runs, N orders one at a time from
// one thread against each target, each order's latency from its submission to its outcome — what
// a strategy that waits for every order sees:
//   - the embedded gateway (--embedded): Gateway::SubmitAndWait (embedded_load.h);
//   - the daemon (--endpoint; with --embedded only when --endpoint is given): one DEALER, one
//     request outstanding (a closed loop of window 1 on one client, load_run.h);
//   - the forwarder (--baseline): the same through ordergate-forwarder.
// Printed as its own section of the text report and as the JSON report's "sequential" member.
// Single-threaded: called by main() after the runs.
#ifndef ORDERGATE_BENCH_SEQUENTIAL_LATENCY_H_
#define ORDERGATE_BENCH_SEQUENTIAL_LATENCY_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "bench/bench_options.h"
#include "bench/run_result.h"

namespace ordergate::bench {

struct SequentialRun {
  std::string label;      // "ordergate (embedded) SubmitAndWait", "ordergate (daemon)", "baseline"
  bool ordergate = true;  // under ordergate: its invariants are judged (Judge's rules)
  RunResult result;
};

// `opt` for a socket target's sequential run: closed loop, one client, window 1, `orders` orders,
// no warm-up, retries or conflicts, no progress line.
Options SequentialOptions(const Options& opt, int64_t orders);

// The invariants broken under ordergate in `runs` (a duplicate execution, an order without a final
// outcome, a run that failed), as Judge words them; empty when none.
std::vector<std::string> SequentialProblems(const std::vector<SequentialRun>& runs);

// "  sequential, one order at a time (N per target), FILLED latency us: ..." and one line per run.
void PrintSequential(const std::vector<SequentialRun>& runs, std::FILE* out);

// The runs as a JSON array: per run its label, orders, fates, FILLED latency percentiles,
// executions and duplicate executions (-1 when unchecked).
std::string SequentialJson(const std::vector<SequentialRun>& runs);

// Adds "key":value as the last member of the JSON object in *json (which ends with '}' and
// optional whitespace); `value` is JSON already. Leaves *json alone when it holds no object.
void AddJsonMember(std::string* json, std::string_view key, const std::string& value);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_SEQUENTIAL_LATENCY_H_
