#include "idempotency/rocksdb_store.h"

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "rocksdb/db.h"
#include "test_util.h"

namespace ordergate::idempotency {
namespace {

using testing::ApplyAll;
using testing::ApplyOne;
using testing::EventName;
using testing::kAllEvents;
using testing::kAllStates;
using testing::LookupOrDie;
using testing::OpenOrDie;
using testing::Reach;
using testing::SameRecord;
using testing::Str;
using testing::TempDir;

// ---------------------------------------------------------------------------------------------
// The transition table, row by row.

TEST_CASE(
    "every row of the transition table moves a stored record to the row's target state, also after "
    "reopen",
    "[idempotency]") {
  for (const Transition& row : kTransitionTable) {
    DYNAMIC_SECTION(Str(StateName(row.from))
                    << " + " << EventName(row.event) << " -> " << Str(StateName(row.to))) {
      TempDir dir;
      {
        auto store = OpenOrDie(dir.db());
        Reach(*store, "key", row.from, 1'000);
        ChangeResult r = ApplyOne(*store, Change{row.event, "key", "fp", "reply-row"}, 2'000);
        CHECK(r.outcome == ChangeOutcome::kApplied);
        CHECK(r.state_after == row.to);
        std::optional<Record> rec = LookupOrDie(*store, "key");
        if (row.to == RecordState::kAbsent) {
          CHECK_FALSE(rec.has_value());
        } else {
          REQUIRE(rec.has_value());
          CHECK(rec->state == row.to);
          CHECK(rec->fingerprint == "fp");
          CHECK(rec->created_unix_ms == (row.from == RecordState::kAbsent ? 2'000 : 1'000));
          CHECK(rec->updated_unix_ms == 2'000);
        }
      }
      auto reopened = OpenOrDie(dir.db());
      std::optional<Record> rec = LookupOrDie(*reopened, "key");
      // A reopen is itself a kRecovered event for RESERVED.
      const RecordState expected_after_reopen =
          row.to == RecordState::kReserved ? RecordState::kUnknown : row.to;
      if (expected_after_reopen == RecordState::kAbsent) {
        CHECK_FALSE(rec.has_value());
      } else {
        REQUIRE(rec.has_value());
        CHECK(rec->state == expected_after_reopen);
      }
    }
  }
}

TEST_CASE("reserving an absent key stores a RESERVED record with its fingerprint and creation time",
          "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  ChangeResult r = ApplyOne(*store, Change::Reserve("k1", "fingerprint-1"), 1'234);
  CHECK(r.outcome == ChangeOutcome::kApplied);
  CHECK(r.state_after == RecordState::kReserved);
  CHECK_FALSE(r.existing.has_value());
  std::optional<Record> rec = LookupOrDie(*store, "k1");
  REQUIRE(rec.has_value());
  CHECK(rec->key == "k1");
  CHECK(rec->state == RecordState::kReserved);
  CHECK(rec->fingerprint == "fingerprint-1");
  CHECK(rec->reply.empty());
  CHECK(rec->created_unix_ms == 1'234);
  CHECK(rec->updated_unix_ms == 1'234);
  CHECK(store->Stats().in_flight == 1);
}

TEST_CASE(
    "a filled or rejected outcome on a RESERVED record stores the terminal state with its reply",
    "[idempotency]") {
  const RecordEvent event = GENERATE(RecordEvent::kOutcomeFilled, RecordEvent::kOutcomeRejected);
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    Reach(*store, "k", RecordState::kReserved, 100);
    ChangeResult r = ApplyOne(*store, Change::Event(event, "k", R"({"status":"x"})"), 200);
    CHECK(r.outcome == ChangeOutcome::kApplied);
    CHECK(store->Stats().in_flight == 0);
  }
  auto store = OpenOrDie(dir.db());
  CHECK(store->recovered_count() == 0);
  std::optional<Record> rec = LookupOrDie(*store, "k");
  REQUIRE(rec.has_value());
  CHECK(rec->state ==
        (event == RecordEvent::kOutcomeFilled ? RecordState::kFilled : RecordState::kRejected));
  CHECK(rec->reply == R"({"status":"x"})");
  CHECK(rec->fingerprint == "fp");
  CHECK(rec->created_unix_ms == 100);
  CHECK(rec->updated_unix_ms == 200);
  CHECK(store->Stats().in_flight == 0);
}

TEST_CASE(
    "a bridge timeout moves RESERVED to UNKNOWN, stores its optional reply and keeps it in flight",
    "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  Reach(*store, "k", RecordState::kReserved);
  CHECK(
      ApplyOne(*store, Change::Event(RecordEvent::kBridgeTimedOut, "k", "timeout-reply")).outcome ==
      ChangeOutcome::kApplied);
  std::optional<Record> rec = LookupOrDie(*store, "k");
  REQUIRE(rec.has_value());
  CHECK(rec->state == RecordState::kUnknown);
  CHECK(rec->reply == "timeout-reply");
  CHECK(store->Stats().in_flight == 1);
  absl::StatusOr<std::vector<Record>> listed = store->ListInFlight();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].state == RecordState::kUnknown);
}

TEST_CASE("a recovered event applied explicitly moves RESERVED to UNKNOWN", "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  Reach(*store, "k", RecordState::kReserved);
  ChangeResult r = ApplyOne(*store, Change::Event(RecordEvent::kRecovered, "k"));
  CHECK(r.outcome == ChangeOutcome::kApplied);
  CHECK(r.state_after == RecordState::kUnknown);
  CHECK(LookupOrDie(*store, "k")->state == RecordState::kUnknown);
  CHECK(store->Stats().in_flight == 1);
}

TEST_CASE(
    "releasing a RESERVED record removes it and its in-flight entry, and the key can be reserved "
    "again",
    "[idempotency]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    Reach(*store, "k", RecordState::kReserved);
    ChangeResult r = ApplyOne(*store, Change::Event(RecordEvent::kReleased, "k"));
    CHECK(r.outcome == ChangeOutcome::kApplied);
    CHECK(r.state_after == RecordState::kAbsent);
    CHECK_FALSE(LookupOrDie(*store, "k").has_value());
    CHECK(store->Stats().in_flight == 0);
    CHECK(store->ListInFlight()->empty());
  }
  auto store = OpenOrDie(dir.db());
  CHECK_FALSE(LookupOrDie(*store, "k").has_value());
  CHECK(store->recovered_count() == 0);
  CHECK(store->ListInFlight()->empty());
  CHECK(ApplyOne(*store, Change::Reserve("k", "fp2")).outcome == ChangeOutcome::kApplied);
  CHECK(LookupOrDie(*store, "k")->fingerprint == "fp2");
}

TEST_CASE("a late outcome moves UNKNOWN to FILLED or REJECTED and takes it out of flight",
          "[idempotency]") {
  const RecordEvent event = GENERATE(RecordEvent::kOutcomeFilled, RecordEvent::kOutcomeRejected);
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    Reach(*store, "k", RecordState::kUnknown);
    CHECK(store->Stats().in_flight == 1);
    CHECK(ApplyOne(*store, Change::Event(event, "k", "late-reply"), 9'000).outcome ==
          ChangeOutcome::kApplied);
    CHECK(store->Stats().in_flight == 0);
  }
  auto store = OpenOrDie(dir.db());
  std::optional<Record> rec = LookupOrDie(*store, "k");
  REQUIRE(rec.has_value());
  CHECK(rec->state ==
        (event == RecordEvent::kOutcomeFilled ? RecordState::kFilled : RecordState::kRejected));
  CHECK(rec->reply == "late-reply");
  CHECK(rec->updated_unix_ms == 9'000);
  CHECK(store->ListInFlight()->empty());
}

// ---------------------------------------------------------------------------------------------
// Everything outside the table.

TEST_CASE("every transition missing from the table is illegal and leaves the record untouched",
          "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  int n = 0;
  for (RecordState from : kAllStates) {
    for (RecordEvent e : kAllEvents) {
      if (NextState(from, e).has_value()) continue;
      if (e == RecordEvent::kReserve) continue;  // reserve on a record is kExists, tested below
      const std::string key = "illegal-" + std::to_string(n++);
      INFO(Str(StateName(from)) << " + " << EventName(e));
      Reach(*store, key, from);
      std::optional<Record> before = LookupOrDie(*store, key);
      const uint64_t in_flight_before = store->Stats().in_flight;
      ChangeResult r = ApplyOne(*store, Change{e, key, "other-fp", "other-reply"}, 50'000);
      CHECK(r.outcome == ChangeOutcome::kIllegal);
      CHECK(r.state_after == from);
      CHECK(r.existing.has_value() == before.has_value());
      if (before && r.existing) CHECK(SameRecord(*r.existing, *before));
      std::optional<Record> after = LookupOrDie(*store, key);
      REQUIRE(after.has_value() == before.has_value());
      if (before) CHECK(SameRecord(*after, *before));
      CHECK(store->Stats().in_flight == in_flight_before);
    }
  }
  // Every (state, event) pair minus the table's rows minus the 4 reserves of an existing record.
  CHECK(n == static_cast<int>(std::size(kAllStates) * std::size(kAllEvents) -
                              std::size(kTransitionTable) - 4));
}

TEST_CASE(
    "an illegal change in a batch writes nothing for that item but the rest of the batch applies",
    "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  Reach(*store, "done", RecordState::kFilled);
  std::vector<ChangeResult> r = ApplyAll(
      *store, {Change::Event(RecordEvent::kOutcomeRejected, "done", "x"),
               Change::Reserve("fresh", "fp"), Change::Event(RecordEvent::kReleased, "nobody")});
  CHECK(r[0].outcome == ChangeOutcome::kIllegal);
  CHECK(r[1].outcome == ChangeOutcome::kApplied);
  CHECK(r[2].outcome == ChangeOutcome::kIllegal);
  CHECK_FALSE(r[2].existing.has_value());
  CHECK(LookupOrDie(*store, "done")->state == RecordState::kFilled);
  CHECK(LookupOrDie(*store, "done")->reply == "reply-reach");
  CHECK(LookupOrDie(*store, "fresh")->state == RecordState::kReserved);
  CHECK_FALSE(LookupOrDie(*store, "nobody").has_value());
}

TEST_CASE("reserving an existing key returns kExists with the stored record and writes nothing",
          "[idempotency]") {
  const RecordState state = GENERATE(RecordState::kReserved, RecordState::kUnknown,
                                     RecordState::kFilled, RecordState::kRejected);
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  Reach(*store, "k", state, 1'000);
  std::optional<Record> before = LookupOrDie(*store, "k");
  REQUIRE(before.has_value());
  ChangeResult r = ApplyOne(*store, Change::Reserve("k", "a-different-fingerprint"), 7'000);
  CHECK(r.outcome == ChangeOutcome::kExists);
  CHECK(r.state_after == state);
  REQUIRE(r.existing.has_value());
  CHECK(SameRecord(*r.existing, *before));
  CHECK(r.existing->fingerprint == "fp");
  CHECK(r.existing->reply == (state == RecordState::kReserved ? "" : "reply-reach"));
  CHECK(SameRecord(*LookupOrDie(*store, "k"), *before));
}

TEST_CASE("two reserves of one key in one batch: the first applies, the second sees the first",
          "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  std::vector<ChangeResult> r =
      ApplyAll(*store, {Change::Reserve("k", "fp-a"), Change::Reserve("k", "fp-b")}, 3'000);
  CHECK(r[0].outcome == ChangeOutcome::kApplied);
  CHECK(r[1].outcome == ChangeOutcome::kExists);
  REQUIRE(r[1].existing.has_value());
  CHECK(r[1].existing->fingerprint == "fp-a");
  CHECK(r[1].existing->state == RecordState::kReserved);
  CHECK(r[1].existing->created_unix_ms == 3'000);
  CHECK(LookupOrDie(*store, "k")->fingerprint == "fp-a");
  CHECK(store->Stats().in_flight == 1);
}

TEST_CASE("later changes of a batch see earlier ones: reserve, time out and fill in one batch",
          "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  std::vector<ChangeResult> r = ApplyAll(
      *store,
      {Change::Reserve("k", "fp"), Change::Event(RecordEvent::kBridgeTimedOut, "k"),
       Change::Event(RecordEvent::kOutcomeFilled, "k", "filled"), Change::Reserve("r", "fp"),
       Change::Event(RecordEvent::kReleased, "r"), Change::Reserve("r", "fp-again")});
  for (const ChangeResult& x : r) CHECK(x.outcome == ChangeOutcome::kApplied);
  CHECK(r[1].state_after == RecordState::kUnknown);
  CHECK(r[2].state_after == RecordState::kFilled);
  CHECK(r[4].state_after == RecordState::kAbsent);
  CHECK(LookupOrDie(*store, "k")->state == RecordState::kFilled);
  CHECK(LookupOrDie(*store, "k")->reply == "filled");
  CHECK(LookupOrDie(*store, "r")->fingerprint == "fp-again");
  CHECK(store->Stats().in_flight == 1);
  absl::StatusOr<std::vector<Record>> listed = store->ListInFlight();
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK((*listed)[0].key == "r");
}

TEST_CASE(
    "a results span of the wrong size or an empty key is an invalid argument with no message and "
    "no write",
    "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  std::vector<Change> changes = {Change::Reserve("a", "fp")};
  std::vector<ChangeResult> two(2);
  absl::Status s = store->Apply(changes, 1, absl::MakeSpan(two));
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message().empty());

  changes.push_back(Change::Reserve("", "fp"));
  s = store->Apply(changes, 1, absl::MakeSpan(two));
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(s.message().empty());
  for (const ChangeResult& r : two) CHECK(r.outcome != ChangeOutcome::kApplied);
  CHECK_FALSE(LookupOrDie(*store, "a").has_value());
  CHECK(store->Lookup("").status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("an empty batch succeeds and writes nothing", "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  CHECK(store->Apply({}, 1, {}).ok());
  CHECK(store->Stats().in_flight == 0);
}

TEST_CASE("keys are opaque bytes: embedded NUL separates clients", "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  const std::string a("alice\0u1", 8);
  const std::string b("bob\0u1", 6);
  CHECK(ApplyOne(*store, Change::Reserve(a, "fp")).outcome == ChangeOutcome::kApplied);
  CHECK(ApplyOne(*store, Change::Reserve(b, "fp")).outcome == ChangeOutcome::kApplied);
  CHECK_FALSE(LookupOrDie(*store, "alice").has_value());
  CHECK(LookupOrDie(*store, a)->key == a);
}

TEST_CASE("concurrent Apply calls never both reserve the same key", "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  constexpr int kKeys = 200;
  constexpr int kThreads = 4;
  std::vector<std::vector<ChangeOutcome>> seen(kThreads, std::vector<ChangeOutcome>(kKeys));
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeys; ++i) {
        const std::string key = "k" + std::to_string(i);
        const Change c = Change::Reserve(key, "fp");
        ChangeResult r;
        if (store->Apply(absl::MakeConstSpan(&c, 1), 1, absl::MakeSpan(&r, 1)).ok())
          seen[t][i] = r.outcome;
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int i = 0; i < kKeys; ++i) {
    int applied = 0;
    for (int t = 0; t < kThreads; ++t) applied += seen[t][i] == ChangeOutcome::kApplied ? 1 : 0;
    CHECK(applied == 1);
  }
  CHECK(store->Stats().in_flight == kKeys);
}

// ---------------------------------------------------------------------------------------------
// Reopen and recovery.

TEST_CASE("reopening moves every RESERVED record to UNKNOWN durably and counts them",
          "[idempotency]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    CHECK(store->recovered_count() == 0);
    for (int i = 0; i < 5; ++i)
      Reach(*store, "res-" + std::to_string(i), RecordState::kReserved, 10);
    Reach(*store, "unk", RecordState::kUnknown, 10);
    Reach(*store, "fil", RecordState::kFilled, 10);
  }
  {
    auto store = OpenOrDie(dir.db());
    CHECK(store->recovered_count() == 5);
    for (int i = 0; i < 5; ++i) {
      std::optional<Record> rec = LookupOrDie(*store, "res-" + std::to_string(i));
      REQUIRE(rec.has_value());
      CHECK(rec->state == RecordState::kUnknown);
      CHECK(rec->fingerprint == "fp");
      CHECK(rec->created_unix_ms == 10);
      CHECK(rec->updated_unix_ms > 10);  // stamped with the wall clock of the recovery
    }
    CHECK(LookupOrDie(*store, "unk")->state == RecordState::kUnknown);
    CHECK(store->Stats().in_flight == 6);
  }
  auto store = OpenOrDie(dir.db());
  CHECK(store->recovered_count() == 0);  // already UNKNOWN: nothing left to recover
  CHECK(store->Stats().in_flight == 6);
}

TEST_CASE("FILLED and REJECTED records survive reopen with their reply and fingerprint",
          "[idempotency]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db(), Durability::kSync);
    ApplyAll(*store, {Change::Reserve("f", "fp-f"), Change::Reserve("r", "fp-r")}, 1);
    ApplyAll(*store,
             {Change::Event(RecordEvent::kOutcomeFilled, "f", R"({"status":"FILLED","ticket":7})"),
              Change::Event(RecordEvent::kOutcomeRejected, "r", R"({"status":"REJECTED"})")},
             2);
  }
  auto store = OpenOrDie(dir.db(), Durability::kSync);
  std::optional<Record> f = LookupOrDie(*store, "f");
  std::optional<Record> r = LookupOrDie(*store, "r");
  REQUIRE(f.has_value());
  REQUIRE(r.has_value());
  CHECK(f->state == RecordState::kFilled);
  CHECK(f->reply == R"({"status":"FILLED","ticket":7})");
  CHECK(f->fingerprint == "fp-f");
  CHECK(r->state == RecordState::kRejected);
  CHECK(r->reply == R"({"status":"REJECTED"})");
  CHECK(r->fingerprint == "fp-r");
  CHECK(store->recovered_count() == 0);
  CHECK(store->Stats().in_flight == 0);
}

TEST_CASE("ListInFlight lists exactly the RESERVED and UNKNOWN records, before and after reopen",
          "[idempotency]") {
  TempDir dir;
  const std::set<std::string> expected = {"res-1", "res-2", "unk-1"};
  auto keys_of = [](const std::vector<Record>& rs) {
    std::set<std::string> out;
    for (const Record& r : rs) out.insert(r.key);
    return out;
  };
  {
    auto store = OpenOrDie(dir.db());
    Reach(*store, "res-1", RecordState::kReserved);
    Reach(*store, "res-2", RecordState::kReserved);
    Reach(*store, "unk-1", RecordState::kUnknown);
    Reach(*store, "fil-1", RecordState::kFilled);
    Reach(*store, "rej-1", RecordState::kRejected);
    Reach(*store, "gone", RecordState::kReserved);
    ApplyOne(*store, Change::Event(RecordEvent::kReleased, "gone"));
    absl::StatusOr<std::vector<Record>> listed = store->ListInFlight();
    REQUIRE(listed.ok());
    CHECK(listed->size() == 3);
    CHECK(keys_of(*listed) == expected);
    CHECK(store->Stats().in_flight == 3);
  }
  auto store = OpenOrDie(dir.db());
  absl::StatusOr<std::vector<Record>> listed = store->ListInFlight();
  REQUIRE(listed.ok());
  CHECK(listed->size() == 3);
  CHECK(keys_of(*listed) == expected);
  for (const Record& r : *listed) CHECK(r.state == RecordState::kUnknown);
  CHECK(store->Stats().in_flight == 3);
  CHECK(store->Stats().records >= 3);
}

TEST_CASE("in-flight stats stay exact through reserves, outcomes, releases and reopen",
          "[idempotency]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    std::vector<Change> reserves;
    std::vector<std::string> keys;
    for (int i = 0; i < 100; ++i) keys.push_back("k" + std::to_string(i));
    for (const std::string& k : keys) reserves.push_back(Change::Reserve(k, "fp"));
    ApplyAll(*store, reserves);
    CHECK(store->Stats().in_flight == 100);
    std::vector<Change> moves;
    for (int i = 0; i < 30; ++i)
      moves.push_back(Change::Event(RecordEvent::kOutcomeFilled, keys[i], "r"));
    for (int i = 30; i < 50; ++i) moves.push_back(Change::Event(RecordEvent::kReleased, keys[i]));
    for (int i = 50; i < 70; ++i)
      moves.push_back(Change::Event(RecordEvent::kBridgeTimedOut, keys[i]));
    moves.push_back(
        Change::Event(RecordEvent::kOutcomeFilled, keys[0], "again"));  // illegal: no effect
    moves.push_back(Change::Reserve(keys[99], "fp"));                   // exists: no effect
    ApplyAll(*store, moves);
    CHECK(store->Stats().in_flight == 50);
  }
  auto store = OpenOrDie(dir.db());
  CHECK(store->recovered_count() == 30);
  CHECK(store->Stats().in_flight == 50);
  CHECK(store->ListInFlight()->size() == 50);
}

TEST_CASE("a store written with another format version refuses to open with FailedPrecondition",
          "[idempotency]") {
  TempDir dir;
  { OpenOrDie(dir.db()); }
  {
    rocksdb::DBOptions o;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"records", {}}, {"inflight", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir.db(), cfs, &handles, &db).ok());
    REQUIRE(db->Put(rocksdb::WriteOptions(), "format_version", "999").ok());
    for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
    REQUIRE(db->Close().ok());
    delete db;
  }
  absl::StatusOr<std::unique_ptr<RocksDbStore>> s =
      RocksDbStore::Open(testing::TestOptions(dir.db()));
  CHECK(s.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_FALSE(s.status().message().empty());
}

// The store's directory opened with plain RocksDB, to look at (or damage) what it wrote.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"records", {}}, {"inflight", {}}};
    REQUIRE(rocksdb::DB::Open(rocksdb::DBOptions(), path, cfs, &handles_, &db_).ok());
  }
  ~RawDb() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
    delete db_;
  }
  RawDb(const RawDb&) = delete;
  RawDb& operator=(const RawDb&) = delete;
  bool Has(const char* family, const std::string& key) {
    std::string value;
    return db_->Get(rocksdb::ReadOptions(), Family(family), key, &value).ok();
  }
  std::string Value(const char* family, const std::string& key) {
    std::string value;
    REQUIRE(db_->Get(rocksdb::ReadOptions(), Family(family), key, &value).ok());
    return value;
  }
  void Put(const char* family, const std::string& key, const std::string& value) {
    REQUIRE(db_->Put(rocksdb::WriteOptions(), Family(family), key, value).ok());
  }

