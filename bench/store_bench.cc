// The idempotency store (RocksDbStore) on a real disk, as the gateway's writer thread uses it:
//   BM_StoreReserve    — one Apply() reserving `batch` fresh keys (one drained burst of new orders:
//                        a point read that misses, then one WriteBatch, fsynced when sync=1), in a
//                        store already holding `records` records. Time = one Apply() (what each
//                        order of the burst waits); p50/p99/p99.9 per batch (p50_ns, ...) and per
//                        order (order_p50_ns, ...: the batch's time / batch), items/s = orders/s.
//   BM_StoreOutcome    — one Apply() moving `batch` RESERVED records to FILLED with a ~180-byte
//                        bridge reply (a burst of bridge replies); the reservations are made
//                        untimed just before.
//   BM_StoreLookupHit  — Lookup() of a random existing key among `records` (a retry of a finished
//                        order: the stored reply is read and decoded).
//   BM_StoreLookupMiss — Lookup() of a random absent key interleaved with the existing ones (a new
//                        uuid: the common case, which the bloom filter should answer in memory).
//                        Both report rss_mb (process RSS after the run), base_rss_mb (before the
//                        store was opened) and block_cache_mb (the store's configured cache).
//   BM_StoreOpen       — RocksDbStore::Open() of a store of `records` records, `inflight` of them
//                        RESERVED (a restart after a crash): time to ready, recovery included.
//
// Stores are real RocksDB directories under $ORDERGATE_BENCH_DIR (default /var/tmp/ordergate-bench;
// never a tmpfs: the fsync is the point). A store of N records is built once by the bulk loader
// (idempotency/bulk_load.h) in fill-N-K/ and reused while its marker file matches; each run works
// on a copy (table files hard-linked, so the copy is instant and the fill stays pristine).
// Record sizes: the sweep runs at the counts in $ORDERGATE_BENCH_RECORDS (comma-separated, default
// 1000000); 100000000 needs ~30 GB and a few minutes to fill the first time.
// $ORDERGATE_BENCH_INFLIGHT (default 1000) RESERVED records per fill, $ORDERGATE_BENCH_CACHE_MB
// (default 256) block cache, $ORDERGATE_BENCH_WARM (default 1; 0 = cold) whether the table files
// are read once into the page cache before a store is first used (the loader's writes bypass it),
// $ORDERGATE_BENCH_LOOKUP_WARMUP (default 500000; 0 = cold) untimed lookups before the timed ones.
// Run the lookups of one record count per process (--benchmark_filter) for a clean rss_mb.
//
// Keys look like client order ids, "strat-<0..7>-<12 digits>": filled records have sequence
// numbers 4j, misses 4j+1, fresh reservations 4j+2, so all three interleave in one key range
// (no lookup is answered by a file's key range alone). Values are what the gateway stores: FILLED
// with a 32-byte fingerprint and the bridge's ~180-byte reply; every (N/K)-th record is RESERVED.
//
// Also a tool: `store_bench --fill N [K]` builds (or reuses) the fill of N records with K in
// flight and prints the store directory (scripts/restart_bench.sh uses it).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "idempotency/bulk_load.h"
#include "idempotency/rocksdb_store.h"

