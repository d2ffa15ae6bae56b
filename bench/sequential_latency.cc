// The sequential phase (see sequential_latency.h).
#include "bench/sequential_latency.h"

#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "bench/report.h"
#include "transport/codec.h"

namespace ordergate::bench {
namespace {

std::string Us(const std::vector<int64_t>& sorted_ns, double q) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", PercentileUs(sorted_ns, q));
  return b;
}

}  // namespace

Options SequentialOptions(const Options& opt, int64_t orders) {
  Options o = opt;
  o.rate = 0;
  o.poisson = false;
  o.clients = 1;
  o.window = 1;
  o.orders = orders;
  o.duration_s = 0;
  o.warmup_s = 0;
  o.retry_ratio = 0;
  o.conflict_ratio = 0;
  o.progress = false;
  return o;
}

std::vector<std::string> SequentialProblems(const std::vector<SequentialRun>& runs) {
  std::vector<std::string> problems;
  for (const SequentialRun& s : runs) {
    if (!s.ordergate) continue;
    const RunResult& r = s.result;
    if (r.duplicate_executions > 0) {
      problems.push_back(absl::StrCat("DUPLICATE EXECUTIONS at the bridge under ", s.label,
                                      " (sequential): ", r.duplicate_executions));
    }
    if (r.issued - r.finished > 0) {
      problems.push_back(absl::StrCat(r.issued - r.finished,
                                      " orders without a final outcome under ", s.label,
                                      " (sequential)"));
    }
    if (!r.error.empty()) {
      problems.push_back(absl::StrCat(s.label, " sequential run failed: ", r.error));
    }
  }
  return problems;
}

void PrintSequential(const std::vector<SequentialRun>& runs, std::FILE* out) {
  if (runs.empty()) return;
  std::fprintf(out,
               "  sequential, one order at a time from one thread (%lld per target), FILLED "
               "latency us:\n",
               static_cast<long long>(runs.front().result.issued));
  std::fprintf(out, "    %-36s %9s %9s %9s %9s %9s  %s\n", "target", "p50", "p90", "p99", "max",
               "FILLED", "duplicate executions");
  for (const SequentialRun& s : runs) {
    const RunResult& r = s.result;
    const std::string dup = r.duplicate_executions < 0 ? std::string("unchecked")
                                                       : absl::StrCat(r.duplicate_executions);
    std::fprintf(out, "    %-36s %9s %9s %9s %9s %9llu  %s%s\n", s.label.c_str(),
                 Us(r.filled_ns, 0.5).c_str(), Us(r.filled_ns, 0.9).c_str(),
                 Us(r.filled_ns, 0.99).c_str(), Us(r.filled_ns, 1.0).c_str(),
                 static_cast<unsigned long long>(r.fates.filled), dup.c_str(),
                 r.error.empty() ? "" : absl::StrCat("  (failed: ", r.error, ")").c_str());
    if (r.fates.filled != r.fates.orders) {
      std::fprintf(out, "      %s\n", FatesLine(r.fates).c_str());
    }
  }
}

std::string SequentialJson(const std::vector<SequentialRun>& runs) {
  std::string js = "[";
  for (size_t i = 0; i < runs.size(); ++i) {
    const RunResult& r = runs[i].result;
    std::string label;
    AppendJsonString(runs[i].label, &label);
    std::string headline;
    AppendJsonString(FatesLine(r.fates), &headline);
    absl::StrAppend(&js, i > 0 ? "," : "", "{\"target\":", label, ",\"orders\":", r.issued,
                    ",\"FILLED\":", r.fates.filled, ",\"UNKNOWN\":", r.fates.unknown,
                    ",\"refused\":", r.fates.refused.Total(),
                    ",\"without_final_outcome\":", r.issued - r.finished,
                    ",\"headline\":", headline, ",\"latency_us\":{\"p50\":", Us(r.filled_ns, 0.5),
                    ",\"p90\":", Us(r.filled_ns, 0.9), ",\"p99\":", Us(r.filled_ns, 0.99),
                    ",\"max\":", Us(r.filled_ns, 1.0), ",\"count\":", r.filled_ns.size(),
                    "},\"executed_uuids\":", r.executed_uuids,
                    ",\"duplicate_executions\":", r.duplicate_executions, "}");
  }
  return js + "]";
}

void AddJsonMember(std::string* json, std::string_view key, const std::string& value) {
  const size_t close = json->find_last_of('}');
  if (close == std::string::npos) return;
  std::string member;
  AppendJsonString(absl::string_view(key.data(), key.size()), &member);
  const bool empty_object =
      close == 0 || json->find_last_not_of(" \n\t", close - 1) == json->find('{');
  json->insert(close, absl::StrCat(empty_object ? "" : ",", member, ":", value));
}

}  // namespace ordergate::bench
