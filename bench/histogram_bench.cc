// Google Benchmark for gateway/latency_histogram: what the order loop pays per latency sample, and
// what a /metrics or /latency scrape pays per snapshot.
//
// BM_HistogramRecord/<magnitude_ns>/<reader>: the loop's side. One writer records latencies of a
//   given magnitude (100 ns .. 1 s, each value jittered over [m, 2m) so neighbouring sub-buckets
//   are touched, like real samples), with reader=1 a second thread snapshotting in a loop (a
//   scraper that never stops: the worst case for the cache lines the writer shares with it).
//   Records are timed in batches of 64 with steady_clock; p50_ns/p99_ns are per record.
// BM_HistogramSnapshot/<writer>: the scraper's side. Snapshot() of a histogram holding 1 M samples
//   spread over 1 us .. 100 ms; writer=0 idle, writer=1 one record every ~2 us on another thread
//   (far above the gateway's per-stage rate), writer=2 a writer in a tight loop (forces retries and
//   the torn fallback: torn_pct). p50_ns/p99_ns are per snapshot.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "gateway/latency_histogram.h"

namespace {

using ordergate::gateway::HistogramSnapshot;
using ordergate::gateway::LatencyHistogram;
using Clock = std::chrono::steady_clock;

constexpr int kBatch = 64;

int64_t Ns(Clock::duration d) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(d).count();
}

std::vector<int64_t> Jittered(int64_t magnitude_ns, size_t n) {
  std::mt19937_64 rng(1);
  std::uniform_int_distribution<int64_t> d(magnitude_ns, 2 * magnitude_ns - 1);
  std::vector<int64_t> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

void BM_HistogramRecord(benchmark::State& state) {
  const std::vector<int64_t> values = Jittered(state.range(0), 4096);
  auto h = std::make_unique<LatencyHistogram>();
  std::atomic<bool> stop{false};
  std::thread reader;
  if (state.range(1) != 0) {
    reader = std::thread([&] {
      while (!stop.load(std::memory_order_relaxed)) benchmark::DoNotOptimize(h->Snapshot());
    });
  }
  LatencyHistogram batch_ns;
  size_t i = 0;
  for (auto _ : state) {
    const Clock::time_point t0 = Clock::now();
    for (int k = 0; k < kBatch; ++k) h->Record(values[(i++) & 4095]);
    batch_ns.Record(Ns(Clock::now() - t0));
    benchmark::ClobberMemory();
  }
  stop = true;
  if (reader.joinable()) reader.join();
  const HistogramSnapshot s = batch_ns.Snapshot();
  state.SetItemsProcessed(state.iterations() * kBatch);
  state.counters["p50_ns"] = static_cast<double>(s.ValueAtQuantile(0.5)) / kBatch;
  state.counters["p99_ns"] = static_cast<double>(s.ValueAtQuantile(0.99)) / kBatch;
  state.counters["torn_snapshots"] = static_cast<double>(h->torn_snapshots());
}
// Each iteration is a batch of 64 records: divide Time by 64 (or read items_per_second).
BENCHMARK(BM_HistogramRecord)
    ->ArgsProduct({{100, 10'000, 1'000'000, 1'000'000'000}, {0, 1}})
    ->ArgNames({"magnitude_ns", "reader"})
    ->UseRealTime();

void BM_HistogramSnapshot(benchmark::State& state) {
  auto h = std::make_unique<LatencyHistogram>();
  {
    std::mt19937_64 rng(2);
    std::uniform_real_distribution<double> log_ns(std::log(1e3), std::log(1e8));
    for (int k = 0; k < 1'000'000; ++k) h->Record(static_cast<int64_t>(std::exp(log_ns(rng))));
  }
  const int64_t mode = state.range(0);
  std::atomic<bool> stop{false};
  std::thread writer;
  if (mode != 0) {
    writer = std::thread([&] {
      const std::vector<int64_t> values = Jittered(50'000, 4096);
      size_t i = 0;
      Clock::time_point next = Clock::now();
      while (!stop.load(std::memory_order_relaxed)) {
        if (mode == 1) {
          next += std::chrono::microseconds(2);
          while (Clock::now() < next) {
          }
        }
        h->Record(values[(i++) & 4095]);
      }
    });
  }
  LatencyHistogram snapshot_ns;
  const uint64_t torn_before = h->torn_snapshots();
  for (auto _ : state) {
    const Clock::time_point t0 = Clock::now();
    HistogramSnapshot s = h->Snapshot();
    snapshot_ns.Record(Ns(Clock::now() - t0));
    benchmark::DoNotOptimize(s);
  }
  stop = true;
  if (writer.joinable()) writer.join();
  const HistogramSnapshot s = snapshot_ns.Snapshot();
  state.counters["p50_ns"] = static_cast<double>(s.ValueAtQuantile(0.5));
  state.counters["p99_ns"] = static_cast<double>(s.ValueAtQuantile(0.99));
  state.counters["torn_pct"] =
      100.0 * static_cast<double>(h->torn_snapshots() - torn_before) /
      static_cast<double>(std::max<int64_t>(1, static_cast<int64_t>(state.iterations())));
}
BENCHMARK(BM_HistogramSnapshot)->Arg(0)->Arg(1)->Arg(2)->ArgName("writer")->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