 private:
  rocksdb::ColumnFamilyHandle* Family(const char* name) {
    const std::string n(name);
    return n == "default" ? handles_[0] : n == "records" ? handles_[1] : handles_[2];
  }
  rocksdb::DB* db_ = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

TEST_CASE(
    "an in-flight record lives in the inflight family only and moves to records in its outcome's "
    "batch",
    "[idempotency]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    ApplyAll(*store, {Change::Reserve("reserved", "fp"), Change::Reserve("unknown", "fp"),
                      Change::Reserve("filled", "fp"), Change::Reserve("released", "fp")});
    ApplyAll(*store, {Change::Event(RecordEvent::kBridgeTimedOut, "unknown", "u"),
                      Change::Event(RecordEvent::kOutcomeFilled, "filled", "f"),
                      Change::Event(RecordEvent::kReleased, "released")});
  }
  {
    RawDb raw(dir.db());
    for (const char* key : {"reserved", "unknown"}) {
      INFO(key);
      CHECK(raw.Has("inflight", key));
      CHECK_FALSE(raw.Has("records", key));
    }
    CHECK(raw.Has("records", "filled"));
    CHECK_FALSE(raw.Has("inflight", "filled"));
    CHECK_FALSE(raw.Has("records", "released"));
    CHECK_FALSE(raw.Has("inflight", "released"));
  }
  // The reopen recovered "reserved" to UNKNOWN, in place.
  auto store = OpenOrDie(dir.db());
  CHECK(store->recovered_count() == 1);
  CHECK(LookupOrDie(*store, "reserved")->state == RecordState::kUnknown);
  CHECK(LookupOrDie(*store, "unknown")->reply == "u");
  CHECK(LookupOrDie(*store, "filled")->state == RecordState::kFilled);
}

