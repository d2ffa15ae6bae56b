// Google Benchmark for gateway/audit_log: what the order path pays per audited decision, and how
// many lines a second the writer thread puts on disk.
//
// BM_AuditRecord: the order path's side. Record() of a typical "sent" event (identity, uuid,
//   bridge uuid, symbol, type, volume, price) while the writer thread formats and writes behind it
//   into a file under $TMPDIR. The queue is sized so that it never fills at this rate unless the
//   writer falls behind: dropped_pct says how often Record found it full (then the drop path,
//   cheaper still, was timed).
// BM_AuditWriterThroughput/<events>: the writer's side. <events> events are queued, then Flush()
//   waits until every line is written (write(2), one per batch; no fsync on this path): lines/s is
//   the writer's sustained rate, which must stay far above the gateway's decisions per second
//   (about 50 000 orders/s measured, two or three events each) for the queue never to fill.
#include <benchmark/benchmark.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "gateway/audit_log.h"

namespace {

using ordergate::gateway::AuditEvent;
using ordergate::gateway::AuditEventKind;
using ordergate::gateway::AuditLog;

std::string TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string tmpl = std::string(base != nullptr ? base : "/tmp") + "/og-audit-bench-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) return "/tmp";
  return tmpl;
}

AuditEvent Sent(int64_t unix_us) {
  return AuditEvent{.kind = AuditEventKind::kSent,
                    .unix_us = unix_us,
                    .identity = "strategy-alpha",
                    .uuid = "6f1c2e9a-3b4d-4c5e-8f70-1a2b3c4d5e6f",
                    .bridge_uuid = "og0123456789abcdef0123456789abcdef",
                    .action = "OPEN",
                    .symbol = "EURUSD",
                    .type = "BUY",
                    .volume = 0.1,
                    .price = 1.08523};
}

void BM_AuditRecord(benchmark::State& state) {
  const std::string dir = TempDir();
  uint64_t dropped_before = 0;
  {
    auto log = AuditLog::Open({.path = dir + "/audit.jsonl",
                               .max_bytes = int64_t{1} << 30,
                               .keep = 2,
                               .queue_capacity = 1 << 20});
    if (!log.ok()) {
      state.SkipWithError("cannot open the audit log");
      return;
    }
    dropped_before = (*log)->lines_dropped();
    int64_t t = 1'767'225'600'000'000;
    for (auto _ : state) {
      benchmark::DoNotOptimize((*log)->Record(Sent(++t)));
    }
    (*log)->Flush();
    const double n = static_cast<double>(state.iterations());
    state.counters["dropped_pct"] =
        n > 0 ? 100.0 * static_cast<double>((*log)->lines_dropped() - dropped_before) / n : 0;
    state.SetItemsProcessed(state.iterations());
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AuditRecord)->UseRealTime();

void BM_AuditWriterThroughput(benchmark::State& state) {
  const std::string dir = TempDir();
  const int64_t events = state.range(0);
  {
    auto log = AuditLog::Open({.path = dir + "/audit.jsonl",
                               .max_bytes = int64_t{64} << 20,
                               .keep = 2,
                               .queue_capacity = static_cast<size_t>(events)});
    if (!log.ok()) {
      state.SkipWithError("cannot open the audit log");
      return;
    }
    int64_t t = 1'767'225'600'000'000;
    for (auto _ : state) {
      for (int64_t i = 0; i < events; ++i) (*log)->Record(Sent(++t));
      (*log)->Flush();
    }
    state.SetItemsProcessed(state.iterations() * events);
    state.counters["lines_per_s"] = benchmark::Counter(
        static_cast<double>(state.iterations() * events), benchmark::Counter::kIsRate);
    state.counters["dropped"] = static_cast<double>((*log)->lines_dropped());
  }
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_AuditWriterThroughput)->Arg(10'000)->Arg(100'000)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