namespace {

using namespace ordergate;
using idempotency::Change;
using idempotency::ChangeOutcome;
using idempotency::ChangeResult;
using idempotency::Durability;
using idempotency::Record;
using idempotency::RecordEvent;
using idempotency::RecordState;
using idempotency::RocksDbStore;
namespace fs = std::filesystem;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr uint64_t kStrategies = 8;
// Bumped when the generated records change: a fill with another version is rebuilt.
constexpr char kFillVersion[] = "ordergate-fill v2";  // v2: store format 2

std::string Env(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return (v != nullptr && *v != '\0') ? std::string(v) : std::string(fallback);
}

uint64_t EnvU64(const char* name, uint64_t fallback) {
  uint64_t v = 0;
  return absl::SimpleAtoi(Env(name, ""), &v) ? v : fallback;
}

std::string BenchDir() { return Env("ORDERGATE_BENCH_DIR", "/var/tmp/ordergate-bench"); }
uint64_t InFlightPerFill() { return EnvU64("ORDERGATE_BENCH_INFLIGHT", 1000); }
uint64_t CacheBytes() { return EnvU64("ORDERGATE_BENCH_CACHE_MB", 256) << 20; }

std::vector<int64_t> RecordCounts() {
  std::vector<int64_t> out;
  for (absl::string_view part :
       absl::StrSplit(Env("ORDERGATE_BENCH_RECORDS", "1000000"), ',', absl::SkipEmpty())) {
    int64_t n = 0;
    if (absl::SimpleAtoi(part, &n) && n > 0) out.push_back(n);
  }
  return out;
}

uint64_t SplitMix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// "strat-<s>-<seq, 12 digits>" into *out (reusing its capacity).
void KeyOf(uint64_t strategy, uint64_t seq, std::string* out) {
  char buf[40];
  const int n = std::snprintf(buf, sizeof(buf), "strat-%" PRIu64 "-%012" PRIu64, strategy, seq);
  out->assign(buf, static_cast<size_t>(n));
}

// Record i (0 <= i < n) of a fill of n: strategies split the range in order, so keys ascend with i.
void FillKey(uint64_t i, uint64_t n, std::string* out) {
  const uint64_t per = (n + kStrategies - 1) / kStrategies;
  KeyOf(i / per, 4 * (i % per), out);
}
void MissKey(uint64_t i, uint64_t n, std::string* out) {
  const uint64_t per = (n + kStrategies - 1) / kStrategies;
  KeyOf(i / per, 4 * (i % per) + 1, out);
}
// The c-th fresh key of this process: never filled, never a miss key.
void FreshKey(uint64_t c, std::string* out) {
  KeyOf(c % kStrategies, 4 * (c / kStrategies) + 2, out);
}

void Fingerprint(uint64_t i, std::string* out) {
  out->resize(32);
  for (size_t w = 0; w < 4; ++w) {
    const uint64_t v = SplitMix(i * 4 + w);
    for (size_t b = 0; b < 8; ++b) (*out)[w * 8 + b] = static_cast<char>(v >> (8 * b));
  }
}

// The bridge's FILLED reply to an OPEN, as the gateway stores it (~180 bytes).
void FilledReply(absl::string_view key, uint64_t i, int64_t unix_ms, std::string* out) {
  const uint64_t r = SplitMix(i);
  const time_t secs = static_cast<time_t>(unix_ms / 1000);
  std::tm tm_utc{};
  gmtime_r(&secs, &tm_utc);
  char ts[32];
  std::strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm_utc);
  char buf[320];
  const int n = std::snprintf(
      buf, sizeof(buf),
      R"({"uuid":"%.*s","status":"FILLED","ticket":%)" PRIu64
      R"(,"symbol":"EURUSD","volume":0.%d,"price":1.%05d,"execution_time":"%s.%06dZ","latency_ms":%d.%d})",
      static_cast<int>(key.size()), key.data(), 100000000 + i, static_cast<int>(r % 9) + 1,
      static_cast<int>((r >> 8) % 100000), ts, static_cast<int>((unix_ms % 1000) * 1000),
      static_cast<int>(40 + (r >> 32) % 160), static_cast<int>((r >> 40) % 10));
  out->assign(buf, static_cast<size_t>(n));
}

std::string FillDir(uint64_t n, uint64_t k) {
  return absl::StrCat(BenchDir(), "/fill-", n, "-", k);
}

uint64_t DirBytes(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec)) total += e.file_size(ec);
  }
  return total;
}

