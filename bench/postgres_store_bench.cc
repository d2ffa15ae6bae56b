// The shared guard (PostgresStore, idempotency/postgres_store.h) on a real PostgreSQL 15 primary
// with a synchronous standby (deploy/postgres/cluster.sh), as a gateway's writer thread uses it;
// store_bench measures RocksDbStore the same way (BM_StoreReserve / BM_StoreOutcome).
//   BM_PgReserve    — one Apply() reserving `batch` fresh keys (one burst of new orders): ~7 round
//                     trips and one COMMIT that waits for the standby's flush. Time = one Apply();
//                     p50/p99/p99.9 per batch, items/s = orders/s of one writer.
//   BM_PgOutcome    — one Apply() moving `batch` RESERVED records to FILLED with a ~180-byte reply
//                     (reserved untimed just before).
//   BM_PgLookupMiss — Lookup() of an absent key (a new uuid) on a pool connection.
// One writer per process: the store serialises Apply(); several gateways scale by their own
// writers (issue 16's measurement: ~94 k ids/s over 32 connections in batches of 16).
//
// The database: $ORDERGATE_BENCH_PG_DSN if set (the tables are created in it if missing), else a
// cluster started with deploy/postgres/cluster.sh in a temp dir, stopped at exit. Each run works in
// a fresh schema.
#include <benchmark/benchmark.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "idempotency/postgres_store.h"

namespace {

using namespace ordergate;
using idempotency::Change;
using idempotency::ChangeOutcome;
using idempotency::ChangeResult;
using idempotency::PostgresStore;
using idempotency::RecordEvent;

std::string RunScript(const std::string& args) {
  const std::string cmd =
      absl::StrCat(ORDERGATE_SOURCE_DIR, "/deploy/postgres/cluster.sh ", args, " 2>&1");
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return "";
  std::string out;
  char buf[4096];
  size_t n = 0;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  if (pclose(f) != 0) {
    std::fprintf(stderr, "cluster.sh %s failed:\n%s\n", args.c_str(), out.c_str());
    std::exit(2);
  }
  while (!out.empty() && out.back() == '\n') out.pop_back();
  const size_t nl = out.rfind('\n');
  return nl == std::string::npos ? out : out.substr(nl + 1);
}

struct Cluster {
  std::string dir;
  std::string dsn;
  ~Cluster() {
    if (!dir.empty()) {
      RunScript("stop " + dir);
      std::system(("rm -rf " + dir).c_str());
    }
  }
};

PostgresStore& Store() {
  static Cluster cluster;
  static std::unique_ptr<PostgresStore> store = [] {
    const char* env = std::getenv("ORDERGATE_BENCH_PG_DSN");
    std::string dsn;
    if (env != nullptr && *env != '\0') {
      dsn = env;
    } else {
      char tmpl[] = "/tmp/ordergate-pgbench-XXXXXX";
      if (mkdtemp(tmpl) == nullptr) std::exit(2);
      ::chmod(tmpl, 0755);
      cluster.dir = std::string(tmpl);
      dsn = RunScript("start " + cluster.dir + "/cluster");
    }
    idempotency::PostgresStoreOptions o;
    o.dsn = dsn;
    o.gateway_id = "bench";
    absl::StatusOr<std::unique_ptr<PostgresStore>> s = PostgresStore::Open(o);
    if (!s.ok()) {
      std::fprintf(stderr, "PostgresStore::Open: %s\n", s.status().ToString().c_str());
      std::exit(2);
    }
    return std::move(*s);
  }();
  return *store;
}

std::string NextKey() {
  static uint64_t seq = 0;
  static const uint64_t run = std::random_device{}();
  return absl::StrCat("strat-", run % 1000, "-", ++seq);
}

bool TimedApply(benchmark::State& state, bench::LatencySampler& lat,
                const std::vector<Change>& changes, std::vector<ChangeResult>& results) {
  const int64_t t0 = bench::NowNs();
  absl::Status s = Store().Apply(changes, 1'000, absl::MakeSpan(results));
  const int64_t ns = bench::NowNs() - t0;
  if (!s.ok() || results[0].outcome != ChangeOutcome::kApplied) {
    state.SkipWithError("Apply failed");
    return false;
  }
  state.SetIterationTime(static_cast<double>(ns) / 1e9);
  lat.Add(ns);
  return true;
}

// Fills `changes` with reservations of fresh keys (kept alive in `keys`), one per slot.
void NewReservations(std::vector<std::string>* keys, std::vector<Change>* changes) {
  for (size_t i = 0; i < changes->size(); ++i) {
    (*keys)[i] = NextKey();
    (*changes)[i] = Change::Reserve((*keys)[i], "0123456789abcdef0123456789abcdef");
  }
}

void BM_PgReserve(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  bench::LatencySampler lat(state);
  std::vector<std::string> keys(batch);
  std::vector<Change> changes(batch);
  std::vector<ChangeResult> results(batch);
  for (auto _ : state) {
    NewReservations(&keys, &changes);
    if (!TimedApply(state, lat, changes, results)) return;
  }
  lat.Report(state);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
}

void BM_PgOutcome(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  const std::string reply(180, 'r');
  bench::LatencySampler lat(state);
  std::vector<std::string> keys(batch);
  std::vector<Change> changes(batch);
  std::vector<ChangeResult> results(batch);
  for (auto _ : state) {
    NewReservations(&keys, &changes);
    if (!Store().Apply(changes, 1'000, absl::MakeSpan(results)).ok()) {
      state.SkipWithError("reserve failed");
      return;
    }
    for (size_t i = 0; i < batch; ++i) {
      changes[i] = Change::Event(RecordEvent::kOutcomeFilled, keys[i], reply);
    }
    if (!TimedApply(state, lat, changes, results)) return;
  }
  lat.Report(state);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
}

void BM_PgLookupMiss(benchmark::State& state) {
  bench::LatencySampler lat(state);
  for (auto _ : state) {
    const std::string key = NextKey() + "-absent";
    const int64_t t0 = bench::NowNs();
    absl::StatusOr<std::optional<idempotency::Record>> r = Store().Lookup(key);
    lat.Add(bench::NowNs() - t0);
    if (!r.ok()) {
      state.SkipWithError("Lookup failed");
      return;
    }
  }
  lat.Report(state);
}

BENCHMARK(BM_PgReserve)
    ->ArgName("batch")
    ->Arg(1)
    ->Arg(16)
    ->Arg(128)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PgOutcome)
    ->ArgName("batch")
    ->Arg(1)
    ->Arg(16)
    ->Arg(128)
    ->UseManualTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PgLookupMiss)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
