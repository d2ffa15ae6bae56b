// The /metrics text (Prometheus exposition format 0.0.4) and the process and data-directory
// readings in it. Named by Prometheus conventions (https://prometheus.io/docs/practices/naming/):
// counters end in _total, units are in the name in base units (_seconds, _bytes), and what differs
// only by one dimension is one metric with a label, so PromQL can sum and ratio it:
//
//   ordergate_orders_total{outcome="filled|rejected|unknown"}   order outcomes recorded
//   ordergate_unknown_orders                                   UNKNOWN orders in the store now
//   ordergate_stage_latency_seconds{stage=...,le=...}          a histogram per gateway stage
//   process_cpu_seconds_total, process_resident_memory_bytes,  the standard process metrics, as
//   process_open_fds, process_max_fds, ...                     every Prometheus client names them
//   ordergate_store_size_bytes, ordergate_data_filesystem_*    the store on disk, its filesystem
//
// `promtool check metrics` finds nothing to say about the output (tests/deploy/ runs it). Old names
// and what replaced them: README.md, "Operating it".
#ifndef ORDERGATE_GATEWAY_METRICS_EXPOSITION_H_
#define ORDERGATE_GATEWAY_METRICS_EXPOSITION_H_

#include <cstdint>
#include <optional>
#include <string>

#include "gateway/gateway.h"
#include "gateway/latency_histogram.h"

namespace ordergate::gateway {

// The whole /metrics text for `gateway`. Any thread; never blocks the loop (it reads atomics and
// the histograms' lock-free snapshots). It does read /proc/self, walks the data directory (a few
// dozen files for RocksDB) and lists the store's in-flight index (RESERVED + UNKNOWN records, for
// ordergate_unknown_orders): a scrape costs about a millisecond of the HTTP thread.
std::string RenderMetrics(const Gateway& gateway);

// The latency part of /metrics for one snapshot of the stages (appended to `out`).
//  - ordergate_stage_latency_seconds: a histogram per stage (label stage: decode, reserve, bridge,
//    total, store_apply) with fixed le bounds (10 us .. 10 s), for histogram_quantile() over rates
//    in rules and dashboards. The fine buckets do not align with them: a fine bucket is counted
//    into an le only when its upper bound <= le, so a bound's count never includes a value above
//    it but may miss values up to 0.78% below it (they land in the next bound).
//  - ordergate_stage_latency_quantile_seconds: a summary per stage with quantile 0.5, 0.9, 0.99,
//    0.999 since start, from the fine buckets (HistogramSnapshot::ValueAtQuantile: at most 0.78%
//    above the true value, far finer than the le bounds allow), NaN while the stage is empty.
void AppendLatencyMetrics(const StageLatencySnapshot& s, std::string* out);

// This process's resources, from /proc/self (Linux). Each field is nullopt when it could not be
// read. Blocks on a few small /proc reads; any thread.
struct ProcessStats {
  std::optional<double> cpu_seconds;         // user + system CPU time since start
  std::optional<uint64_t> resident_bytes;    // RSS
  std::optional<uint64_t> virtual_bytes;     // address space size
  std::optional<uint64_t> open_fds;          // entries in /proc/self/fd
  std::optional<uint64_t> max_fds;           // the soft RLIMIT_NOFILE
  std::optional<double> start_time_seconds;  // since the Unix epoch
};
ProcessStats ReadProcessStats();

// The store's data directory on disk. nullopt fields: the directory (or its filesystem) could not
// be read. Blocks on a directory walk and a statvfs(); any thread; files that vanish during the
// walk (RocksDB deletes obsolete ones) are skipped.
struct DataDirStats {
  std::optional<uint64_t> store_bytes;             // apparent size of every file below it
  std::optional<uint64_t> filesystem_size_bytes;   // its filesystem's size
  std::optional<uint64_t> filesystem_avail_bytes;  // what an unprivileged writer may still use
};
DataDirStats ReadDataDirStats(const std::string& data_dir);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_METRICS_EXPOSITION_H_
