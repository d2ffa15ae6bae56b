// kill -9 safety: what Apply() reported as applied survives the death of the process.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <string>

#include "idempotency/rocksdb_store.h"
#include "test_util.h"

namespace ordergate::idempotency {
namespace {

using testing::LookupOrDie;
using testing::OpenOrDie;
using testing::TempDir;

std::string KeyOf(uint32_t i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%06u", i);
  return buf;
}

// Runs the crash child, SIGKILLs it once it has reported `kill_after` keys, and returns the highest
// count it reported before dying.
uint32_t RunAndKill(const std::string& db, const char* durability, uint32_t total,
                    uint32_t kill_after) {
  int fds[2];
  REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const std::string count = std::to_string(total);
    const std::string fd = std::to_string(fds[1]);
    ::execl(ORDERGATE_CRASH_CHILD, ORDERGATE_CRASH_CHILD, db.c_str(), durability, count.c_str(),
            fd.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  uint32_t reported = 0;
  bool killed = false;
  for (;;) {
    uint32_t v = 0;
    const ssize_t n = ::read(fds[0], &v, sizeof(v));
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof(v))) break;  // EOF: the child is gone
    reported = v;
    if (!killed && reported >= kill_after) {
      ::kill(pid, SIGKILL);  // mid-stream: the child is still applying
      killed = true;
    }
  }
  ::close(fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("child status " << status << ", reported " << reported);
  REQUIRE(killed);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  return reported;
}

void CheckSurvivors(const std::string& db, uint32_t total, uint32_t reported) {
  auto store = OpenOrDie(db);
  uint32_t present = 0;
  bool gap = false;
  for (uint32_t i = 0; i < total; ++i) {
    std::optional<Record> rec = LookupOrDie(*store, KeyOf(i));
    if (!rec) {
      gap = true;
      continue;
    }
    INFO("key " << KeyOf(i));
    CHECK_FALSE(gap);  // the WAL replays a prefix: no hole before a surviving key
    CHECK(rec->state == RecordState::kUnknown);
    ++present;
  }
  INFO("reported " << reported << ", present " << present);
  CHECK(present >= reported);
  CHECK(store->recovered_count() == present);
  CHECK(store->Stats().in_flight == present);
}

TEST_CASE(
    "every reservation a SIGKILLed process saw applied under async durability is UNKNOWN after "
    "reopen",
    "[idempotency]") {
  TempDir dir;
  constexpr uint32_t kTotal = 20'000;
  const uint32_t reported = RunAndKill(dir.db(), "async", kTotal, 2'000);
  CHECK(reported >= 2'000);
  CheckSurvivors(dir.db(), kTotal, reported);
}

TEST_CASE(
    "every reservation a SIGKILLed process saw applied under sync durability is UNKNOWN after "
    "reopen",
    "[idempotency]") {
  TempDir dir;
  constexpr uint32_t kTotal = 2'000;
  const uint32_t reported = RunAndKill(dir.db(), "sync", kTotal, 200);
  CHECK(reported >= 200);
  CheckSurvivors(dir.db(), kTotal, reported);
}

}  // namespace
}  // namespace ordergate::idempotency
