// A damaged store directory fails closed: RocksDbStore::Open() refuses it with kDataLoss and a
// message naming the damage, instead of opening what is left (issue 9, finding 1). And what is
// not damage opens as before: a new store, a cleanly closed one, a torn tail of a write that was
// never acknowledged, a store written before the durable mark existed.
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "idempotency/durable_mark.h"
#include "idempotency/rocksdb_store.h"
#include "rocksdb/db.h"
#include "test_util.h"

namespace ordergate::idempotency {
namespace {

namespace fs = std::filesystem;
using testing::ApplyAll;
using testing::Contents;
using testing::LookupOrDie;
using testing::OpenOrDie;
using testing::TempDir;

constexpr int kOrders = 300;

std::string KeyOf(int i) { return "client\0order-" + std::to_string(i); }

// kOrders orders reserved and FILLED, one batch per event (as the gateway writes them), then a
// clean close.
void FillAndClose(const std::string& db, Durability d = Durability::kAsync) {
  auto store = OpenOrDie(testing::TestOptions(db, d));
  for (int i = 0; i < kOrders; ++i) {
    const std::string key = KeyOf(i);
    ApplyAll(*store, {Change::Reserve(key, "fingerprint-of-the-order")});
    ApplyAll(*store, {Change::Event(RecordEvent::kOutcomeFilled, key,
                                    R"({"status":"FILLED","ticket":)" + std::to_string(i) + "}")});
  }
}

// The newest file of `dir` whose name ends in `suffix` (RocksDB numbers them, zero-padded).
std::string Newest(const std::string& dir, const std::string& suffix,
                   const std::string& prefix = "") {
  std::string best;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() &&
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0 &&
        name.rfind(prefix, 0) == 0 && name > best) {
      best = name;
    }
  }
  INFO("no " << prefix << "*" << suffix << " in " << dir);
  REQUIRE_FALSE(best.empty());
  return dir + "/" + best;
}
std::string NewestWal(const std::string& db) { return Newest(db, ".log"); }
std::string Manifest(const std::string& db) { return Newest(db, "", "MANIFEST-"); }

void TruncateToHalf(const std::string& file) {
  const auto size = fs::file_size(file);
  REQUIRE(size > 0);
  fs::resize_file(file, size / 2);
}

// Overwrites `n` bytes at `offset` with bytes of `fill`, or with their complement when `flip`.
void Overwrite(const std::string& file, uintmax_t offset, size_t n, bool flip, char fill = 0) {
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  REQUIRE(f);
  std::string bytes(n, '\0');
  f.seekg(static_cast<std::streamoff>(offset));
  f.read(bytes.data(), static_cast<std::streamsize>(n));
  REQUIRE(f.gcount() == static_cast<std::streamsize>(n));
  for (char& c : bytes) c = flip ? static_cast<char>(~c) : fill;
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(bytes.data(), static_cast<std::streamsize>(n));
  REQUIRE(f);
}

// Open() must refuse with kDataLoss and a message containing every one of `words`; twice, since
// a refused open must not make the next one succeed.
void RequireRefused(const std::string& db, const std::vector<std::string>& words) {
  for (int attempt = 1; attempt <= 2; ++attempt) {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> s = RocksDbStore::Open(testing::TestOptions(db));
    INFO("attempt " << attempt << ": " << s.status().ToString());
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == absl::StatusCode::kDataLoss);
    for (const std::string& w : words) CHECK(s.status().message().find(w) != std::string::npos);
    CHECK(s.status().message().find("docs/STORE_RECOVERY.md") != std::string::npos);
    WARN("refused as expected: " << s.status().message());
  }
}

void RequireEveryOrderFilled(RocksDbStore& store) {
  for (int i = 0; i < kOrders; ++i) {
    std::optional<Record> r = LookupOrDie(store, KeyOf(i));
    INFO("order " << i);
    REQUIRE(r.has_value());
    CHECK(r->state == RecordState::kFilled);
  }
}

