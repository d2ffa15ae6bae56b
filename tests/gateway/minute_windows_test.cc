// MinuteWindows on a simulated wall clock: buckets, sealing, 24 h expiry, exact window merges,
// persistence through a real RocksDbStore, and what a crash loses.
#include "gateway/minute_windows.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gateway/gateway.h"
#include "idempotency/rocksdb_store.h"

namespace ordergate::gateway {
namespace {

constexpr int64_t kMinute = 60'000;
// 2024-01-02 03:04:00 UTC, a minute boundary.
constexpr int64_t kT0 = 1'704'164'640'000;

// The loop's cumulative sources, and what each minute should hold, counted independently.
struct World {
  GatewayCounters counters;
  StageLatency latency;
  WindowCounters window;
  std::map<int64_t, MinuteCounts> expected_counts;       // by minute start
  std::map<int64_t, HistogramSnapshot> expected_total;   // total stage, by minute start
  std::map<int64_t, HistogramSnapshot> expected_decode;  // decode stage, by minute start
  std::mt19937_64 rng{20240102};

  MinuteWindows::Sources Sources() { return {&counters, &latency, &window}; }

  // One accepted order at `now`: sent, then filled or rejected, with a latency.
  void Order(int64_t now) {
    const int64_t minute = now / kMinute * kMinute;
    MinuteCounts& c = expected_counts[minute];
    counters.requests.fetch_add(1);
    window.accepted.fetch_add(1);
    counters.orders_submitted.fetch_add(1);
    counters.store_batches.fetch_add(1);
    ++c.requests;
    ++c.accepted;
    ++c.sent;
    if (rng() % 10 == 0) {
      counters.orders_rejected.fetch_add(1);
      ++c.rejected;
    } else {
      counters.orders_filled.fetch_add(1);
      ++c.filled;
    }
    const int64_t total_ns = 100'000 + static_cast<int64_t>(rng() % 50'000'000);
    latency.total.Record(total_ns);
    expected_total[minute].Add(total_ns);
    const int64_t decode_ns = 200 + static_cast<int64_t>(rng() % 5'000);
    latency.decode.Record(decode_ns);
    expected_decode[minute].Add(decode_ns);
  }
  void Retry(int64_t now) {
    const int64_t minute = now / kMinute * kMinute;
    counters.requests.fetch_add(1);
    window.duplicate_requests.fetch_add(1);
    ++expected_counts[minute].requests;
    ++expected_counts[minute].duplicate_requests;
  }
};

// Whole-window expectations over the minutes [first, last].
struct Expected {
  MinuteCounts counts;
  HistogramSnapshot total, decode;
};
Expected Over(const World& w, int64_t first, int64_t last) {
  Expected e;
  for (const auto& [m, c] : w.expected_counts) {
    if (m >= first && m <= last) e.counts.Add(c);
  }
  for (const auto& [m, h] : w.expected_total) {
    if (m >= first && m <= last) e.total.Merge(h);
  }
  for (const auto& [m, h] : w.expected_decode) {
    if (m >= first && m <= last) e.decode.Merge(h);
  }
  return e;
}

void CheckCounts(const MinuteCounts& got, const MinuteCounts& want) {
  CHECK(got.accepted == want.accepted);
  CHECK(got.sent == want.sent);
  CHECK(got.filled == want.filled);
  CHECK(got.rejected == want.rejected);
  CHECK(got.duplicate_requests == want.duplicate_requests);
  CHECK(got.duplicate_sends == want.duplicate_sends);
  CHECK(got.requests == want.requests);
}

void CheckSameDistribution(const HistogramSnapshot& got, const HistogramSnapshot& want) {
  CHECK(got.count == want.count);
  CHECK(got.sum_ns == want.sum_ns);
  CHECK(got.buckets == want.buckets);
  if (want.count > 0) {
    // The window's max comes from its highest non-empty bucket: never below the true max, and
    // at most one bucket width (0.78%) above it; quantiles are clamped to it, so the same holds.
    for (double q : {0.5, 0.99, 0.999}) {
      CHECK(got.ValueAtQuantile(q) >= want.ValueAtQuantile(q));
      CHECK(static_cast<double>(got.ValueAtQuantile(q)) <=
            static_cast<double>(want.ValueAtQuantile(q)) * 1.0079 + 1);
    }
    CHECK(got.max_ns >= want.max_ns);
    CHECK(static_cast<double>(got.max_ns) <= static_cast<double>(want.max_ns) * 1.0079 + 1);
  }
}

// A store in a temp directory.
class StoreDir {
 public:
  StoreDir() {
    static int n = 0;
    path_ = std::filesystem::temp_directory_path() /
            ("ordergate-windows-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    std::filesystem::remove_all(path_);
  }
  ~StoreDir() { std::filesystem::remove_all(path_); }
  std::unique_ptr<idempotency::RocksDbStore> Open() {
    idempotency::RocksDbStoreOptions o;
    o.path = path_.string();
    o.durability = idempotency::Durability::kAsync;
    o.block_cache_bytes = 8u << 20;
    auto s = idempotency::RocksDbStore::Open(o);
    INFO(s.status().ToString());
    REQUIRE(s.ok());
    return std::move(*s);
  }

 private:
  std::filesystem::path path_;
};

TEST_CASE("each minute's bucket holds exactly the orders, retries and latencies of that minute",
          "[windows]") {
  World w;
  MinuteWindows windows(w.Sources());
  int64_t now = kT0 + 5'000;
  REQUIRE(windows.Tick(now) == nullptr);  // the first look only starts the minute
  for (int minute = 0; minute < 3; ++minute) {
    for (int i = 0; i < 40 + minute * 25; ++i) {
      now += 600;
      windows.Tick(now);  // as the loop: the clock is read before what arrived is handled
      w.Order(now);
      if (i % 4 == 0) w.Retry(now);
    }
    now = kT0 + (minute + 1) * kMinute + 10;  // the next minute's first look seals this one
    windows.Tick(now);
  }
  for (int minute = 0; minute < 3; ++minute) {
    const int64_t m = kT0 + minute * kMinute;
    DYNAMIC_SECTION("minute " << minute) {
      WindowReport one = windows.Read(60, m + 30'000);
      CHECK(one.first_minute_unix_ms == m);
      CHECK(one.minutes_with_data == 1);
      Expected e = Over(w, m, m);
      CheckCounts(one.counts, e.counts);
      CheckSameDistribution(one.latency.total, e.total);
      CheckSameDistribution(one.latency.decode, e.decode);
      CHECK(one.peak_minute_accepted == e.counts.accepted);
    }
  }
  // The first minute covers the time since the first look, the others all of it.
  CHECK(windows.Read(60, kT0).counts.covered_ms == 55'000);
  CHECK(windows.Read(60, kT0 + kMinute).counts.covered_ms == 60'000);
}

TEST_CASE("a 1 h window read back equals the sum of its 60 minutes exactly, whatever came before",
          "[windows]") {
  World w;
  MinuteWindows windows(w.Sources());
  std::mt19937_64 draw(7);
  int64_t now = kT0;
  windows.Tick(now);
  // 100 minutes of uneven load, with a look at the clock every 100..2100 ms.
  while (now < kT0 + 100 * kMinute) {
    now += 100 + static_cast<int64_t>(draw() % 2000);
    windows.Tick(now);
    const int orders = static_cast<int>(draw() % 4);
    for (int i = 0; i < orders; ++i) w.Order(now);
    if (draw() % 3 == 0) w.Retry(now);
  }
  windows.Tick(now, /*force_flush=*/true);  // the current minute too
  for (int64_t window_s : {60, 3600, 4 * 3600}) {
    DYNAMIC_SECTION("window " << window_s << " s") {
      WindowReport r = windows.Read(window_s, now);
      const int64_t last = now / kMinute * kMinute;
      const int64_t first = last - (window_s / 60 - 1) * kMinute;
      CHECK(r.first_minute_unix_ms == first);
      // The current minute is read as of its last flush (every 2 s): compare the same window
      // ending in the last sealed minute.
      Expected e = Over(w, last - window_s / 60 * kMinute, last - kMinute);
      WindowReport sealed = windows.Read(window_s, last - 1);
      CheckCounts(sealed.counts, e.counts);
      CheckSameDistribution(sealed.latency.total, e.total);
      uint64_t peak = 0;
      for (const auto& [m, c] : w.expected_counts) {
        if (m >= last - window_s / 60 * kMinute && m < last) peak = std::max(peak, c.accepted);
      }
      CHECK(sealed.peak_minute_accepted == peak);
      CHECK(r.minutes_with_data == std::min<int64_t>(window_s / 60, 101));  // 100 min and a bit
    }
  }
}

TEST_CASE("minutes older than 24 h leave memory and the store", "[windows]") {
  StoreDir dir;
  auto store = dir.Open();
  World w;
  MinuteWindowsOptions opts;
  MinuteWindows windows(w.Sources(), opts);
  int64_t now = kT0;
  AdvanceMinuteWindows(windows, *store, now);
  w.Order(now + 1);  // one order in the very first minute
  for (int i = 1; i <= 24 * 60 + 3; ++i) {
    now = kT0 + i * kMinute + 5;
    AdvanceMinuteWindows(windows, *store, now);
  }
  // The first minute is now 1443 minutes old: out of every window and erased from the store.
  CHECK(windows.Read(24 * 3600, now).counts.accepted == 0);
  CHECK(windows.Read(24 * 3600, now).minutes_with_data == 24 * 60 - 1);
  auto listed = store->ListMeta(kMinuteKeyPrefix);
  REQUIRE(listed.ok());
  CHECK(listed->size() == 24 * 60 - 1);
  CHECK(listed->front().key == MinuteKey(kT0 + 4 * kMinute));
  CHECK(listed->back().key == MinuteKey(kT0 + (24 * 60 + 2) * kMinute));
}

TEST_CASE("windows persisted in the store read back the same after a restart", "[windows]") {
  StoreDir dir;
  World w;
  int64_t now = kT0 + 1'000;
  WindowReport before;
  {
    auto store = dir.Open();
    MinuteWindows windows(w.Sources());
    REQUIRE(windows.Load(store->ListMeta(kMinuteKeyPrefix), now).ok());
    AdvanceMinuteWindows(windows, *store, now);
    for (int i = 0; i < 400; ++i) {
      now += 700;
      w.Order(now);
      AdvanceMinuteWindows(windows, *store, now);
    }
    AdvanceMinuteWindows(windows, *store, now, /*force_flush=*/true);  // a clean stop
    before = windows.Read(3600, now);
    CHECK(windows.persisted_unix_ms() == now);
  }
  REQUIRE(before.counts.accepted == 400);
  auto store = dir.Open();
  World fresh;  // a new process: its sources start at zero
  MinuteWindows windows(fresh.Sources());
  REQUIRE(windows.Load(store->ListMeta(kMinuteKeyPrefix), now + 5'000).ok());
  WindowReport after = windows.Read(3600, now);
  CheckCounts(after.counts, before.counts);
  CHECK(after.minutes_with_data == before.minutes_with_data);
  CHECK(after.latency == before.latency);
}

TEST_CASE(
    "a crash loses only what the last flush had not written, and the next run adds to the minute "
    "it interrupted",
    "[windows]") {
  StoreDir dir;
  World w;
  int64_t now = kT0 + 1'000;
  {
    auto store = dir.Open();
    MinuteWindows windows(w.Sources());  // flush every 2 s
    AdvanceMinuteWindows(windows, *store, now);
    for (int i = 0; i < 10; ++i) w.Order(now);
    now += 2'000;
    AdvanceMinuteWindows(windows, *store, now);  // flushed: 10 orders
    for (int i = 0; i < 7; ++i) w.Order(now);
    now += 500;
    AdvanceMinuteWindows(windows, *store, now);  // not due: 7 orders only in memory
    CHECK(windows.Read(60, now).counts.accepted == 10);
    // Killed here: nothing more is written (the store closes as after kill -9's WAL replay).
  }
  auto store = dir.Open();
  World next;
  MinuteWindows windows(next.Sources());
  now += 3'000;  // restarted within the same minute
  REQUIRE(windows.Load(store->ListMeta(kMinuteKeyPrefix), now).ok());
  CHECK(windows.Read(60, now).counts.accepted == 10);  // the 7 unflushed orders are lost
  AdvanceMinuteWindows(windows, *store, now);
  for (int i = 0; i < 5; ++i) next.Order(now);
  now = kT0 + kMinute + 1;  // the minute ends: sealed with both runs' orders
  AdvanceMinuteWindows(windows, *store, now);
  CHECK(windows.Read(60, kT0 + 30'000).counts.accepted == 15);
  World third;
  MinuteWindows reread(third.Sources());
  REQUIRE(reread.Load(store->ListMeta(kMinuteKeyPrefix), now).ok());
  CHECK(reread.Read(120, now).counts.accepted == 15);
}

TEST_CASE("a wall clock stepping back keeps filling the current minute", "[windows]") {
  World w;
  MinuteWindows windows(w.Sources());
  int64_t now = kT0 + 5 * kMinute + 10;
  windows.Tick(now);
  w.Order(now);
  windows.Tick(kT0 + 2 * kMinute);  // back three minutes: no older minute is reopened
  w.Order(now);
  windows.Tick(kT0 + 6 * kMinute + 1);
  CHECK(windows.Read(60, kT0 + 5 * kMinute).counts.accepted == 2);
  CHECK(windows.Read(60, kT0 + 2 * kMinute).minutes_with_data == 0);
}

TEST_CASE("a persisted minute decodes to what was encoded, and damage is refused, never guessed",
          "[windows]") {
  MinuteBucket b;
  b.minute_unix_ms = kT0;
  b.counts.accepted = 3;
  b.counts.duplicate_requests = 1;
  b.counts.rss_max_bytes = 1 << 30;
  b.latency.total.Add(1'500'000);
  b.latency.total.Add(7);
  b.latency.total.Add(40'000'000'000);
  b.latency.decode.Add(900);
  const std::string enc = EncodeMinuteBucket(b);
  auto back = DecodeMinuteBucket(enc);
  REQUIRE(back.ok());
  CHECK(*back == b);
  CHECK(MinuteKey(kT0) == "minute/1704164640000");
  for (size_t cut = 0; cut < enc.size(); ++cut) {
    CHECK(DecodeMinuteBucket(enc.substr(0, cut)).status().code() == absl::StatusCode::kDataLoss);
  }
  CHECK(DecodeMinuteBucket(enc + "x").status().code() == absl::StatusCode::kDataLoss);
  std::string other_version = enc;
  other_version[0] = 2;
  CHECK(DecodeMinuteBucket(other_version).status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("a store without metadata leaves the windows working for the current run", "[windows]") {
  World w;
  MinuteWindows windows(w.Sources());
  CHECK(windows.Load(absl::UnimplementedError("no metadata"), kT0).ok());
  windows.Tick(kT0);
  w.Order(kT0 + 1);
  CHECK(windows.Tick(kT0 + 2'001) == nullptr);  // published, nothing to write
  CHECK(windows.Read(60, kT0 + 2'001).counts.accepted == 1);
}

}  // namespace
}  // namespace ordergate::gateway
