// The data directory (issue 10, item 4): a directory another process holds is refused naming the
// holder and left as it was; a failed Open() takes back the directories it created and never one
// that existed; with remove_created_directory_if_unused, a store closed without a record written
// removes the directory it created; durable_mark_was_absent() reports an accepted loss.
#include "idempotency/data_directory.h"

#include <signal.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "idempotency/durable_mark.h"
#include "idempotency/rocksdb_store.h"
#include "test_util.h"

namespace ordergate::idempotency {
namespace {

namespace fs = std::filesystem;
using testing::ApplyAll;
using testing::Contents;
using testing::LookupOrDie;
using testing::OpenOrDie;
using testing::TempDir;

// A store held open by another process (the crash helper: it opens the store, reserves `keys`
// keys, reports them on a pipe and then waits to be killed). SIGKILLs and reaps it on destruction.
class HolderProcess {
 public:
  explicit HolderProcess(const std::string& db) {
    int fds[2];
    REQUIRE(::pipe(fds) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::close(fds[0]);
      const std::string fd = std::to_string(fds[1]);
      ::execl(ORDERGATE_CRASH_CHILD, ORDERGATE_CRASH_CHILD, db.c_str(), "async", "4", fd.c_str(),
              static_cast<char*>(nullptr));
      ::_exit(127);
    }
    ::close(fds[1]);
    uint32_t reported = 0;
    while (reported < 4) {  // bounded: EOF ends it when the child fails
      uint32_t v = 0;
      const ssize_t n = ::read(fds[0], &v, sizeof(v));
      if (n < 0 && errno == EINTR) continue;
      if (n != static_cast<ssize_t>(sizeof(v))) break;
      reported = v;
    }
    ::close(fds[0]);
    REQUIRE(reported == 4);
  }
  ~HolderProcess() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  HolderProcess(const HolderProcess&) = delete;
  HolderProcess& operator=(const HolderProcess&) = delete;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
};

TEST_CASE(
    "a store another process holds is refused as unavailable naming the directory, the holder's "
    "program and pid, and its files are left exactly as they were",
    "[idempotency][directory]") {
  TempDir dir;
  HolderProcess holder(dir.db());
  const std::map<std::string, std::string> before = Contents(dir.db());
  REQUIRE(before.count("LOCK") == 1);
  for (int attempt = 1; attempt <= 2; ++attempt) {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> s =
        RocksDbStore::Open(testing::TestOptions(dir.db()));
    INFO("attempt " << attempt << ": " << s.status().ToString());
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == absl::StatusCode::kUnavailable);
    const std::string message(s.status().message());
    // Before the fix: "IO error: While lock file: .../LOCK: Resource temporarily unavailable".
    CHECK(message.find("data directory " + dir.db() + " is in use by another idempotency_cra") !=
          std::string::npos);  // the helper's program name, as /proc/<pid>/comm truncates it
    CHECK(message.find("(pid " + std::to_string(holder.pid()) + ")") != std::string::npos);
  }
  CHECK(Contents(dir.db()) == before);
  const std::optional<internal::LockHolder> found = internal::FindLockHolder(dir.db());
  REQUIRE(found.has_value());
  CHECK(found->pid == holder.pid());
}

TEST_CASE(
    "once the holding process is gone its directory opens, with every record it wrote: no stale "
    "holder is reported",
    "[idempotency][directory]") {
  TempDir dir;
  { HolderProcess holder(dir.db()); }  // SIGKILLed: the kernel drops its lock
  CHECK_FALSE(internal::FindLockHolder(dir.db()).has_value());
  auto store = OpenOrDie(dir.db());
  CHECK(store->recovered_count() == 4);
}

TEST_CASE(
    "a second open of a directory in the same process is refused as already open here, and the "
    "first store keeps its lock and keeps working",
    "[idempotency][directory]") {
  TempDir dir;
  auto first = OpenOrDie(dir.db());
  for (int attempt = 1; attempt <= 2; ++attempt) {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> s =
        RocksDbStore::Open(testing::TestOptions(dir.db()));
    INFO(s.status().ToString());
    REQUIRE_FALSE(s.ok());
    CHECK(s.status().code() == absl::StatusCode::kUnavailable);
    CHECK(s.status().message().find("is already open in this process (pid " +
                                    std::to_string(::getpid()) + ")") != std::string::npos);
  }
  // The check never opened LOCK (closing a descriptor of it would have dropped the first store's
  // POSIX lock): the kernel still lists this process as its holder.
  const std::optional<internal::LockHolder> found = internal::FindLockHolder(dir.db());
  REQUIRE(found.has_value());
  CHECK(found->pid == ::getpid());
  ApplyAll(*first, {Change::Reserve("k", "fp")});
  CHECK(LookupOrDie(*first, "k").has_value());
}

TEST_CASE(
    "with remove_created_directory_if_unused a store that created its directory and its parents "
    "removes them when it closes without a record written",
    "[idempotency][directory]") {
  TempDir dir;
  const std::string top = (dir.path() / "new").string();
  RocksDbStoreOptions o = testing::TestOptions(top + "/parent/db");
  o.remove_created_directory_if_unused = true;
  {
    auto store = OpenOrDie(o);
    CHECK(fs::exists(o.path + "/CURRENT"));
  }
  CHECK_FALSE(fs::exists(top));
  CHECK(fs::exists(dir.path()));
}

TEST_CASE(
    "a store that created its directory keeps it when a record was written, when KeepDirectory() "
    "was called, or without remove_created_directory_if_unused",
    "[idempotency][directory]") {
  TempDir dir;
  RocksDbStoreOptions o = testing::TestOptions(dir.db());
  o.remove_created_directory_if_unused = true;
  SECTION("a record written") {
    {
      auto store = OpenOrDie(o);
      ApplyAll(*store, {Change::Reserve("k", "fp")});
    }
    auto reopened = OpenOrDie(o);
    CHECK(LookupOrDie(*reopened, "k").has_value());
  }
  SECTION("KeepDirectory()") {
    { OpenOrDie(o)->KeepDirectory(); }
    CHECK(fs::exists(dir.db() + "/CURRENT"));
  }
  SECTION("the default options") {
    o.remove_created_directory_if_unused = false;
    { auto store = OpenOrDie(o); }
    CHECK(fs::exists(dir.db() + "/CURRENT"));
  }
}

TEST_CASE(
    "a directory that existed before Open() is never removed, even when it was empty and no "
    "record was written",
    "[idempotency][directory]") {
  TempDir dir;
  fs::create_directories(dir.db());
  { std::ofstream(dir.db() + "/operator-notes.txt") << "mine"; }
  RocksDbStoreOptions o = testing::TestOptions(dir.db());
  o.remove_created_directory_if_unused = true;
  { auto store = OpenOrDie(o); }
  CHECK(fs::exists(dir.db() + "/operator-notes.txt"));
  CHECK(fs::exists(dir.db() + "/CURRENT"));
}

// A tmpfs with room for three inodes (its root, and two directories): RocksDB's first files fail.
class TinyTmpfs {
 public:
  explicit TinyTmpfs(const fs::path& dir) : dir_(dir) {
    fs::create_directories(dir_);
    ok_ = ::mount("tmpfs", dir_.c_str(), "tmpfs", 0, "size=1m,nr_inodes=3") == 0;
  }
  ~TinyTmpfs() {
    if (ok_) ::umount2(dir_.c_str(), MNT_DETACH);
  }
  TinyTmpfs(const TinyTmpfs&) = delete;
  TinyTmpfs& operator=(const TinyTmpfs&) = delete;
  bool ok() const { return ok_; }