// Builds fill-N-K/db with the bulk loader unless its marker says it is already there. Returns the
// store directory. Progress and the fill's cost go to stderr.
absl::StatusOr<std::string> EnsureFilled(uint64_t n, uint64_t k) {
  const std::string dir = FillDir(n, k);
  const std::string db = dir + "/db";
  const std::string marker = dir + "/FILLED";
  const std::string want = absl::StrCat(kFillVersion, " records=", n, " inflight=", k);
  {
    std::ifstream in(marker);
    std::string have;
    if (in && std::getline(in, have) && have == want) return db;
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir, ec);
  if (ec) return absl::UnavailableError(absl::StrCat("cannot create ", dir, ": ", ec.message()));

  std::fprintf(stderr,
               "store_bench: filling %s with %" PRIu64 " records (%" PRIu64 " RESERVED)...\n",
               db.c_str(), n, k);
  const int64_t t0 = bench::NowNs();
  idempotency::BulkLoadOptions opts;
  opts.path = db;
  absl::StatusOr<std::unique_ptr<idempotency::BulkLoader>> loader =
      idempotency::BulkLoader::Create(opts);
  if (!loader.ok()) return loader.status();
  const uint64_t reserved_every = k == 0 ? 0 : std::max<uint64_t>(1, n / k);
  const int64_t base_ms = UnixMs() - 3'600'000;  // all within the last hour: far from retention
  Record r;
  uint64_t reserved = 0;
  for (uint64_t i = 0; i < n; ++i) {
    FillKey(i, n, &r.key);
    Fingerprint(i, &r.fingerprint);
    r.created_unix_ms = base_ms + static_cast<int64_t>(i * 3'600'000 / n);
    if (reserved_every != 0 && i % reserved_every == reserved_every / 2 && reserved < k) {
      r.state = RecordState::kReserved;
      r.reply.clear();
      r.updated_unix_ms = r.created_unix_ms;
      ++reserved;
    } else {
      r.state = RecordState::kFilled;
      r.updated_unix_ms = r.created_unix_ms + 60;
      FilledReply(r.key, i, r.updated_unix_ms, &r.reply);
    }
    if (absl::Status s = (*loader)->Add(r); !s.ok()) return s;
    if ((i + 1) % 10'000'000 == 0) {
      std::fprintf(stderr, "store_bench:   %" PRIu64 " M records, %.0f s\n", (i + 1) / 1'000'000,
                   static_cast<double>(bench::NowNs() - t0) / 1e9);
    }
  }
  if (absl::Status s = (*loader)->Finish(); !s.ok()) return s;
  loader->reset();
  const double secs = static_cast<double>(bench::NowNs() - t0) / 1e9;
  const uint64_t bytes = DirBytes(db);
  std::ofstream out(marker, std::ios::trunc);
  out << want << "\n";
  out << "fill_seconds=" << secs << " bytes=" << bytes << " bytes_per_record="
      << (n == 0 ? 0.0 : static_cast<double>(bytes) / static_cast<double>(n)) << "\n";
  out.close();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", marker));
  std::fprintf(stderr,
               "store_bench: filled %" PRIu64 " records (%" PRIu64
               " RESERVED) in %.1f s: %.0f MiB, "
               "%.1f bytes/record\n",
               n, reserved, secs, static_cast<double>(bytes) / kMiB,
               n == 0 ? 0.0 : static_cast<double>(bytes) / static_cast<double>(n));
  return db;
}

// A private copy of a store directory: table files (immutable in RocksDB) hard-linked, the rest
// (MANIFEST, CURRENT, OPTIONS, WAL, LOG: appended or replaced) copied.
absl::Status CopyStore(const std::string& from, const std::string& to) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(to, ec);
  for (const auto& e : fs::directory_iterator(from, ec)) {
    if (!e.is_regular_file()) continue;
    const fs::path dst = fs::path(to) / e.path().filename();
    if (e.path().extension() == ".sst") {
      fs::create_hard_link(e.path(), dst, ec);
    } else {
      fs::copy_file(e.path(), dst, ec);
    }
    if (ec)
      return absl::UnavailableError(absl::StrCat("copy ", e.path().string(), ": ", ec.message()));
  }
  if (ec) return absl::UnavailableError(absl::StrCat("listing ", from, ": ", ec.message()));
  return absl::OkStatus();
}

// Reads every table file once, so lookups start from a warm page cache (a gateway that has been
// serving for a while) rather than from the loader's writes, which bypass the cache. Bytes read.
uint64_t WarmPageCache(const std::string& dir) {
  uint64_t total = 0;
  std::vector<char> buf(size_t{1} << 20);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".sst") continue;
    std::ifstream in(e.path(), std::ios::binary);
    while (in.read(buf.data(), static_cast<std::streamsize>(buf.size())) || in.gcount() > 0) {
      total += static_cast<uint64_t>(in.gcount());
    }
  }
  return total;
}

std::string WorkRoot() { return absl::StrCat(BenchDir(), "/work-", ::getpid()); }

// The one store open at a time: stores are cached across the calls Google Benchmark makes to find
// an iteration count, and reopened only when the record count or durability changes.
struct OpenStore {
  uint64_t records = 0;
  Durability durability = Durability::kSync;
  uint64_t base_rss = 0;  // process RSS just before the store was opened
  std::unique_ptr<RocksDbStore> store;
  bool warmed[2] = {false, false};  // lookup warm-up done: [miss, hit]
};
OpenStore g_open;
std::vector<uint64_t> g_copied;  // record counts whose work copy exists
uint64_t g_fresh = 0;            // FreshKey counter, process-wide