TEST_CASE(
    "a format-1 store opens migrated: its in-flight records move to the inflight family and are "
    "recovered, terminal ones stay",
    "[idempotency]") {
  TempDir dir;
  { OpenOrDie(dir.db()); }  // the column families
  auto record = [](const char* key, RecordState state, const char* reply) {
    Record r;
    r.key = key;
    r.state = state;
    r.fingerprint = "fp";
    r.reply = reply;
    r.created_unix_ms = r.updated_unix_ms = 1'000;
    return r;
  };
  {
    // Format 1: every record in "records", the in-flight keys (empty values) in "inflight".
    RawDb raw(dir.db());
    raw.Put("default", "format_version", "1");
    raw.Put("records", "reserved",
            EncodeRecordValue(record("reserved", RecordState::kReserved, "")));
    raw.Put("records", "unknown", EncodeRecordValue(record("unknown", RecordState::kUnknown, "u")));
    raw.Put("records", "filled", EncodeRecordValue(record("filled", RecordState::kFilled, "f")));
    raw.Put("inflight", "reserved", "");
    raw.Put("inflight", "unknown", "");
    raw.Put("inflight", "orphan", "");  // an index entry without its record
  }
  {
    auto store = OpenOrDie(dir.db());
    CHECK(store->recovered_count() == 1);
    CHECK(store->Stats().in_flight == 2);
    CHECK(LookupOrDie(*store, "reserved")->state == RecordState::kUnknown);
    CHECK(LookupOrDie(*store, "unknown")->reply == "u");
    CHECK(LookupOrDie(*store, "filled")->reply == "f");
    CHECK_FALSE(LookupOrDie(*store, "orphan").has_value());
    ApplyAll(*store, {Change::Event(RecordEvent::kOutcomeFilled, "unknown", "late")});
  }
  RawDb raw(dir.db());
  CHECK(raw.Value("default", "format_version") == "2");
  CHECK(raw.Has("inflight", "reserved"));
  CHECK_FALSE(raw.Has("records", "reserved"));
  CHECK(raw.Has("records", "unknown"));
  CHECK_FALSE(raw.Has("inflight", "unknown"));
  CHECK_FALSE(raw.Has("inflight", "orphan"));
}

