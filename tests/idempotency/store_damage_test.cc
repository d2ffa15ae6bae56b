// A damaged store directory fails closed: RocksDbStore::Open() refuses it with kDataLoss and a
// message naming the damage, instead of opening what is left (issue 9, finding 1). And what is
// not damage opens as before: a new store, a cleanly closed one, a torn tail of a write that was
// never acknowledged, a store written before the durable mark existed.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstdint>
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

// Now, so that a compaction (after a few flushes) never expires a test's records for retention.
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Orders KeyOf(first) .. KeyOf(first + count - 1), reserved and FILLED, one batch per event (as
// the gateway writes them).
void FillOrders(RocksDbStore& store, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    const std::string key = KeyOf(i);
    ApplyAll(store, {Change::Reserve(key, "fingerprint-of-the-order")}, NowMs());
    ApplyAll(store,
             {Change::Event(RecordEvent::kOutcomeFilled, key,
                            R"({"status":"FILLED","ticket":)" + std::to_string(i) + "}")},
             NowMs());
  }
}

// kOrders orders reserved and FILLED, then a clean close.
void FillAndClose(const std::string& db, Durability d = Durability::kAsync) {
  auto store = OpenOrDie(testing::TestOptions(db, d));
  FillOrders(*store, 0, kOrders);
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

std::optional<internal::DurableMark> WholeMarkOf(const std::string& db) {
  absl::StatusOr<std::optional<internal::DurableMark>> m = internal::ReadDurableMark(db);
  INFO(m.status().ToString());
  REQUIRE(m.ok());
  return *m;
}

// The mark's sequence.
std::optional<uint64_t> MarkOf(const std::string& db) {
  const std::optional<internal::DurableMark> m = WholeMarkOf(db);
  if (!m.has_value()) return std::nullopt;
  return m->sequence;
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

// --- The MANIFEST against the durable mark (finding: the nemesis run's manifest_truncated_half,
// "MANIFEST-000019: 728 -> 364 bytes", 184 acknowledged orders lost). RocksDB drops a truncated
// MANIFEST's tail silently: the edits of the flushes since the store's last open (the table files
// they added) are forgotten, while the newest WAL still replays up to the mark.

// The nemesis run's store: written, closed, opened again (DB::Open writes a fresh MANIFEST that
// starts with a snapshot of the families and their table files), then `flushes` times kOrders more
// orders, each lot flushed into table files (a MANIFEST edit per family; the WAL that held them is
// retired), then a clean close. Orders KeyOf(0) .. KeyOf(kOrders * (flushes + 1) - 1).
void FillFlushAndClose(const std::string& db, int flushes) {
  FillAndClose(db);
  auto store = OpenOrDie(db);
  for (int f = 1; f <= flushes; ++f) {
    FillOrders(*store, f * kOrders, kOrders);
    const absl::Status flushed = store->FlushForTest();
    INFO(flushed.ToString());
    REQUIRE(flushed.ok());
  }
}

int CountPresent(RocksDbStore& store, int total) {
  int present = 0;
  for (int i = 0; i < total; ++i) present += LookupOrDie(store, KeyOf(i)).has_value() ? 1 : 0;
  return present;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out);
}

TEST_CASE(
    "a cleanly closed store whose orders were flushed into table files since its last open, and "
    "whose MANIFEST was then truncated to half, refuses to open and is left as found",
    "[idempotency][damage]") {
  TempDir dir;
  constexpr int kFlushes = 2;  // three table files of "records" with the open's: no compaction
  FillFlushAndClose(dir.db(), kFlushes);
  const std::string manifest = Manifest(dir.db());
  TruncateToHalf(manifest);
  const std::map<std::string, std::string> before = Contents(dir.db());
  // Before the fix it opened: the families are in the MANIFEST's first half, the newest WAL
  // replayed up to the mark, and the table files of the two flushes were deleted as obsolete.
  RequireRefused(dir.db(), {fs::path(manifest).filename().string(), "truncated"});
  CHECK(Contents(dir.db()) == before);
  // The loss is real: the operator's override (the mark removed) opens what RocksDB recovered.
  fs::remove(dir.db() + "/" + internal::kDurableMarkFile);
  auto store = OpenOrDie(dir.db());
  const int total = kOrders * (kFlushes + 1);
  CHECK(CountPresent(*store, total) < total);
}

// Runs idempotency_crash_child on `db` (reserving `count` keys, flushing every `flush_every`) and
// SIGKILLs it once it has reported all of them: no clean close, no closing mark.
void RunFlushingChildAndKill(const std::string& db, uint32_t count, uint32_t flush_every) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string count_arg = std::to_string(count);
    const std::string fd_arg = std::to_string(fds[1]);
    const std::string flush_arg = std::to_string(flush_every);
    ::execl(ORDERGATE_CRASH_CHILD, ORDERGATE_CRASH_CHILD, db.c_str(), "sync", count_arg.c_str(),
            fd_arg.c_str(), flush_arg.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  uint32_t reported = 0;
  for (;;) {
    uint32_t v = 0;
    const ssize_t n = ::read(fds[0], &v, sizeof(v));
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof(v))) break;  // EOF: the child is gone
    reported = v;
    if (reported >= count) {
      ::kill(pid, SIGKILL);
      break;
    }
  }
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("child status " << status << ", reported " << reported);
  REQUIRE(reported == count);
  REQUIRE(WIFSIGNALED(status));
}

