// Fail closed on a full disk, and recover once space returns, on a real (tiny) tmpfs.
#include <sys/mount.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "idempotency/rocksdb_store.h"
#include "test_util.h"

namespace ordergate::idempotency {
namespace {

using testing::LookupOrDie;
using testing::OpenOrDie;
using testing::TempDir;

// Unmounts on scope exit, so a failed REQUIRE does not leave a mount behind.
class TmpfsMount {
 public:
  explicit TmpfsMount(std::string dir) : dir_(std::move(dir)) {
    ok_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=4m") == 0;
    if (!ok_) error_ = std::strerror(errno);
  }
  ~TmpfsMount() {
    if (ok_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  bool ok() const { return ok_; }
  const std::string& error() const { return error_; }
  bool Resize(const char* size) {
    return ::mount("tmpfs", dir_.c_str(), "tmpfs", MS_REMOUNT,
                   (std::string("size=") + size).c_str()) == 0;
  }

 private:
  std::string dir_;
  bool ok_ = false;
  std::string error_;
};

// A 4 MiB tmpfs under a fresh temporary directory (mounted only when running as root).
struct SmallDisk {
  TempDir dir;
  std::string mnt = MakeDir(dir.path() / "mnt");
  TmpfsMount fs{mnt};

  // False (with a warning, and the test passing) when the tmpfs could not be mounted: not root.
  bool Usable() {
    if (fs.ok()) return true;
    WARN("cannot mount a tmpfs (" << fs.error() << "): test skipped; run as root to exercise it");
    SUCCEED();
    return false;
  }

  static std::string MakeDir(const std::filesystem::path& p) {
    std::filesystem::create_directories(p);
    return p.string();
  }
};

// Reserves and fills keys "k0", "k1", ... with 64 KiB replies, one batch each, until a batch fails
// (the disk is full) or 1 000 passed. Returns the failure; the keys of applied batches go to
// `applied`, the failed batch's key to `failed_key`.
absl::Status FillUntilWriteFails(Store& store, std::vector<std::string>* applied,
                                 std::string* failed_key) {
  const std::string reply(64 * 1024, 'r');
  for (int i = 0; i < 1000; ++i) {
    const std::string key = "k" + std::to_string(i);
    std::vector<Change> changes = {Change::Reserve(key, "fp"),
                                   Change::Event(RecordEvent::kOutcomeFilled, key, reply)};
    std::vector<ChangeResult> results(changes.size());
    absl::Status failure = store.Apply(changes, 1'000, absl::MakeSpan(results));
    if (!failure.ok()) {
      *failed_key = key;
      for (const ChangeResult& r : results) CHECK(r.outcome != ChangeOutcome::kApplied);
      return failure;
    }
    applied->push_back(key);
  }
  return absl::OkStatus();
}

TEST_CASE(
    "a store whose disk fills up fails closed with a code-only kUnavailable and recovers when "
    "space returns",
    "[idempotency]") {
  SmallDisk disk;
  if (!disk.Usable()) return;
  const std::string db = disk.mnt + "/db";
  TmpfsMount& fs = disk.fs;
  const std::string reply(64 * 1024, 'r');
  std::vector<std::string> applied;
  std::string failed_key;
  {
    auto store = OpenOrDie(db, Durability::kSync);
    // In flight across the failure: the store answers its outcome from memory, which must follow
    // what was written, not what was attempted.
    {
      const Change c = Change::Reserve("in-flight", "fp");
      ChangeResult r;
      REQUIRE(store->Apply(absl::MakeConstSpan(&c, 1), 1'000, absl::MakeSpan(&r, 1)).ok());
      REQUIRE(r.outcome == ChangeOutcome::kApplied);
    }
    const absl::Status failure = FillUntilWriteFails(*store, &applied, &failed_key);
    INFO("applied " << applied.size() << " batches before the disk filled");
    REQUIRE_FALSE(failure.ok());
    CHECK(failure.code() == absl::StatusCode::kUnavailable);
    CHECK(failure.message().empty());
    REQUIRE_FALSE(applied.empty());

    // Still full: every later batch fails closed too, even a small one.
    {
      const Change c = Change::Reserve("small", "fp");
      ChangeResult r;
      absl::Status s = store->Apply(absl::MakeConstSpan(&c, 1), 1'000, absl::MakeSpan(&r, 1));
      CHECK(s.code() == absl::StatusCode::kUnavailable);
      CHECK(r.outcome != ChangeOutcome::kApplied);
    }
    {
      const Change c = Change::Event(RecordEvent::kOutcomeFilled, "in-flight", "filled");
      ChangeResult r;
      absl::Status s = store->Apply(absl::MakeConstSpan(&c, 1), 1'000, absl::MakeSpan(&r, 1));
      CHECK(s.code() == absl::StatusCode::kUnavailable);
      CHECK(LookupOrDie(*store, "in-flight")->state == RecordState::kReserved);
    }
    CHECK_FALSE(LookupOrDie(*store, failed_key).has_value());
    CHECK(LookupOrDie(*store, applied.back())->state == RecordState::kFilled);

    // Space returns: the store resumes by itself on a later Apply(). RocksDB's own recovery polls
    // free space every ~5 s and waits for a memtable's worth (64 MiB) to be free, so grow well past
    // that and allow a few rounds.
    REQUIRE(fs.Resize("256m"));
    absl::Status s;
    ChangeResult r;
    int failed_attempts = 0;
    for (int attempt = 0; attempt < 400; ++attempt, ++failed_attempts) {
      const Change c = Change::Reserve("after", "fp");
      s = store->Apply(absl::MakeConstSpan(&c, 1), 1'000, absl::MakeSpan(&r, 1));
      if (s.ok()) break;
      CHECK(r.outcome != ChangeOutcome::kApplied);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    INFO("apply after space returned: " << s.ToString() << " after " << failed_attempts
                                        << " failed attempts");
    REQUIRE(s.ok());
    CHECK(r.outcome == ChangeOutcome::kApplied);

    // The failed writes left nothing behind: the failed reservation can be made, and the in-flight
    // record still takes its outcome (once).
    std::vector<Change> retry = {Change::Reserve(failed_key, "fp"),
                                 Change::Event(RecordEvent::kOutcomeFilled, "in-flight", "filled"),
                                 Change::Event(RecordEvent::kOutcomeFilled, "in-flight", "again")};
    std::vector<ChangeResult> results(retry.size());
    REQUIRE(store->Apply(retry, 1'000, absl::MakeSpan(results)).ok());
    CHECK(results[0].outcome == ChangeOutcome::kApplied);
    CHECK(results[1].outcome == ChangeOutcome::kApplied);
    CHECK(results[2].outcome == ChangeOutcome::kIllegal);
    CHECK(store->Stats().in_flight == 2);  // failed_key and "after", RESERVED
  }

  auto store = OpenOrDie(db, Durability::kSync);
  for (const std::string& key : applied) {
    std::optional<Record> rec = LookupOrDie(*store, key);
    REQUIRE(rec.has_value());
    CHECK(rec->state == RecordState::kFilled);
    CHECK(rec->reply == reply);
  }
  CHECK(LookupOrDie(*store, failed_key)->state == RecordState::kUnknown);  // reserved after
  CHECK(LookupOrDie(*store, "in-flight")->reply == "filled");
  CHECK_FALSE(LookupOrDie(*store, "small").has_value());
  CHECK(LookupOrDie(*store, "after")->state == RecordState::kUnknown);  // RESERVED, then recovered
}

TEST_CASE("a store closed while its disk is full closes cleanly and keeps what it had written",
          "[idempotency]") {
  SmallDisk disk;
  if (!disk.Usable()) return;
  const std::string db = disk.mnt + "/db";
  TmpfsMount& fs = disk.fs;
  std::vector<std::string> applied;
  {
    // A failed write leaves RocksDB's log writer refusing everything; the close must not ask it to
    // sync (Debian's RocksDB, built with assertions, aborts the process on that).
    auto store = OpenOrDie(db, Durability::kSync);
    std::string failed_key;
    REQUIRE_FALSE(FillUntilWriteFails(*store, &applied, &failed_key).ok());
    REQUIRE_FALSE(applied.empty());
  }
  REQUIRE(fs.Resize("256m"));
  auto store = OpenOrDie(db, Durability::kSync);
  std::optional<Record> rec = LookupOrDie(*store, applied.front());
  REQUIRE(rec.has_value());
  CHECK(rec->state == RecordState::kFilled);
}

}  // namespace
}  // namespace ordergate::idempotency
