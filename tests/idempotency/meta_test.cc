// Store metadata (Store::WriteMeta / ListMeta) in RocksDbStore's optional "meta" family.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "idempotency/durable_mark.h"
#include "idempotency/rocksdb_store.h"
#include "rocksdb/db.h"
#include "test_util.h"

namespace ordergate::idempotency {
namespace {

using testing::ApplyOne;
using testing::LookupOrDie;
using testing::OpenOrDie;
using testing::TempDir;

std::vector<std::string> Families(const std::string& path) {
  std::vector<std::string> families;
  REQUIRE(rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), path, &families).ok());
  std::sort(families.begin(), families.end());
  return families;
}

std::vector<MetaEntry> ListOrDie(Store& store, absl::string_view prefix) {
  absl::StatusOr<std::vector<MetaEntry>> listed = store.ListMeta(prefix);
  INFO(listed.status().ToString());
  REQUIRE(listed.ok());
  return *listed;
}

TEST_CASE("metadata written to the store lists back by prefix in key order, also after reopen",
          "[idempotency][meta]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    REQUIRE(store
                ->WriteMeta({MetaWrite::Put("minute/002", "b"), MetaWrite::Put("minute/001", "a"),
                             MetaWrite::Put("other/1", "x")})
                .ok());
    REQUIRE(store
                ->WriteMeta({MetaWrite::Put("minute/003", "c"), MetaWrite::Erase("minute/002"),
                             MetaWrite::Put("minute/001", "a2")})
                .ok());
    CHECK(ListOrDie(*store, "minute/") ==
          std::vector<MetaEntry>{{"minute/001", "a2"}, {"minute/003", "c"}});
  }
  auto reopened = OpenOrDie(dir.db());
  CHECK(ListOrDie(*reopened, "minute/") ==
        std::vector<MetaEntry>{{"minute/001", "a2"}, {"minute/003", "c"}});
  CHECK(ListOrDie(*reopened, "") ==
        std::vector<MetaEntry>{{"minute/001", "a2"}, {"minute/003", "c"}, {"other/1", "x"}});
  CHECK(ListOrDie(*reopened, "nothing/").empty());
}

TEST_CASE(
    "a store that never held metadata keeps exactly its record families and lists no metadata",
    "[idempotency][meta]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());
    ApplyOne(*store, Change::Reserve("k", "fp"), 1'000);
    CHECK(ListOrDie(*store, "").empty());
  }
  CHECK(Families(dir.db()) == std::vector<std::string>{"default", "inflight", "records"});
}

TEST_CASE(
    "a store without the meta family opens unchanged and gets the family at its first metadata "
    "write, records intact",
    "[idempotency][meta]") {
  TempDir dir;
  {
    auto store = OpenOrDie(dir.db());  // as every store written before metadata existed
    ApplyOne(*store, Change::Reserve("k", "fp"), 1'000);
    ApplyOne(*store, Change::Event(RecordEvent::kOutcomeFilled, "k", "reply"), 2'000);
  }
  REQUIRE(Families(dir.db()) == std::vector<std::string>{"default", "inflight", "records"});
  {
    auto store = OpenOrDie(dir.db());
    CHECK(ListOrDie(*store, "").empty());
    REQUIRE(store->WriteMeta({MetaWrite::Put("minute/1", "v")}).ok());
  }
  CHECK(Families(dir.db()) == std::vector<std::string>{"default", "inflight", "meta", "records"});
  auto reopened = OpenOrDie(dir.db());
  CHECK(ListOrDie(*reopened, "") == std::vector<MetaEntry>{{"minute/1", "v"}});
  std::optional<Record> rec = LookupOrDie(*reopened, "k");
  REQUIRE(rec.has_value());
  CHECK(rec->state == RecordState::kFilled);
  CHECK(rec->reply == "reply");
}

TEST_CASE("a metadata write never moves the durable mark's sequence", "[idempotency][meta]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db(), Durability::kSync);
  ApplyOne(*store, Change::Reserve("k", "fp"), 1'000);
  // The background writer moves the mark within ~100 ms (plus two fsyncs) of a published sequence.
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto marked = internal::ReadDurableMark(dir.db());
  REQUIRE(marked.ok());
  REQUIRE(marked->has_value());
  const uint64_t before = (*marked)->sequence;
  for (int i = 0; i < 20; ++i) {
    REQUIRE(store->WriteMeta({MetaWrite::Put("minute/" + std::to_string(i), "v")}).ok());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  // The first WriteMeta() creates the "meta" family, a MANIFEST edit: the mark's MANIFEST part
  // follows it, its sequence does not.
  auto after = internal::ReadDurableMark(dir.db());
  REQUIRE(after.ok());
  REQUIRE(after->has_value());
  CHECK((*after)->sequence == before);
}

TEST_CASE("a metadata write with an empty key writes nothing and answers InvalidArgument",
          "[idempotency][meta]") {
  TempDir dir;
  auto store = OpenOrDie(dir.db());
  const absl::Status s = store->WriteMeta({MetaWrite::Put("a", "1"), MetaWrite::Put("", "2")});
  CHECK(s.code() == absl::StatusCode::kInvalidArgument);
  CHECK(ListOrDie(*store, "").empty());
  CHECK(store->WriteMeta({}).ok());
}

TEST_CASE("a store without metadata support answers Unimplemented to both metadata calls",
          "[idempotency][meta]") {
  // The interface's defaults, as a Store that keeps only records (a test double) gets them.
  class RecordsOnly final : public Store {
   public:
    absl::Status Apply(absl::Span<const Change>, int64_t, absl::Span<ChangeResult>) override {
      return absl::OkStatus();
    }
    absl::StatusOr<std::optional<Record>> Lookup(absl::string_view) override {
      return std::optional<Record>();
    }
    absl::StatusOr<std::vector<Record>> ListInFlight() override { return std::vector<Record>(); }
    StoreStats Stats() override { return {}; }
  } store;
  CHECK(store.WriteMeta({MetaWrite::Put("a", "1")}).code() == absl::StatusCode::kUnimplemented);
  CHECK(store.ListMeta("").status().code() == absl::StatusCode::kUnimplemented);
}

}  // namespace
}  // namespace ordergate::idempotency