TEST_CASE(
    "a store killed with SIGKILL right after flushing its orders into table files, whose "
    "MANIFEST was then truncated to half, refuses to open and is left as found",
    "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());  // so that the child's open starts a fresh MANIFEST with the families
  // Flushes at 200 and 400 keys; the last 40 only in the WAL, which then replays up to the mark.
  RunFlushingChildAndKill(dir.db(), /*count=*/440, /*flush_every=*/200);
  fs::remove(dir.db() + "/LOCK");
  const std::string manifest = Manifest(dir.db());
  TruncateToHalf(manifest);
  const std::map<std::string, std::string> before = Contents(dir.db());
  RequireRefused(dir.db(), {fs::path(manifest).filename().string(), "truncated"});
  CHECK(Contents(dir.db()) == before);
}

TEST_CASE(
    "a store whose CURRENT was pointed back at an older MANIFEST refuses to open and is left as "
    "found",
    "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  const std::string old_manifest = Manifest(dir.db());
  const std::string old_bytes = ReadFile(old_manifest);
  {
    auto store = OpenOrDie(dir.db());  // a new MANIFEST; the old one is deleted
    FillOrders(*store, kOrders, kOrders);
    REQUIRE(store->FlushForTest().ok());
  }
  REQUIRE(Manifest(dir.db()) != old_manifest);
  WriteFile(old_manifest, old_bytes);
  WriteFile(dir.db() + "/CURRENT", fs::path(old_manifest).filename().string() + "\n");
  const std::map<std::string, std::string> before = Contents(dir.db());
  RequireRefused(dir.db(), {"CURRENT names an older MANIFEST"});
  CHECK(Contents(dir.db()) == before);
}

TEST_CASE(
    "a store opened, written, flushed and cleanly closed twenty times opens every time and keeps "
    "every order",
    "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  constexpr int kRounds = 20;
  constexpr int kPerRound = 20;
  for (int round = 0; round < kRounds; ++round) {
    auto store = OpenOrDie(dir.db());
    INFO("round " << round);
    CHECK(CountPresent(*store, kOrders + round * kPerRound) == kOrders + round * kPerRound);
    FillOrders(*store, kOrders + round * kPerRound, kPerRound);
    if (round % 2 == 0) REQUIRE(store->FlushForTest().ok());
  }
  auto store = OpenOrDie(dir.db());
  CHECK(CountPresent(*store, kOrders + kRounds * kPerRound) == kOrders + kRounds * kPerRound);
}