absl::StatusOr<OpenStore*> GetStore(uint64_t records, Durability d) {
  if (g_open.store != nullptr && g_open.records == records && g_open.durability == d) {
    return &g_open;
  }
  g_open.store.reset();
  const std::string work = absl::StrCat(WorkRoot(), "/r", records);
  if (std::find(g_copied.begin(), g_copied.end(), records) == g_copied.end()) {
    std::error_code ec;
    fs::remove_all(work, ec);
    if (records > 0) {
      absl::StatusOr<std::string> db = EnsureFilled(records, InFlightPerFill());
      if (!db.ok()) return db.status();
      if (absl::Status s = CopyStore(*db, work); !s.ok()) return s;
      if (EnvU64("ORDERGATE_BENCH_WARM", 1) != 0) {
        const int64_t t0 = bench::NowNs();
        const uint64_t bytes = WarmPageCache(work);
        std::fprintf(stderr, "store_bench: page cache warmed with %.0f MiB in %.1f s\n",
                     static_cast<double>(bytes) / kMiB,
                     static_cast<double>(bench::NowNs() - t0) / 1e9);
      }
    }
    g_copied.push_back(records);
  }
  idempotency::RocksDbStoreOptions o;
  o.path = work;
  o.durability = d;
  o.block_cache_bytes = CacheBytes();
  g_open.base_rss = bench::ResidentBytes();
  absl::StatusOr<std::unique_ptr<RocksDbStore>> s = RocksDbStore::Open(o);
  if (!s.ok()) return s.status();
  g_open.store = std::move(*s);
  g_open.records = records;
  g_open.durability = d;
  return &g_open;
}

OpenStore* GetStoreOrSkip(benchmark::State& state, uint64_t records, Durability d) {
  absl::StatusOr<OpenStore*> s = GetStore(records, d);
  if (!s.ok()) {
    state.SkipWithError(std::string(s.status().ToString()).c_str());
    return nullptr;
  }
  return *s;
}

void MemoryCounters(benchmark::State& state, const OpenStore& st) {
  state.counters["rss_mb"] = static_cast<double>(bench::ResidentBytes()) / kMiB;
  state.counters["base_rss_mb"] = static_cast<double>(st.base_rss) / kMiB;
  state.counters["block_cache_mb"] = static_cast<double>(CacheBytes()) / kMiB;
}

Durability DurabilityArg(int64_t sync) {
  return sync != 0 ? Durability::kSync : Durability::kAsync;
}

// Times one Apply of `changes` as the iteration's manual time and records it. False (with the
// benchmark's error set) when the store failed or `applied(results)` says the batch was not what
// the benchmark measures: a figure of a batch that did nothing would flatter the store.
template <typename Applied>
bool TimedApply(benchmark::State& state, RocksDbStore& store, absl::Span<const Change> changes,
                absl::Span<ChangeResult> results, bench::LatencySampler* lat, Applied applied,
                const char* error) {
  const int64_t now_ms = UnixMs();
  const int64_t t0 = bench::NowNs();
  absl::Status s = store.Apply(changes, now_ms, results);
  const int64_t ns = bench::NowNs() - t0;
  if (!s.ok() || !applied(results)) {
    state.SkipWithError(error);
    return false;
  }
  lat->Add(ns);
  state.SetIterationTime(static_cast<double>(ns) / 1e9);
  return true;
}

// Items, and p50/p99 per batch and per order (a batch's time shared by its orders).
void ReportBatches(benchmark::State& state, bench::LatencySampler& lat, size_t batch) {
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
  lat.Report(state);
  lat.Report(state, "order_", "_ns", static_cast<double>(batch));
}

void BM_StoreReserve(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  OpenStore* st =
      GetStoreOrSkip(state, static_cast<uint64_t>(state.range(2)), DurabilityArg(state.range(1)));
  if (st == nullptr) return;
  std::vector<std::string> keys(batch);
  std::vector<Change> changes(batch);
  std::vector<ChangeResult> results(batch);
  std::string fp;
  Fingerprint(7, &fp);
  bench::LatencySampler lat(state);
  for (auto _ : state) {
    for (size_t b = 0; b < batch; ++b) {
      FreshKey(g_fresh++, &keys[b]);
      changes[b] = Change::Reserve(keys[b], fp);
    }
    if (!TimedApply(
            state, *st->store, changes, absl::MakeSpan(results), &lat,
            [](auto r) { return r[0].outcome == ChangeOutcome::kApplied; },
            "reserve of a fresh key was not applied")) {
      break;
    }
  }
  ReportBatches(state, lat, batch);
}

