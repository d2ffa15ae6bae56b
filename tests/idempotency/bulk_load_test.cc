// BulkLoader: a directory it builds is a store RocksDbStore opens as its own.
#include "idempotency/bulk_load.h"

#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "test_util.h"

namespace ordergate::idempotency {
namespace {

using testing::LookupOrDie;
using testing::OpenOrDie;
using testing::SameRecord;
using testing::TempDir;

std::unique_ptr<BulkLoader> CreateOrDie(const BulkLoadOptions& o) {
  absl::StatusOr<std::unique_ptr<BulkLoader>> l = BulkLoader::Create(o);
  INFO("create " << o.path << ": " << l.status().ToString());
  REQUIRE(l.ok());
  return std::move(*l);
}

// Record i: keys ascend with i; every 7th RESERVED, every 11th UNKNOWN, every 5th REJECTED.
Record MakeRecord(int i) {
  char key[32];
  std::snprintf(key, sizeof(key), "strat-1-%012d", i * 2);
  Record r;
  r.key = key;
  r.fingerprint = std::string(32, static_cast<char>('a' + i % 26));
  r.created_unix_ms = 1'000'000 + i;
  r.updated_unix_ms = r.created_unix_ms + 60;
  if (i % 7 == 3) {
    r.state = RecordState::kReserved;
    r.updated_unix_ms = r.created_unix_ms;
  } else if (i % 11 == 4) {
    r.state = RecordState::kUnknown;
    r.reply = "{\"status\":\"UNKNOWN\"}";
  } else if (i % 5 == 1) {
    r.state = RecordState::kRejected;
    r.reply = "{\"status\":\"REJECTED\",\"n\":" + std::to_string(i) + "}";
  } else {
    r.state = RecordState::kFilled;
    r.reply = "{\"status\":\"FILLED\",\"ticket\":" + std::to_string(100000 + i) + "}";
  }
  return r;
}

TEST_CASE("bulk-loaded records are found by Lookup and RESERVED ones come back UNKNOWN on open",
          "[idempotency]") {
  TempDir dir;
  constexpr int kRecords = 2000;
  BulkLoadOptions o;
  o.path = dir.db();
  o.file_bytes = 16 << 10;  // many table files, as at scale
  std::vector<Record> loaded;
  int reserved = 0, unknown = 0;
  {
    std::unique_ptr<BulkLoader> loader = CreateOrDie(o);
    for (int i = 0; i < kRecords; ++i) {
      loaded.push_back(MakeRecord(i));
      reserved += loaded.back().state == RecordState::kReserved ? 1 : 0;
      unknown += loaded.back().state == RecordState::kUnknown ? 1 : 0;
      REQUIRE(loader->Add(loaded.back()).ok());
    }
    REQUIRE(loader->Finish().ok());
    CHECK(loader->records_added() == kRecords);
    CHECK(loader->in_flight_added() == static_cast<uint64_t>(reserved + unknown));
  }
  REQUIRE(reserved > 0);
  REQUIRE(unknown > 0);
  CHECK_FALSE(std::filesystem::exists(o.path + ".bulk-tmp"));

  std::unique_ptr<RocksDbStore> store = OpenOrDie(o.path);
  CHECK(store->recovered_count() == static_cast<uint64_t>(reserved));
  CHECK(store->Stats().in_flight == static_cast<uint64_t>(reserved + unknown));
  for (const Record& want : loaded) {
    std::optional<Record> got = LookupOrDie(*store, want.key);
    INFO(want.key);
    REQUIRE(got.has_value());
    if (want.state == RecordState::kReserved) {
      CHECK(got->state == RecordState::kUnknown);
      CHECK(got->fingerprint == want.fingerprint);
      CHECK(got->created_unix_ms == want.created_unix_ms);
    } else {
      CHECK(SameRecord(*got, want));
    }
  }
  // Keys between and beyond the loaded ones are absent.
  CHECK_FALSE(LookupOrDie(*store, "strat-1-000000000001").has_value());
  CHECK_FALSE(LookupOrDie(*store, "strat-2-000000000000").has_value());

  absl::StatusOr<std::vector<Record>> in_flight = store->ListInFlight();
  REQUIRE(in_flight.ok());
  CHECK(in_flight->size() == static_cast<size_t>(reserved + unknown));
  for (const Record& r : *in_flight) CHECK(r.state == RecordState::kUnknown);

  // The store judges loaded records like its own: a loaded key cannot be reserved again, and an
  // UNKNOWN one can still be resolved.
  const Record& filled = loaded[0];
  REQUIRE(filled.state == RecordState::kFilled);
  ChangeResult again = testing::ApplyOne(*store, Change::Reserve(filled.key, "other-fp"));
  CHECK(again.outcome == ChangeOutcome::kExists);
  REQUIRE(again.existing.has_value());
  CHECK(again.existing->reply == filled.reply);
  const Record& was_reserved = loaded[3];
  REQUIRE(was_reserved.state == RecordState::kReserved);
  ChangeResult resolved = testing::ApplyOne(
      *store, Change::Event(RecordEvent::kOutcomeFilled, was_reserved.key, "{\"late\":1}"));
  CHECK(resolved.outcome == ChangeOutcome::kApplied);
  CHECK(store->Stats().in_flight == static_cast<uint64_t>(reserved + unknown - 1));
}

TEST_CASE("bulk loader refuses keys out of order and keeps going with the ones in order",
          "[idempotency]") {
  TempDir dir;
  BulkLoadOptions o;
  o.path = dir.db();
  std::unique_ptr<BulkLoader> loader = CreateOrDie(o);
  REQUIRE(loader->Add(MakeRecord(10)).ok());
  CHECK(loader->Add(MakeRecord(10)).code() == absl::StatusCode::kInvalidArgument);
  CHECK(loader->Add(MakeRecord(9)).code() == absl::StatusCode::kInvalidArgument);
  Record absent = MakeRecord(20);
  absent.state = RecordState::kAbsent;
  CHECK(loader->Add(absent).code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(loader->Add(MakeRecord(11)).ok());
  REQUIRE(loader->Finish().ok());
  CHECK(loader->Finish().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(loader->Add(MakeRecord(12)).code() == absl::StatusCode::kFailedPrecondition);
  loader.reset();

  std::unique_ptr<RocksDbStore> store = OpenOrDie(o.path);
  CHECK(LookupOrDie(*store, MakeRecord(10).key).has_value());
  CHECK(LookupOrDie(*store, MakeRecord(11).key).has_value());
  CHECK_FALSE(LookupOrDie(*store, MakeRecord(9).key).has_value());
  CHECK_FALSE(LookupOrDie(*store, MakeRecord(20).key).has_value());
}

TEST_CASE("bulk loader never loads into a directory that already holds something",
          "[idempotency]") {
  TempDir dir;
  std::filesystem::create_directories(dir.db());
  std::ofstream(dir.db() + "/keep") << "x";
  BulkLoadOptions o;
  o.path = dir.db();
  absl::StatusOr<std::unique_ptr<BulkLoader>> l = BulkLoader::Create(o);
  CHECK(l.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::filesystem::exists(dir.db() + "/keep"));

  o.path = "";
  CHECK(BulkLoader::Create(o).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("a bulk loader dropped before Finish leaves an empty store and no staging files",
          "[idempotency]") {
  TempDir dir;
  BulkLoadOptions o;
  o.path = dir.db();
  {
    std::unique_ptr<BulkLoader> loader = CreateOrDie(o);
    REQUIRE(loader->Add(MakeRecord(1)).ok());
  }
  CHECK_FALSE(std::filesystem::exists(o.path + ".bulk-tmp"));
  std::unique_ptr<RocksDbStore> store = OpenOrDie(o.path);
  CHECK_FALSE(LookupOrDie(*store, MakeRecord(1).key).has_value());
  CHECK(store->recovered_count() == 0);
}

}  // namespace
}  // namespace ordergate::idempotency
