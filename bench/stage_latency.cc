// GET /latency and the window arithmetic (see stage_latency.h).
#include "bench/stage_latency.h"

#include <httplib.h>

#include <array>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ordergate::bench {
namespace {

using gateway::HistogramSnapshot;
using gateway::StageLatencySnapshot;

std::array<const HistogramSnapshot*, 5> StagesOf(const StageLatencySnapshot& s) {
  return {&s.decode, &s.reserve, &s.bridge, &s.total, &s.store_apply};  // kLatencyStageNames order
}

}  // namespace

LatencySnapshot FetchLatency(const std::string& host_port) {
  LatencySnapshot s;
  const size_t colon = host_port.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(host_port.substr(colon + 1), &port)) {
    s.http_status = -1;
    s.error = "bad --metrics address " + host_port;
    return s;
  }
  httplib::Client cli(host_port.substr(0, colon), port);
  cli.set_connection_timeout(2, 0);
  cli.set_read_timeout(5, 0);
  auto res = cli.Get("/latency");
  if (!res) {
    s.http_status = -1;
    s.error = "no answer from http://" + host_port + "/latency";
    return s;
  }
  s.http_status = res->status;
  if (res->status != 200) {
    s.error = absl::StrCat("GET http://", host_port, "/latency answered ", res->status);
    return s;
  }
  absl::StatusOr<StageLatencySnapshot> parsed = gateway::ParseLatencyJson(res->body);
  if (!parsed.ok()) {
    s.http_status = -1;
    s.error = absl::StrCat("GET /latency: ", parsed.status().message());
    return s;
  }
  s.stages = std::move(*parsed);
  return s;
}

void AccumulateDiff(const LatencySnapshot& before, const LatencySnapshot& after,
                    std::vector<Stage>* acc) {
  const StageLatencySnapshot window = after.stages.Minus(before.stages);
  const auto stages = StagesOf(window);
  for (size_t i = 0; i < stages.size(); ++i) {
    if (acc->size() <= i) {
      acc->push_back(Stage{std::string(gateway::kLatencyStageNames[i]), {}});
    }
    (*acc)[i].h.Merge(*stages[i]);
  }
}

StageFigures Summarize(const Stage& s) {
  StageFigures f;
  f.count = static_cast<int64_t>(s.h.count);
  if (f.count == 0) return f;
  f.mean_us = s.h.MeanNs() / 1000.0;
  auto q = [&](double p) { return static_cast<double>(s.h.ValueAtQuantile(p)) / 1000.0; };
  f.p50_us = q(0.5);
  f.p90_us = q(0.9);
  f.p99_us = q(0.99);
  f.p999_us = q(0.999);
  f.max_us = static_cast<double>(s.h.max_ns) / 1000.0;
  return f;
}

}  // namespace ordergate::bench
