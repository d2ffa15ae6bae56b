// PostgresStore (idempotency/postgres_store.h) against real PostgreSQL processes
// (deploy/postgres/cluster.sh): the Store contract, as rocksdb_store_test.cc checks it for RocksDB.
// Each test works in a schema of its own (FreshSchemaDsn), so tests may run in parallel on one
// cluster.
#include "idempotency/postgres_store.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "tests/idempotency/postgres_test_util.h"

namespace ordergate::idempotency {
namespace {

using pgtest::FreshSchemaDsn;
using pgtest::OpenOrDie;
using pgtest::Options;
using pgtest::SharedDsn;

ChangeResult ApplyOne(Store& store, const Change& c, int64_t now_ms = 1'000) {
  std::vector<ChangeResult> r(1);
  absl::Status s = store.Apply(absl::MakeConstSpan(&c, 1), now_ms, absl::MakeSpan(r));
  INFO("Apply: " << s.ToString());
  REQUIRE(s.ok());
  return r[0];
}

// Puts `key` into `state` through legal events only.
void Drive(Store& store, const std::string& key, RecordState state) {
  if (state == RecordState::kAbsent) return;
  REQUIRE(ApplyOne(store, Change::Reserve(key, "fp")).outcome == ChangeOutcome::kApplied);
  RecordEvent e = RecordEvent::kReserve;
  switch (state) {
    case RecordState::kFilled:
      e = RecordEvent::kOutcomeFilled;
      break;
    case RecordState::kRejected:
      e = RecordEvent::kOutcomeRejected;
      break;
    case RecordState::kUnknown:
      e = RecordEvent::kBridgeTimedOut;
      break;
    default:
      return;
  }
  REQUIRE(ApplyOne(store, Change::Event(e, key, "r0")).outcome == ChangeOutcome::kApplied);
}

TEST_CASE(
    "PostgresStore reserves a key once and answers a second reservation with the stored "
    "record",
    "[postgres]") {
  auto store = OpenOrDie(Options(FreshSchemaDsn(SharedDsn()), "gw-a"));
  ChangeResult first = ApplyOne(*store, Change::Reserve(std::string("c\0u-1", 5), "fp-1"), 5'000);
  CHECK(first.outcome == ChangeOutcome::kApplied);
  CHECK(first.state_after == RecordState::kReserved);
  ChangeResult second = ApplyOne(*store, Change::Reserve(std::string("c\0u-1", 5), "fp-2"), 6'000);
  CHECK(second.outcome == ChangeOutcome::kExists);
  REQUIRE(second.existing.has_value());
  CHECK(second.existing->key == std::string("c\0u-1", 5));
  CHECK(second.existing->state == RecordState::kReserved);
  CHECK(second.existing->fingerprint == "fp-1");
  CHECK(second.existing->created_unix_ms == 5'000);
  CHECK(store->OwnerOf(std::string("c\0u-1", 5)).value() == "gw-a");
  absl::StatusOr<std::optional<Record>> looked = store->Lookup(std::string("c\0u-1", 5));
  REQUIRE(looked.ok());
  REQUIRE(looked->has_value());
  CHECK((*looked)->fingerprint == "fp-1");
  CHECK(store->Lookup("never").value() == std::nullopt);
}

TEST_CASE("PostgresStore follows the transition table row by row and refuses every other event",
          "[postgres]") {
  auto store = OpenOrDie(Options(FreshSchemaDsn(SharedDsn()), "gw-a"));
  const RecordState states[] = {RecordState::kAbsent, RecordState::kReserved, RecordState::kFilled,
                                RecordState::kRejected, RecordState::kUnknown};
  const RecordEvent events[] = {RecordEvent::kReserve,         RecordEvent::kOutcomeFilled,
                                RecordEvent::kOutcomeRejected, RecordEvent::kBridgeTimedOut,
                                RecordEvent::kRecovered,       RecordEvent::kReleased};
  int rows = 0;
  for (RecordState from : states) {
    for (RecordEvent e : events) {
      const std::string key =
          "k-" + std::to_string(static_cast<int>(from)) + "-" + std::to_string(static_cast<int>(e));
      Drive(*store, key, from);
      const Change c = e == RecordEvent::kReserve ? Change::Reserve(key, "fp-new")
                                                  : Change::Event(e, key, "reply-new");
      ChangeResult r = ApplyOne(*store, c, 9'000);
      const std::optional<RecordState> next = NextState(from, e);
      std::optional<Record> stored = store->Lookup(key).value();
      INFO("from " << StateName(from) << " event " << static_cast<int>(e));
      if (next) {
        ++rows;
        CHECK(r.outcome == ChangeOutcome::kApplied);
        CHECK(r.state_after == *next);
        if (*next == RecordState::kAbsent) {
          CHECK_FALSE(stored.has_value());
        } else {
          REQUIRE(stored.has_value());
          CHECK(stored->state == *next);
          CHECK(stored->updated_unix_ms == 9'000);
          if (IsTerminal(*next)) CHECK(stored->reply == "reply-new");
        }
      } else {
        CHECK(r.outcome ==
              (e == RecordEvent::kReserve ? ChangeOutcome::kExists : ChangeOutcome::kIllegal));
        CHECK(r.state_after == from);
        CHECK(stored.has_value() == (from != RecordState::kAbsent));
        if (stored) CHECK(stored->state == from);
      }
    }
  }
  CHECK(rows == static_cast<int>(std::size(kTransitionTable)));
}

TEST_CASE(
    "PostgresStore applies a batch in order: later changes see earlier ones and a key "
    "reserved twice in one batch is kExists the second time",
    "[postgres]") {
  auto store = OpenOrDie(Options(FreshSchemaDsn(SharedDsn()), "gw-a"));
  Drive(*store, "old-filled", RecordState::kFilled);
  const std::vector<Change> batch = {
      Change::Reserve("b", "fp-b"),
      Change::Reserve("a", "fp-a"),
      Change::Reserve("a", "fp-a2"),
      Change::Event(RecordEvent::kOutcomeFilled, "b", "filled-b"),
      Change::Event(RecordEvent::kOutcomeRejected, "b", "too-late"),
      Change::Reserve("c", "fp-c"),
      Change::Event(RecordEvent::kReleased, "c"),
      Change::Reserve("c", "fp-c2"),
      Change::Reserve("old-filled", "fp-x"),
      Change::Event(RecordEvent::kBridgeTimedOut, "never-reserved"),
  };
  std::vector<ChangeResult> r(batch.size());
  REQUIRE(store->Apply(batch, 7'000, absl::MakeSpan(r)).ok());
  CHECK(r[0].outcome == ChangeOutcome::kApplied);
  CHECK(r[1].outcome == ChangeOutcome::kApplied);
  CHECK(r[2].outcome == ChangeOutcome::kExists);
  CHECK(r[2].existing->fingerprint == "fp-a");
  CHECK(r[3].outcome == ChangeOutcome::kApplied);
  CHECK(r[3].state_after == RecordState::kFilled);
  CHECK(r[4].outcome == ChangeOutcome::kIllegal);
  CHECK(r[4].existing->reply == "filled-b");
  CHECK(r[5].outcome == ChangeOutcome::kApplied);
  CHECK(r[6].outcome == ChangeOutcome::kApplied);
  CHECK(r[6].state_after == RecordState::kAbsent);
  CHECK(r[7].outcome == ChangeOutcome::kApplied);
  CHECK(r[8].outcome == ChangeOutcome::kExists);
  CHECK(r[8].existing->state == RecordState::kFilled);
  CHECK(r[9].outcome == ChangeOutcome::kIllegal);
  CHECK_FALSE(r[9].existing.has_value());
  CHECK(store->Lookup("b").value()->reply == "filled-b");
  CHECK(store->Lookup("b").value()->state == RecordState::kFilled);
  CHECK(store->Lookup("c").value()->fingerprint == "fp-c2");
  CHECK(store->Lookup("a").value()->fingerprint == "fp-a");
  CHECK_FALSE(store->Lookup("never-reserved").value().has_value());
}

TEST_CASE("PostgresStore never moves a terminal record, whatever outcome or timeout arrives later",
          "[postgres]") {
  auto store = OpenOrDie(Options(FreshSchemaDsn(SharedDsn()), "gw-a"));
  Drive(*store, "f", RecordState::kFilled);
  Drive(*store, "r", RecordState::kRejected);
  for (const char* key : {"f", "r"}) {
    for (RecordEvent e :
         {RecordEvent::kOutcomeFilled, RecordEvent::kOutcomeRejected, RecordEvent::kBridgeTimedOut,
          RecordEvent::kRecovered, RecordEvent::kReleased}) {
      CHECK(ApplyOne(*store, Change::Event(e, key, "other")).outcome == ChangeOutcome::kIllegal);
    }
    std::optional<Record> rec = store->Lookup(key).value();
    REQUIRE(rec.has_value());
    CHECK(rec->reply == "r0");
  }
  CHECK(store->Lookup("f").value()->state == RecordState::kFilled);
  CHECK(store->Lookup("r").value()->state == RecordState::kRejected);
}

TEST_CASE("PostgresStore keeps its records across a reopen and lists the in-flight ones",
          "[postgres]") {
  const std::string dsn = FreshSchemaDsn(SharedDsn());
  {
    auto store = OpenOrDie(Options(dsn, "gw-a"));
    Drive(*store, "reserved", RecordState::kReserved);
    Drive(*store, "unknown", RecordState::kUnknown);
    Drive(*store, "filled", RecordState::kFilled);
  }
  auto store = OpenOrDie(Options(dsn, "gw-a"));
  CHECK(store->Lookup("filled").value()->reply == "r0");
  std::vector<Record> in_flight = store->ListInFlight().value();
  REQUIRE(in_flight.size() == 2);
  CHECK(in_flight[0].key == "reserved");
  CHECK(in_flight[0].state == RecordState::kReserved);
  CHECK(in_flight[1].key == "unknown");
  CHECK(in_flight[1].state == RecordState::kUnknown);
  StoreStats st = store->Stats();
  CHECK(st.in_flight == 2);
  CHECK(st.records >= 2);
}

TEST_CASE("PostgresStore refuses invalid batches and bad options without touching the database",
          "[postgres]") {
  auto store = OpenOrDie(Options(FreshSchemaDsn(SharedDsn()), "gw-a"));
  std::vector<Change> one = {Change::Reserve("", "fp")};
  std::vector<ChangeResult> r(1);
  CHECK(store->Apply(one, 1, absl::MakeSpan(r)).code() == absl::StatusCode::kInvalidArgument);
  std::vector<ChangeResult> none;
  one[0].key = "k";
  CHECK(store->Apply(one, 1, absl::MakeSpan(none)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(store->Lookup("").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK_FALSE(store->Lookup("k").value().has_value());
  PostgresStoreOptions bad = Options(SharedDsn(), "");
  CHECK(PostgresStore::Open(bad).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("RecoverGateway moves only that gateway's RESERVED records to UNKNOWN", "[postgres]") {
  const std::string dsn = FreshSchemaDsn(SharedDsn());
  auto a = OpenOrDie(Options(dsn, "gw-a"));
  auto b = OpenOrDie(Options(dsn, "gw-b"));
  Drive(*a, "a-1", RecordState::kReserved);
  Drive(*a, "a-2", RecordState::kReserved);
  Drive(*a, "a-filled", RecordState::kFilled);
  Drive(*b, "b-1", RecordState::kReserved);
  absl::StatusOr<LeaseGrant> lease = a->AcquireLease("gw-a", 1);
  REQUIRE(lease.ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // expired
  absl::StatusOr<uint64_t> moved = b->RecoverGateway("gw-a", lease->incarnation, 50'000);
  REQUIRE(moved.ok());
  CHECK(*moved == 2);
  CHECK(a->Lookup("a-1").value()->state == RecordState::kUnknown);
  CHECK(a->Lookup("a-2").value()->state == RecordState::kUnknown);
  CHECK(a->Lookup("a-filled").value()->state == RecordState::kFilled);
  CHECK(a->Lookup("b-1").value()->state == RecordState::kReserved);
  CHECK(a->OwnerOf("a-1").value() == "gw-a");  // the owner stays: a late reply is still its own
}

TEST_CASE(
    "RecoverGateway with the incarnation a sweep listed moves nothing once that gateway has "
    "restarted under a new incarnation",
    "[postgres]") {
  const std::string dsn = FreshSchemaDsn(SharedDsn());
  auto a = OpenOrDie(Options(dsn, "gw-a"));
  auto b = OpenOrDie(Options(dsn, "gw-b"));
  absl::StatusOr<LeaseGrant> first = a->AcquireLease("gw-a", 300);
  REQUIRE(first.ok());
  Drive(*a, "old-run", RecordState::kReserved);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));    // gw-a's lease expires
  std::vector<LeaseRow> listed = b->ListExpiredLeases().value();  // the sweep's listing
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].gateway_id == "gw-a");
  CHECK(listed[0].incarnation == first->incarnation);

  // gw-a restarts under the same id before the sweep acts: a new incarnation, a fresh reservation.
  absl::StatusOr<LeaseGrant> second = a->AcquireLease("gw-a", 60'000);
  REQUIRE(second.ok());
  CHECK(second->incarnation == first->incarnation + 1);
  absl::StatusOr<uint64_t> own = a->RecoverOwnPreviousRuns(second->incarnation, 40'000);
  REQUIRE(own.ok());
  CHECK(*own == 1);  // the previous run's order, at the new run's start
  Drive(*a, "new-run", RecordState::kReserved);

  absl::StatusOr<uint64_t> moved = b->RecoverGateway("gw-a", listed[0].incarnation, 50'000);
  REQUIRE(moved.ok());
  CHECK(*moved == 0);
  CHECK(a->Lookup("new-run").value()->state == RecordState::kReserved);  // the new run keeps it
  // Nor does the live new incarnation's number help: its lease has not expired.
  CHECK(b->RecoverGateway("gw-a", second->incarnation, 50'000).value() == 0);
  CHECK(a->Lookup("new-run").value()->state == RecordState::kReserved);
  // Its own recovery is fenced too: under an incarnation it no longer holds, nothing moves.
  CHECK(a->RecoverOwnPreviousRuns(first->incarnation, 50'000).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(a->Lookup("new-run").value()->state == RecordState::kReserved);

  // Once the new run's lease ends, its incarnation is the one to recover.
  REQUIRE(a->ReleaseLease("gw-a", second->incarnation).ok());
  CHECK(b->RecoverGateway("gw-a", second->incarnation, 60'000).value() == 1);
  CHECK(a->Lookup("new-run").value()->state == RecordState::kUnknown);
  CHECK(a->Lookup("old-run").value()->state == RecordState::kUnknown);
}

}  // namespace
}  // namespace ordergate::idempotency
