// Journal (gateway/journal.h): the hand-over of store batches to the journal thread, and the
// manual journal the deterministic simulation drives.
#include "gateway/journal.h"

#include <catch2/catch.hpp>
#include <optional>
#include <vector>

#include "gateway/clock.h"

namespace og = ordergate;
using og::gateway::Journal;
using og::gateway::ManualClock;
using og::idempotency::Change;
using og::idempotency::ChangeOutcome;
using og::idempotency::ChangeResult;

namespace {

// Applies every change (kApplied) and counts the calls; fails them all while `failing`.
class CountingStore final : public og::idempotency::Store {
 public:
  absl::Status Apply(absl::Span<const Change> changes, int64_t now_unix_ms,
                     absl::Span<ChangeResult> results) override {
    ++applies;
    last_now_unix_ms = now_unix_ms;
    if (failing) return absl::Status(absl::StatusCode::kUnavailable, "");
    for (size_t i = 0; i < changes.size(); ++i) results[i].outcome = ChangeOutcome::kApplied;
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<og::idempotency::Record>> Lookup(absl::string_view) override {
    return std::optional<og::idempotency::Record>();
  }
  absl::StatusOr<std::vector<og::idempotency::Record>> ListInFlight() override {
    return std::vector<og::idempotency::Record>();
  }
  og::idempotency::StoreStats Stats() override { return {}; }
  int applies = 0;
  int64_t last_now_unix_ms = 0;
  bool failing = false;
};

Journal::Batch OneReservation() {
  Journal::Batch b;
  b.changes.push_back(Change::Reserve("k-1", "fp"));
  b.now_unix_ms = 1234;
  return b;
}

}  // namespace

TEST_CASE("a batch handed to the journal thread comes back written with its results", "[journal]") {
  CountingStore store;
  ManualClock clock;
  auto j = Journal::Start(&store, clock);
  REQUIRE(j.ok());
  Journal::Batch b = OneReservation();
  (*j)->Write(&b);
  CHECK((*j)->busy());
  (*j)->WaitWritten();
  Journal::Batch* done = (*j)->TakeWritten();
  REQUIRE(done == &b);
  CHECK(done->status.ok());
  REQUIRE(done->results.size() == 1);
  CHECK(done->results[0].outcome == ChangeOutcome::kApplied);
  CHECK(store.last_now_unix_ms == 1234);
  CHECK_FALSE((*j)->busy());
}

TEST_CASE("a manual journal writes a batch only when its owner says the disk is done",
          "[journal]") {
  CountingStore store;
  ManualClock clock;
  auto j = Journal::StartManual(&store, clock);
  REQUIRE(j.ok());
  CHECK_FALSE((*j)->WritePending());  // nothing handed over
  Journal::Batch b = OneReservation();
  (*j)->Write(&b);
  CHECK((*j)->TakeWritten() == nullptr);
  CHECK(store.applies == 0);
  CHECK((*j)->busy());
  CHECK((*j)->WritePending());
  CHECK(store.applies == 1);
  Journal::Batch* done = (*j)->TakeWritten();
  REQUIRE(done == &b);
  CHECK(done->status.ok());
  CHECK_FALSE((*j)->WritePending());
}

TEST_CASE("a manual journal's failed write comes back failed, and WaitWritten writes at once",
          "[journal]") {
  CountingStore store;
  store.failing = true;
  ManualClock clock;
  auto j = Journal::StartManual(&store, clock);
  REQUIRE(j.ok());
  Journal::Batch b = OneReservation();
  (*j)->Write(&b);
  (*j)->WaitWritten();  // the shutdown path: must not wait for a thread that does not exist
  Journal::Batch* done = (*j)->TakeWritten();
  REQUIRE(done == &b);
  CHECK(done->status.code() == absl::StatusCode::kUnavailable);
  CHECK(store.applies == 1);
}
