// Latency percentiles for Google Benchmark components: each timed operation (or a batch of cheap
// ones) is measured with steady_clock into a preallocated buffer, and p50/p99/p99.9 go into
// state.counters at the end, so every benchmark reports a distribution, not only a mean.
//
//   void BM_Thing(benchmark::State& state) {
//     bench::LatencySampler lat(state);
//     for (auto _ : state) {
//       const int64_t t0 = bench::NowNs();
//       DoThing();
//       lat.Add(bench::NowNs() - t0);
//     }
//     lat.Report(state);  // counters p50_ns, p99_ns, p999_ns
//   }
//
// Or, for operations under ~1 µs, where two clock reads (~50 ns) would distort each sample:
//   bench::TimeEach(state, /*ops_per_sample=*/16, [&] { DoCheapThing(); });
// which reports the per-operation time averaged over each sample of 16 (the Time column is then
// per 16 operations; items_per_second counts operations).
//
// Not thread-safe: one sampler per benchmark thread. Memory is allocated before the timed loop
// (at most kMaxSamples); beyond that, reservoir sampling keeps a uniform sample of all of them.
#ifndef ORDERGATE_BENCH_BENCH_UTIL_H_
#define ORDERGATE_BENCH_BENCH_UTIL_H_

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace ordergate::bench {

inline int64_t NowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class LatencySampler {
 public:
  static constexpr size_t kMaxSamples = size_t{1} << 20;  // 8 MiB

  // Reserves room for the iterations Google Benchmark planned for this run.
  explicit LatencySampler(const benchmark::State& state)
      : LatencySampler(static_cast<size_t>(state.max_iterations)) {}
  explicit LatencySampler(size_t expected) {
    samples_.reserve(std::min(std::max<size_t>(expected, 1), kMaxSamples));
  }

  void Add(int64_t ns) {
    ++seen_;
    if (samples_.size() < samples_.capacity()) {
      samples_.push_back(ns);
      return;
    }
    // Algorithm R: the i-th sample replaces a random slot with probability capacity / i.
    rng_ ^= rng_ << 13;
    rng_ ^= rng_ >> 7;
    rng_ ^= rng_ << 17;
    const uint64_t slot = rng_ % seen_;
    if (slot < samples_.size()) samples_[slot] = ns;
  }

  size_t count() const { return samples_.size(); }

  // Nearest-rank percentile (q in [0, 1]) of the samples so far; 0 when there are none. Sorts.
  double Percentile(double q) {
    if (samples_.empty()) return 0;
    if (!sorted_) std::sort(samples_.begin(), samples_.end());
    sorted_ = true;
    const size_t n = samples_.size();
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
    rank = std::clamp<size_t>(rank, 1, n);
    return static_cast<double>(samples_[rank - 1]);
  }

  // Sets <prefix>p50<suffix>, p99, p999 (e.g. "p50_ns"); each divided by `divisor` (to report a
  // batch's time per item).
  void Report(benchmark::State& state, const std::string& prefix = "",
              const std::string& suffix = "_ns", double divisor = 1.0) {
    state.counters[prefix + "p50" + suffix] = Percentile(0.50) / divisor;
    state.counters[prefix + "p99" + suffix] = Percentile(0.99) / divisor;
    state.counters[prefix + "p999" + suffix] = Percentile(0.999) / divisor;
  }

 private:
  std::vector<int64_t> samples_;
  uint64_t seen_ = 0;
  uint64_t rng_ = 0x9e3779b97f4a7c15ull;
  bool sorted_ = false;
};

// Runs `op` ops_per_sample times per benchmark iteration, timing each iteration as one sample;
// reports per-operation p50/p99/p99.9 and items (operations) per second.
template <typename Op>
void TimeEach(benchmark::State& state, int ops_per_sample, Op&& op) {
  LatencySampler lat(state);
  for (auto _ : state) {
    const int64_t t0 = NowNs();
    for (int i = 0; i < ops_per_sample; ++i) op();
    lat.Add(NowNs() - t0);
  }
  state.SetItemsProcessed(state.iterations() * ops_per_sample);
  lat.Report(state, "", "_ns", ops_per_sample);
}

// The process's resident set size in bytes (VmRSS), 0 if /proc is unreadable.
inline uint64_t ResidentBytes() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;  // "... kB"
  }
  return 0;
}

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_BENCH_UTIL_H_
