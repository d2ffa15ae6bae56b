// The gateway's per-stage latency histograms, read from its GET /latency (gateway/http_endpoint)
// before and after the measured window; the window is after - before.
#ifndef ORDERGATE_BENCH_STAGE_LATENCY_H_
#define ORDERGATE_BENCH_STAGE_LATENCY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "gateway/latency_histogram.h"

namespace ordergate::bench {

struct Stage {
  std::string name;
  gateway::HistogramSnapshot h;
};

struct LatencySnapshot {
  int http_status = 0;  // 200 when served; 0 not asked; -1 no answer or not parseable
  std::string error;
  gateway::StageLatencySnapshot stages;
};

// GET http://HOST:PORT/latency. Blocks up to ~7 s (2 s connect, 5 s read); never throws: failures
// are in http_status and error. Thread-safe (no shared state).
LatencySnapshot FetchLatency(const std::string& host_port);

// after - before (cumulative counters, so the difference is the window), added into *acc: several
// gateway rounds sum up. *acc holds the stages in kLatencyStageNames order.
void AccumulateDiff(const LatencySnapshot& before, const LatencySnapshot& after,
                    std::vector<Stage>* acc);

struct StageFigures {
  int64_t count = 0;
  double mean_us = 0, p50_us = 0, p90_us = 0, p99_us = 0, p999_us = 0, max_us = 0;
};

// Quantiles are the histogram's (never below the true value, at most 0.78% above); a window's max
// is its highest bucket's bound.
StageFigures Summarize(const Stage& s);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_STAGE_LATENCY_H_