std::optional<uint64_t> MarkOf(const std::string& db) {
  absl::StatusOr<std::optional<uint64_t>> m = internal::ReadDurableMark(db);
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  return *m;
}

TEST_CASE("a cleanly closed store whose newest WAL was truncated to half refuses to open",
          "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  TruncateToHalf(NewestWal(dir.db()));
  RequireRefused(dir.db(), {"records were lost", "WAL"});
}

TEST_CASE(
    "a store refused for lost records is left exactly as it was found: the refusal comes from a "
    "read-only recovery and only the info log grows",
    "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  const std::string wal = NewestWal(dir.db());
  TruncateToHalf(wal);
  const std::map<std::string, std::string> before = Contents(dir.db());
  // Before the fix the read-write recovery ran first: the WAL's first half was flushed into a new
  // table file, a new MANIFEST written and the truncated WAL deleted, all before the refusal.
  RequireRefused(dir.db(), {"records were lost"});
  CHECK(Contents(dir.db()) == before);
}

TEST_CASE(
    "the operator's override: removing the durable mark of a refused store opens what was "
    "recovered and guards it from then on",
    "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  TruncateToHalf(NewestWal(dir.db()));
  RequireRefused(dir.db(), {"records were lost"});
  fs::remove(dir.db() + "/" + internal::kDurableMarkFile);
  {
    auto store = OpenOrDie(dir.db());
    CHECK(LookupOrDie(*store, KeyOf(0)).has_value());                  // the WAL's first half
    CHECK_FALSE(LookupOrDie(*store, KeyOf(kOrders - 1)).has_value());  // lost, now accepted
  }
  REQUIRE(MarkOf(dir.db()).has_value());
  fs::remove(NewestWal(dir.db()));
  RequireRefused(dir.db(), {"records were lost"});
}

TEST_CASE("a cleanly closed store with 16 bytes flipped a third into its WAL refuses to open",
          "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  const std::string wal = NewestWal(dir.db());
  Overwrite(wal, fs::file_size(wal) / 3, 16, /*flip=*/true);
  RequireRefused(dir.db(), {"WAL"});
}

TEST_CASE("a cleanly closed store with 4 KiB of its WAL zeroed refuses to open",
          "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  const std::string wal = NewestWal(dir.db());
  REQUIRE(fs::file_size(wal) > 3 * 4096);
  Overwrite(wal, fs::file_size(wal) / 3, 4096, /*flip=*/false);
  RequireRefused(dir.db(), {"WAL"});
}

TEST_CASE("a cleanly closed store whose WAL was deleted refuses to open", "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  fs::remove(NewestWal(dir.db()));
  RequireRefused(dir.db(), {"records were lost", "WAL"});
}

TEST_CASE(
    "a store whose MANIFEST was truncated to half refuses to open instead of recreating its "
    "record families empty",
    "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  TruncateToHalf(Manifest(dir.db()));
  RequireRefused(dir.db(), {"MANIFEST"});
  // Nothing was created in their place: the MANIFEST still lacks them.
  std::vector<std::string> families;
  if (rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir.db(), &families).ok()) {
    CHECK(std::find(families.begin(), families.end(), "records") == families.end());
  }
}

TEST_CASE("a store whose CURRENT file was deleted refuses to open naming CURRENT",
          "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  fs::remove(dir.db() + "/CURRENT");
  RequireRefused(dir.db(), {"CURRENT"});
  CHECK_FALSE(fs::exists(dir.db() + "/CURRENT"));  // no new, empty store was made in its place
}

TEST_CASE("a store whose durable mark file is damaged refuses to open naming the mark",
          "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  const std::string mark = dir.db() + "/" + internal::kDurableMarkFile;
  Overwrite(mark, fs::file_size(mark) / 2, 1, /*flip=*/false, '7');
  RequireRefused(dir.db(), {internal::kDurableMarkFile, "damaged"});
}