TEST_CASE("a terminal record found in the inflight family refuses to open with DataLoss",
          "[idempotency]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    ApplyAll(*store, {Change::Reserve("k", "fp")});
    ApplyAll(*store, {Change::Event(RecordEvent::kOutcomeFilled, "k", "f")});
  }
  {
    RawDb raw(dir.db());
    raw.Put("inflight", "k", raw.Value("records", "k"));
  }
  absl::StatusOr<std::unique_ptr<RocksDbStore>> s =
      RocksDbStore::Open(testing::TestOptions(dir.db()));
  CHECK(s.status().code() == absl::StatusCode::kDataLoss);
  CHECK_THAT(std::string(s.status().message()), Catch::Contains("in-flight family"));
}

TEST_CASE("a directory that cannot be opened is reported as unavailable with a message",
          "[idempotency]") {
  TempDir dir;
  const std::string file = (dir.path() / "not-a-dir").string();
  { std::ofstream(file) << "x"; }
  absl::StatusOr<std::unique_ptr<RocksDbStore>> s =
      RocksDbStore::Open(testing::TestOptions(file + "/db"));
  CHECK(s.status().code() == absl::StatusCode::kUnavailable);
  CHECK_FALSE(s.status().message().empty());
}

TEST_CASE("a second store on the same directory is refused while the first is open",
          "[idempotency]") {
  TempDir dir;
  auto first = OpenOrDie(dir.db());
  absl::StatusOr<std::unique_ptr<RocksDbStore>> second =
      RocksDbStore::Open(testing::TestOptions(dir.db()));
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
}