TEST_CASE(
    "a store whose durable mark is of the v1 format (no MANIFEST part) opens, and its mark is "
    "then of the v2 format naming its MANIFEST",
    "[idempotency][damage]") {
  TempDir dir;
  FillFlushAndClose(dir.db(), 1);
  const std::string mark_path = dir.db() + "/" + internal::kDurableMarkFile;
  const std::string v2 = ReadFile(mark_path);
  const size_t seq_at = v2.find(' ', v2.find(' ') + 1) + 1;
  const uint64_t sequence = std::stoull(v2.substr(seq_at, v2.find(' ', seq_at) - seq_at));
  REQUIRE(sequence > 0);
  std::string block = testing::DurableMarkLineV1(sequence);
  block.resize(512, '\0');
  WriteFile(mark_path, block);
  {
    auto store = OpenOrDie(dir.db());
    RequireEveryOrderFilled(*store);
  }
  const std::string after = ReadFile(mark_path);
  CHECK(after.rfind("ordergate-durable-mark v2 ", 0) == 0);
  const std::string manifest = fs::path(Manifest(dir.db())).filename().string();
  const std::string number = std::to_string(std::stoull(manifest.substr(manifest.find('-') + 1)));
  INFO(after.substr(0, after.find('\n')) << " vs " << manifest);
  CHECK(after.find(" " + number + " ") != std::string::npos);
}

uint64_t ManifestNumberOf(const std::string& file) {
  const std::string name = fs::path(file).filename().string();
  return std::stoull(name.substr(name.find('-') + 1));
}

TEST_CASE(
    "a store whose CURRENT names a newer MANIFEST than its durable mark, as when RocksDB started "
    "one after the mark was written, opens and keeps every order",
    "[idempotency][damage]") {
  TempDir dir;
  FillFlushAndClose(dir.db(), 1);
  const std::string manifest = Manifest(dir.db());
  const std::optional<internal::DurableMark> mark = WholeMarkOf(dir.db());
  REQUIRE(mark.has_value());
  REQUIRE(mark->manifest.number == ManifestNumberOf(manifest));
  // The mark as a crash right after DB::Open() started this MANIFEST would have left it: naming
  // the one before (whose size says nothing about this one).
  REQUIRE(
      internal::WriteDurableMark(
          dir.db(), internal::DurableMark{mark->sequence, {mark->manifest.number - 1, 1ull << 40}})
          .ok());
  auto store = OpenOrDie(dir.db());
  CHECK(CountPresent(*store, 2 * kOrders) == 2 * kOrders);
}

TEST_CASE(
    "a flush moves the durable mark to the MANIFEST edit that added its table file before the "
    "flush returns, and a clean close leaves the mark on the MANIFEST's full size",
    "[idempotency][damage]") {
  TempDir dir;
  FillAndClose(dir.db());
  {
    auto store = OpenOrDie(dir.db());
    const std::string manifest = Manifest(dir.db());
    std::optional<internal::DurableMark> mark = WholeMarkOf(dir.db());
    REQUIRE(mark.has_value());
    CHECK(mark->manifest.number == ManifestNumberOf(manifest));  // written by Open()
    CHECK(mark->manifest.bytes == fs::file_size(manifest));
    for (int flush = 1; flush <= 2; ++flush) {  // two: no compaction after them
      FillOrders(*store, flush * kOrders, 50);
      const uintmax_t before = fs::file_size(manifest);
      REQUIRE(store->FlushForTest().ok());
      REQUIRE(fs::file_size(manifest) > before);
      // Read at once: the 100 ms thread has not run since (it may have, but the listener does not
      // need it): the mark already names every byte of the MANIFEST.
      mark = WholeMarkOf(dir.db());
      INFO("flush " << flush);
      CHECK(mark->manifest.number == ManifestNumberOf(manifest));
      CHECK(mark->manifest.bytes == fs::file_size(manifest));
    }
  }
  const std::optional<internal::DurableMark> closed = WholeMarkOf(dir.db());
  REQUIRE(closed.has_value());
  CHECK(closed->manifest.number == ManifestNumberOf(Manifest(dir.db())));
  CHECK(closed->manifest.bytes == fs::file_size(Manifest(dir.db())));
}

}  // namespace
}  // namespace ordergate::idempotency