TEST_CASE(
    "a sync store's mark follows acknowledged writes without a clean close, so a WAL lost after "
    "a crash refuses to open",
    "[idempotency][damage]") {
  TempDir dir;
  const std::string image = (dir.path() / "crash-image").string();
  {
    auto store = OpenOrDie(dir.db(), Durability::kSync);
    const uint64_t at_open = MarkOf(dir.db()).value_or(0);
    for (int i = 0; i < 50; ++i) ApplyAll(*store, {Change::Reserve(KeyOf(i), "fp")});
    // The background writer moves the mark within ~100 ms; bounded wait.
    uint64_t mark = at_open;
    for (int i = 0; i < 100 && mark < at_open + 50; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      mark = MarkOf(dir.db()).value_or(0);
    }
    CHECK(mark >= at_open + 50);
    // What a power cut leaves now (the store is still open: no closing write, no final mark).
    fs::copy(dir.db(), image, fs::copy_options::recursive);
  }
  fs::remove(image + "/LOCK");
  {
    // The crash image itself recovers: every acknowledged reservation is there, now UNKNOWN.
    TempDir copy;
    fs::copy(image, copy.db(), fs::copy_options::recursive);
    auto store = OpenOrDie(copy.db());
    CHECK(store->recovered_count() == 50);
  }
  fs::remove(NewestWal(image));
  RequireRefused(image, {"records were lost"});
}

TEST_CASE(
    "a torn tail of a write that was never acknowledged, beyond the durable mark, opens and "
    "keeps every record",
    "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db(), Durability::kSync);
  const uint64_t mark = MarkOf(dir.db()).value();
  {
    // A write in progress when the machine died: in the WAL, never acknowledged, so the mark does
    // not cover it (plain RocksDB writes it, as the store would have before its mark moved).
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, {}}, {"records", {}}, {"inflight", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    rocksdb::DBOptions o;
    o.avoid_flush_during_shutdown = true;
    REQUIRE(rocksdb::DB::Open(o, dir.db(), cfs, &handles, &db).ok());
    rocksdb::WriteOptions synced;
    synced.sync = true;
    REQUIRE(db->Put(synced, handles[2], "torn", std::string(3000, 'x')).ok());
    for (auto* h : handles) REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
    REQUIRE(db->Close().ok());
    delete db;
  }
  const std::string wal = NewestWal(dir.db());
  REQUIRE(fs::file_size(wal) > 3000);
  fs::resize_file(wal, fs::file_size(wal) - 1500);  // the record cut in the middle
  auto store = OpenOrDie(dir.db());
  RequireEveryOrderFilled(*store);
  CHECK_FALSE(LookupOrDie(*store, "torn").has_value());
  CHECK(MarkOf(dir.db()).value() >= mark);
}

TEST_CASE("a new store and a cleanly closed store open, and the mark covers every write",
          "[idempotency][damage]") {
  const Durability d = GENERATE(Durability::kAsync, Durability::kSync);
  TempDir dir;
  { auto fresh = OpenOrDie(testing::TestOptions(dir.db(), d)); }
  REQUIRE(MarkOf(dir.db()).has_value());
  FillAndClose(dir.db(), d);
  const uint64_t mark = MarkOf(dir.db()).value();
  for (int reopen = 0; reopen < 2; ++reopen) {
    auto store = OpenOrDie(testing::TestOptions(dir.db(), d));
    RequireEveryOrderFilled(*store);
  }
  CHECK(MarkOf(dir.db()).value() >= mark);
}

TEST_CASE(
    "a store written before the durable mark existed opens, keeps its records and gets a mark, "
    "noted in its LOG",
    "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  fs::remove(dir.db() + "/" + internal::kDurableMarkFile);
  {
    auto store = OpenOrDie(dir.db());
    RequireEveryOrderFilled(*store);
  }
  REQUIRE(MarkOf(dir.db()).has_value());
  std::ifstream log(dir.db() + "/LOG");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(text.find("had no durable mark") != std::string::npos);
  // And from now on its WAL is guarded like any other.
  fs::remove(NewestWal(dir.db()));
  RequireRefused(dir.db(), {"records were lost"});
}

}  // namespace
}  // namespace ordergate::idempotency