void BM_StoreOutcome(benchmark::State& state) {
  const size_t batch = static_cast<size_t>(state.range(0));
  OpenStore* st =
      GetStoreOrSkip(state, static_cast<uint64_t>(state.range(2)), DurabilityArg(state.range(1)));
  if (st == nullptr) return;
  std::vector<std::string> keys(batch), replies(batch);
  std::vector<Change> reserves(batch), outcomes(batch);
  std::vector<ChangeResult> results(batch);
  std::string fp;
  Fingerprint(7, &fp);
  bench::LatencySampler lat(state);
  for (auto _ : state) {
    for (size_t b = 0; b < batch; ++b) {
      const uint64_t c = g_fresh++;
      FreshKey(c, &keys[b]);
      FilledReply(keys[b], c, UnixMs(), &replies[b]);
      reserves[b] = Change::Reserve(keys[b], fp);
      outcomes[b] = Change::Event(RecordEvent::kOutcomeFilled, keys[b], replies[b]);
    }
    const int64_t now_ms = UnixMs();
    if (!st->store->Apply(reserves, now_ms, absl::MakeSpan(results)).ok()) {
      state.SkipWithError("untimed reserve failed");
      break;
    }
    if (!TimedApply(
            state, *st->store, outcomes, absl::MakeSpan(results), &lat,
            [](auto r) { return r[0].state_after == RecordState::kFilled; },
            "RESERVED -> FILLED was not applied")) {
      break;
    }
  }
  ReportBatches(state, lat, batch);
}

