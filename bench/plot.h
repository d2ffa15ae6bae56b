// The percentile plot: x = 1/(1-q) on a log axis labelled by percentile, y = latency (log), one
// curve per series: FILLED orders solid, the orders not FILLED (refused, UNKNOWN) dashed and named
// as such, so that fast refusals can never pass for a fast gateway. gnuplot runs as a child
// process (posix_spawnp, its script in a file beside the PNG): no shell sees any path.
#ifndef ORDERGATE_BENCH_PLOT_H_
#define ORDERGATE_BENCH_PLOT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace ordergate::bench {

struct PlotSeries {
  std::string file_key;  // names the data file: <png stem>-<file_key>.dat ([a-z-] only)
  std::string title;     // the key's text
  const std::vector<int64_t>* sorted_ns = nullptr;  // latencies, ascending; empty: not drawn
  bool filled = true;                               // false: drawn dashed (refused / UNKNOWN)
};

// Series come in pairs, one per target: its FILLED orders, then its orders not FILLED; a pair
// shares a colour. Writes <stem>-<file_key>.dat per non-empty series and <stem>.gp, then runs
// `gnuplot <stem>.gp` and waits for it (blocks; the harness's stdout/stderr are gnuplot's). `title`
// heads the plot (the success rate belongs there). Returns false with *err when a file cannot be
// written, no series has data, gnuplot cannot be started (not on PATH) or it exits non-zero.
bool WritePlot(const std::string& png, const std::string& title,
               const std::vector<PlotSeries>& series, std::string* err);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_PLOT_H_
