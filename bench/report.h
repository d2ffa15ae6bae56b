// ordergate-bench's verdict and report. The headline is what happened to the orders: the share
// FILLED first, then the refusals by code, UNKNOWN, and orders without a final reply, so that
//   orders = FILLED + refused + UNKNOWN + without a final reply
// is visible in every report. Latency and throughput are of FILLED orders only (a refusal is fast
// and is not a result); the orders not FILLED have their own latency line. A ratio to the baseline
// is printed only where both runs FILLED a comparable share of their orders. A run whose orders
// were mostly not FILLED under ordergate gets a WARNING line and exit code 3.
// Single-threaded: called by main() after every run ended.
#ifndef ORDERGATE_BENCH_REPORT_H_
#define ORDERGATE_BENCH_REPORT_H_

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_options.h"
#include "bench/run_result.h"
#include "bench/stage_latency.h"

namespace ordergate::bench {

// A ratio is comparable work when both runs FILLED at least this share of their measured orders,
// and their shares differ by at most kComparableMaxGap (e.g. both ~90% under the same rejection
// fault). Otherwise one side's figures describe a different set of orders than the other's.
constexpr double kComparableMinShare = 0.5;
constexpr double kComparableMaxGap = 0.05;

// FILLED orders of one run: latency percentiles (us, from the intended send time), mean, count,
// FILLED orders per second over the measured window, and the share of measured orders FILLED.
struct Figures {
  double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0, mean = 0, throughput = 0;
  double success = 0;
  size_t count = 0;
};
Figures FiguresOf(const RunResult& r);

// The q-quantile of ascending nanoseconds, in microseconds (0 when empty).
double PercentileUs(const std::vector<int64_t>& sorted_ns, double q);

struct Verdict {
  int exit_code = kExitOk;
  std::vector<std::string> problems;  // invariants broken under ordergate: FAILED lines, exit 1
  std::vector<std::string> warnings;  // WARNING lines (mostly refused: exit 3 unless 1 applies)
  bool mostly_refused = false;        // ordergate FILLED < --min-success-rate of measured orders
  bool ratio_comparable = false;      // with --baseline: ratios printed
  std::string ratio_withheld;         // with --baseline and !ratio_comparable: why
};

// `base` is null without --baseline.
Verdict Judge(const Options& opt, const RunResult& gw, const RunResult* base);

// Everything the report shows besides the runs' own results.
struct ReportContext {
  const Options* opt = nullptr;
  std::string mode;       // "open-loop 1000 orders/s (uniform spacing)" ...
  std::string run_order;  // "baseline, then ordergate" ...
  std::string per_run;    // "10 s measured" | "1000 orders"
  double load[3] = {0, 0, 0};
  std::pair<double, double> fsync_us{-1, -1};  // --fsync-probe p50/p99, or -1
  const std::vector<Stage>* stages = nullptr;  // per-stage window, when asked and served
  const LatencySnapshot* stage_probe = nullptr;
  bool stage_asked = false;
};

// "98.00% FILLED: 98 of 100 orders; refused 2 (GATEWAY_BUSY 2); UNKNOWN 0; no final reply 0"
std::string FatesLine(const OrderFates& f);

// What the orders not FILLED got, by code: "GATEWAY_BUSY 2977, UNKNOWN 3" (empty when none).
std::string NotFilledText(const OrderFates& f);

// The plot's title: the success rate of each run, then what is drawn.
std::string PlotTitle(const RunResult& gw, const RunResult* base);

// The text report (stdout); each WARNING line also goes to stderr.
void PrintReport(const ReportContext& ctx, const RunResult& gw, const RunResult* base,
                 const Verdict& v, std::FILE* out);

// The JSON report (one object; see the README's "Running it" and tests/bench/smoke.sh).
std::string ReportJson(const ReportContext& ctx, const RunResult& gw, const RunResult* base,
                       const Verdict& v);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_REPORT_H_