template <bool kHit>
void BM_StoreLookup(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  OpenStore* st = GetStoreOrSkip(state, n, Durability::kAsync);
  if (st == nullptr) return;
  std::mt19937_64 rng(42);
  std::uniform_int_distribution<uint64_t> pick(0, n - 1);
  std::string key;
  // Steady state, as in a gateway that has served for a while: the block cache first holds what a
  // stream of lookups keeps in it (filter and index partitions), untimed. Without this, the first
  // touch of each of a 100 M store's ~30 000 filter partitions (a read of the table file) lands in
  // the measured tail. $ORDERGATE_BENCH_LOOKUP_WARMUP (default 500 000; 0 = cold) lookups.
  // Once per store and kind: Google Benchmark calls this function several times.
  const uint64_t warmup =
      st->warmed[kHit ? 1 : 0] ? 0 : EnvU64("ORDERGATE_BENCH_LOOKUP_WARMUP", 500'000);
  st->warmed[kHit ? 1 : 0] = true;
  for (uint64_t w = 0; w < warmup; ++w) {
    const uint64_t i = pick(rng);
    if (kHit) {
      FillKey(i, n, &key);
    } else {
      MissKey(i, n, &key);
    }
    if (!st->store->Lookup(key).ok()) {
      state.SkipWithError("warm-up Lookup failed");
      return;
    }
  }
  bench::LatencySampler lat(state);
  uint64_t wrong = 0;
  for (auto _ : state) {
    const uint64_t i = pick(rng);
    if (kHit) {
      FillKey(i, n, &key);
    } else {
      MissKey(i, n, &key);
    }
    const int64_t t0 = bench::NowNs();
    absl::StatusOr<std::optional<Record>> r = st->store->Lookup(key);
    const int64_t ns = bench::NowNs() - t0;
    if (!r.ok()) {
      state.SkipWithError("Lookup failed");
      break;
    }
    wrong += r->has_value() != kHit ? 1 : 0;
    lat.Add(ns);
    state.SetIterationTime(static_cast<double>(ns) / 1e9);
  }
  if (wrong != 0) state.SkipWithError("a lookup found what it should not (or missed a filled key)");
  state.SetItemsProcessed(state.iterations());
  lat.Report(state);
  MemoryCounters(state, *st);
}

void BM_StoreLookupHit(benchmark::State& state) { BM_StoreLookup<true>(state); }
void BM_StoreLookupMiss(benchmark::State& state) { BM_StoreLookup<false>(state); }

void BM_StoreOpen(benchmark::State& state) {
  const uint64_t n = static_cast<uint64_t>(state.range(0));
  const uint64_t k = static_cast<uint64_t>(state.range(1));
  g_open.store.reset();  // one store open at a time (memory, and the RSS counters of others)
  absl::StatusOr<std::string> db = EnsureFilled(n, k);
  if (!db.ok()) {
    state.SkipWithError(std::string(db.status().ToString()).c_str());
    return;
  }
  const std::string work = WorkRoot() + "/open";
  bench::LatencySampler lat(state);
  uint64_t recovered = 0;
  for (auto _ : state) {
    if (absl::Status s = CopyStore(*db, work); !s.ok()) {
      state.SkipWithError(std::string(s.ToString()).c_str());
      break;
    }
    idempotency::RocksDbStoreOptions o;
    o.path = work;
    o.block_cache_bytes = CacheBytes();
    const int64_t t0 = bench::NowNs();
    absl::StatusOr<std::unique_ptr<RocksDbStore>> s = RocksDbStore::Open(o);
    const int64_t ns = bench::NowNs() - t0;
    if (!s.ok()) {
      state.SkipWithError(std::string(s.status().ToString()).c_str());
      break;
    }
    recovered = (*s)->recovered_count();
    lat.Add(ns);
    state.SetIterationTime(static_cast<double>(ns) / 1e9);
  }
  std::error_code ec;
  fs::remove_all(work, ec);
  if (recovered != k) state.SkipWithError("Open() did not recover every RESERVED record");
  lat.Report(state, "", "_ms", 1e6);
  state.counters["recovered"] = static_cast<double>(recovered);
}

void RegisterAll() {
  const std::vector<int64_t> counts = RecordCounts();
  std::vector<int64_t> with_empty = {0};
  with_empty.insert(with_empty.end(), counts.begin(), counts.end());
  for (int64_t records : with_empty) {
    for (int64_t sync : {1, 0}) {
      auto* b = benchmark::RegisterBenchmark("BM_StoreReserve", BM_StoreReserve);
      b->ArgNames({"batch", "sync", "records"})->UseManualTime()->Unit(benchmark::kMicrosecond);
      for (int64_t batch : {1, 4, 16, 64, 256}) b->Args({batch, sync, records});
    }
  }
  for (int64_t sync : {1, 0}) {
    auto* b = benchmark::RegisterBenchmark("BM_StoreOutcome", BM_StoreOutcome);
    b->ArgNames({"batch", "sync", "records"})->UseManualTime()->Unit(benchmark::kMicrosecond);
    for (int64_t batch : {1, 16, 256}) b->Args({batch, sync, 0});
  }
  for (int64_t records : counts) {
    benchmark::RegisterBenchmark("BM_StoreLookupHit", BM_StoreLookupHit)
        ->ArgName("records")
        ->Arg(records)
        ->UseManualTime()
        ->MinTime(2.0)
        ->Unit(benchmark::kMicrosecond);
    benchmark::RegisterBenchmark("BM_StoreLookupMiss", BM_StoreLookupMiss)
        ->ArgName("records")
        ->Arg(records)
        ->UseManualTime()
        ->MinTime(2.0)
        ->Unit(benchmark::kMicrosecond);
  }
  for (int64_t records : counts) {
    benchmark::RegisterBenchmark("BM_StoreOpen", BM_StoreOpen)
        ->ArgNames({"records", "inflight"})
        ->Args({records, static_cast<int64_t>(InFlightPerFill())})
        ->UseManualTime()
        ->Iterations(5)
        ->Unit(benchmark::kMillisecond);
  }
}

int FillMain(int argc, char** argv) {
  uint64_t n = 0;
  uint64_t k = InFlightPerFill();
  if (argc < 3 || !absl::SimpleAtoi(argv[2], &n) || (argc > 3 && !absl::SimpleAtoi(argv[3], &k))) {
    std::fprintf(stderr, "usage: store_bench --fill RECORDS [INFLIGHT]\n");
    return 2;
  }
  absl::StatusOr<std::string> db = EnsureFilled(n, k);
  if (!db.ok()) {
    std::fprintf(stderr, "store_bench: %s\n", std::string(db.status().ToString()).c_str());
    return 1;
  }
  std::printf("%s\n", db->c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 2 && std::string(argv[1]) == "--fill") return FillMain(argc, argv);
  RegisterAll();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  g_open.store.reset();
  std::error_code ec;
  fs::remove_all(WorkRoot(), ec);
  return 0;
}