 private:
  fs::path dir_;
  bool ok_ = false;
};

TEST_CASE(
    "a failed Open() removes the directories it created and keeps the one that existed (a "
    "filesystem out of inodes)",
    "[idempotency][directory]") {
  TempDir dir;
  const fs::path mount_point = dir.path() / "fs";
  TinyTmpfs tmpfs(mount_point);
  if (!tmpfs.ok()) {
    WARN("cannot mount a tmpfs: test skipped; run as root to exercise it");
    return;
  }
  const std::string db = (mount_point / "new" / "db").string();
  absl::StatusOr<std::unique_ptr<RocksDbStore>> s = RocksDbStore::Open(testing::TestOptions(db));
  INFO(s.status().ToString());
  REQUIRE_FALSE(s.ok());
  CHECK(s.status().message().find("in use") == absl::string_view::npos);  // RocksDB's reason
  CHECK(fs::exists(mount_point));
  CHECK(fs::is_empty(mount_point));  // before the fix: new/db stayed, holding LOG
}

TEST_CASE(
    "durable_mark_was_absent() is true only for an existing store opened without its mark, as "
    "after an operator removed it to accept a loss",
    "[idempotency][directory]") {
  TempDir dir;
  {
    auto fresh = OpenOrDie(dir.db());
    CHECK_FALSE(fresh->durable_mark_was_absent());
    ApplyAll(*fresh, {Change::Reserve("k", "fp")});
  }
  uint64_t sequence = 0;
  {
    auto reopened = OpenOrDie(dir.db());
    CHECK_FALSE(reopened->durable_mark_was_absent());
    sequence = reopened->recovered_sequence();
    CHECK(sequence > 0);
  }
  fs::remove(dir.db() + "/" + internal::kDurableMarkFile);
  {
    auto accepted = OpenOrDie(dir.db());
    CHECK(accepted->durable_mark_was_absent());
    CHECK(accepted->recovered_sequence() >= sequence);
  }
  auto again = OpenOrDie(dir.db());  // Open() wrote the mark again
  CHECK_FALSE(again->durable_mark_was_absent());
}

}  // namespace
}  // namespace ordergate::idempotency
