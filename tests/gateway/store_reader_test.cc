// The store reader (gateway/store_reader.h): reads off the pipeline thread, back under their
// tickets in order, the pause after a failed read, the bound on what waits, and the shutdown drain.
#include "gateway/store_reader.h"

#include <poll.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "gateway/clock.h"
#include "tests/support/clock.h"

namespace og = ordergate;
using og::gateway::ManualClock;
using og::gateway::StoreReader;
using og::gateway::SystemClock;
using og::idempotency::Record;
using og::idempotency::RecordState;
using og::test_support::ElapsedMs;
using og::test_support::SteadyNow;

namespace {

// Records by key; every Lookup may wait first or fail, and is counted.
class ReadOnlyStore final : public og::idempotency::Store {
 public:
  absl::Status Apply(absl::Span<const og::idempotency::Change>, int64_t,
                     absl::Span<og::idempotency::ChangeResult>) override {
    return absl::UnimplementedError("read only");
  }
  absl::StatusOr<std::optional<Record>> Lookup(absl::string_view key) override {
    ++lookups;
    if (const int ms = delay_ms.load(); ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    if (failing.load()) return absl::Status(absl::StatusCode::kUnavailable, "");
    std::lock_guard<std::mutex> lock(mu);
    auto it = records.find(std::string(key));
    if (it == records.end()) return std::optional<Record>();
    return std::optional<Record>(it->second);
  }
  absl::StatusOr<std::vector<Record>> ListInFlight() override { return std::vector<Record>(); }
  og::idempotency::StoreStats Stats() override { return {}; }

  void Put(const std::string& key, RecordState state) {
    Record r;
    r.key = key;
    r.state = state;
    std::lock_guard<std::mutex> lock(mu);
    records[key] = r;
  }

  std::atomic<int> lookups{0};
  std::atomic<int> delay_ms{0};
  std::atomic<bool> failing{false};

 private:
  std::mutex mu;
  std::map<std::string, Record> records;
};

std::vector<StoreReader::Result> TakeAll(StoreReader* reader) {
  std::vector<StoreReader::Result> out;
  reader->TakeDone(&out);
  return out;
}

}  // namespace

TEST_CASE("each read comes back under its ticket, in the order submitted, with the record or none",
          "[store_reader]") {
  ReadOnlyStore store;
  store.Put("k-1", RecordState::kFilled);
  const og::gateway::Clock& clock = SystemClock();
  auto started = StoreReader::Start(&store, clock, {});
  REQUIRE(started.ok());
  StoreReader& reader = **started;
  REQUIRE(reader.Submit(7, "k-1"));
  REQUIRE(reader.Submit(8, "k-absent"));
  CHECK(reader.outstanding() == 2);
  std::vector<StoreReader::Result> got;
  reader.Drain(&got);
  REQUIRE(got.size() == 2);
  CHECK(got[0].ticket == 7);
  REQUIRE(got[0].record.ok());
  REQUIRE(got[0].record->has_value());
  CHECK((*got[0].record)->state == RecordState::kFilled);
  CHECK(got[1].ticket == 8);
  REQUIRE(got[1].record.ok());
  CHECK_FALSE(got[1].record->has_value());
  CHECK(reader.outstanding() == 0);
}

TEST_CASE(
    "a slow read waits on the reader's thread: Submit returns at once and the result comes "
    "back with the wake-up descriptor readable",
    "[store_reader]") {
  ReadOnlyStore store;
  store.delay_ms = 300;
  const og::gateway::Clock& clock = SystemClock();
  auto started = StoreReader::Start(&store, clock, {});
  REQUIRE(started.ok());
  StoreReader& reader = **started;
  const auto t0 = SteadyNow();
  REQUIRE(reader.Submit(1, "k-1"));
  CHECK(ElapsedMs(t0) < 100);  // the caller did not wait for the 300-ms read
  CHECK(TakeAll(&reader).empty());
  pollfd p{reader.wake_fd(), POLLIN, 0};
  REQUIRE(::poll(&p, 1, 5000) == 1);
  CHECK(ElapsedMs(t0) >= 290);
  auto got = TakeAll(&reader);
  REQUIRE(got.size() == 1);
  CHECK(got[0].ticket == 1);
  CHECK(got[0].record.ok());
  // Taken: the descriptor is quiet again.
  p.revents = 0;
  CHECK(::poll(&p, 1, 0) == 0);
}

TEST_CASE(
    "after a failed read, reads are answered unavailable untried for the pause, then tried "
    "again",
    "[store_reader]") {
  ReadOnlyStore store;
  store.Put("k-1", RecordState::kRejected);
  ManualClock clock;
  auto started = StoreReader::StartManual(&store, clock, {.max_queued = 16, .pause_ms = 500});
  REQUIRE(started.ok());
  StoreReader& reader = **started;
  store.failing = true;
  REQUIRE(reader.Submit(1, "k-1"));
  REQUIRE(reader.Submit(2, "k-1"));
  REQUIRE(reader.Submit(3, "k-1"));
  CHECK(store.lookups.load() == 0);  // a manual reader reads when its owner says
  CHECK(reader.has_queued());
  REQUIRE(reader.ReadPending());
  CHECK_FALSE(reader.has_queued());
  auto got = TakeAll(&reader);
  REQUIRE(got.size() == 3);
  for (const auto& r : got) {
    REQUIRE_FALSE(r.record.ok());
    CHECK(r.record.status().code() == absl::StatusCode::kUnavailable);
  }
  CHECK(store.lookups.load() == 1);  // one read's wait, not three
  store.failing = false;
  clock.Advance(absl::Milliseconds(499));
  REQUIRE(reader.Submit(4, "k-1"));
  REQUIRE(reader.ReadPending());
  got = TakeAll(&reader);
  REQUIRE(got.size() == 1);
  CHECK_FALSE(got[0].record.ok());
  CHECK(store.lookups.load() == 1);
  clock.Advance(absl::Milliseconds(2));
  REQUIRE(reader.Submit(5, "k-1"));
  REQUIRE(reader.ReadPending());
  got = TakeAll(&reader);
  REQUIRE(got.size() == 1);
  REQUIRE(got[0].record.ok());
  CHECK((*got[0].record)->state == RecordState::kRejected);
  CHECK(store.lookups.load() == 2);
}

TEST_CASE(
    "a reader refuses a read beyond max_queued outstanding, and takes one again once a result "
    "is taken",
    "[store_reader]") {
  ReadOnlyStore store;
  ManualClock clock;
  auto started = StoreReader::StartManual(&store, clock, {.max_queued = 2, .pause_ms = 500});
  REQUIRE(started.ok());
  StoreReader& reader = **started;
  CHECK(reader.Submit(1, "a"));
  CHECK(reader.Submit(2, "b"));
  CHECK_FALSE(reader.Submit(3, "c"));
  REQUIRE(reader.ReadPending());
  CHECK(store.lookups.load() == 2);  // the refused one was not read
  CHECK(TakeAll(&reader).size() == 2);
  CHECK(reader.Submit(4, "c"));
}

TEST_CASE("destroying a reader finishes the reads it queued before joining its thread",
          "[store_reader]") {
  ReadOnlyStore store;
  store.delay_ms = 50;
  const og::gateway::Clock& clock = SystemClock();
  {
    auto started = StoreReader::Start(&store, clock, {});
    REQUIRE(started.ok());
    for (uint64_t t = 1; t <= 4; ++t) REQUIRE((*started)->Submit(t, "k"));
  }
  CHECK(store.lookups.load() == 4);
}