// ---------------------------------------------------------------------------------------------
// Retention and durability.

TEST_CASE(
    "compaction drops terminal records older than the retention and keeps old RESERVED and UNKNOWN "
    "ones",
    "[idempotency]") {
  TempDir dir;
  RocksDbStoreOptions o = testing::TestOptions(dir.db());
  o.retention = absl::Seconds(1);
  auto store = OpenOrDie(o);
  const int64_t long_ago = 1'000'000;  // 1970: far older than any retention
  const int64_t now = absl::ToUnixMillis(absl::Now());
  Reach(*store, "old-filled", RecordState::kFilled, long_ago);
  Reach(*store, "old-rejected", RecordState::kRejected, long_ago);
  Reach(*store, "old-reserved", RecordState::kReserved, long_ago);
  Reach(*store, "old-unknown", RecordState::kUnknown, long_ago);
  Reach(*store, "fresh-filled", RecordState::kFilled,
        now + 60'000);  // well inside 1 s even on a slow run
  REQUIRE(store->CompactForTest().ok());
  CHECK_FALSE(LookupOrDie(*store, "old-filled").has_value());
  CHECK_FALSE(LookupOrDie(*store, "old-rejected").has_value());
  CHECK(LookupOrDie(*store, "old-reserved")->state == RecordState::kReserved);
  CHECK(LookupOrDie(*store, "old-unknown")->state == RecordState::kUnknown);
  CHECK(LookupOrDie(*store, "fresh-filled")->state == RecordState::kFilled);
  CHECK(store->Stats().in_flight == 2);
  // A reserve of an expired key starts over, as the protocol says after retention.
  CHECK(ApplyOne(*store, Change::Reserve("old-filled", "fp")).outcome == ChangeOutcome::kApplied);
}

TEST_CASE("with the default retention, compaction keeps terminal records of recent activity",
          "[idempotency]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  const int64_t now = absl::ToUnixMillis(absl::Now());
  Reach(*store, "day-old", RecordState::kFilled, now - 24 * 3600 * 1000);
  Reach(*store, "month-old", RecordState::kRejected, now - 30LL * 24 * 3600 * 1000);
  REQUIRE(store->CompactForTest().ok());
  CHECK(LookupOrDie(*store, "day-old").has_value());
  CHECK_FALSE(LookupOrDie(*store, "month-old").has_value());
}

TEST_CASE("both durability levels store records that a reopen finds", "[idempotency]") {
  const Durability d = GENERATE(Durability::kAsync, Durability::kSync);
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db(), d);
    std::vector<std::string> keys;
    for (int i = 0; i < 50; ++i) keys.push_back("k" + std::to_string(i));
    for (const std::string& k : keys) {
      REQUIRE(ApplyOne(*store, Change::Reserve(k, "fp")).outcome == ChangeOutcome::kApplied);
      REQUIRE(
          ApplyOne(*store, Change::Event(RecordEvent::kOutcomeFilled, k, "reply-" + k)).outcome ==
          ChangeOutcome::kApplied);
    }
  }
  auto store = OpenOrDie(dir.db(), d);
  for (int i = 0; i < 50; ++i) {
    const std::string k = "k" + std::to_string(i);
    std::optional<Record> rec = LookupOrDie(*store, k);
    REQUIRE(rec.has_value());
    CHECK(rec->state == RecordState::kFilled);
    CHECK(rec->reply == "reply-" + k);
  }
}

}  // namespace
}  // namespace ordergate::idempotency
