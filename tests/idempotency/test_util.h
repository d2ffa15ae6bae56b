// Shared helpers for the idempotency suites: a throwaway directory per test and one-line Apply().
#ifndef ORDERGATE_TESTS_IDEMPOTENCY_TEST_UTIL_H_
#define ORDERGATE_TESTS_IDEMPOTENCY_TEST_UTIL_H_

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "idempotency/rocksdb_store.h"
#include "tests/support/temp_dir.h"

namespace ordergate::idempotency::testing {

// A unique directory under the system temp dir, removed with everything in it on destruction
// (tests/support/temp_dir.h); path() as a filesystem path, db() the store's directory in it.
class TempDir : public ordergate::test_support::TempDir {
 public:
  TempDir() : ordergate::test_support::TempDir("ordergate-idem-") {}
  std::filesystem::path path() const { return ordergate::test_support::TempDir::path(); }
  std::string db() const { return File("db"); }
};

inline RocksDbStoreOptions TestOptions(const std::string& path, Durability d = Durability::kAsync) {
  RocksDbStoreOptions o;
  o.path = path;
  o.durability = d;
  o.block_cache_bytes = 8u << 20;
  return o;
}

inline std::unique_ptr<RocksDbStore> OpenOrDie(const RocksDbStoreOptions& o) {
  absl::StatusOr<std::unique_ptr<RocksDbStore>> s = RocksDbStore::Open(o);
  INFO("open " << o.path << ": " << s.status().ToString());
  REQUIRE(s.ok());
  return std::move(*s);
}

inline std::unique_ptr<RocksDbStore> OpenOrDie(const std::string& path,
                                               Durability d = Durability::kAsync) {
  return OpenOrDie(TestOptions(path, d));
}

// Applies one change; the batch itself must succeed.
inline ChangeResult ApplyOne(Store& store, const Change& c, int64_t now_ms = 1'000) {
  std::vector<ChangeResult> r(1);
  absl::Status s = store.Apply(absl::MakeConstSpan(&c, 1), now_ms, absl::MakeSpan(r));
  INFO("Apply: " << s.ToString());
  REQUIRE(s.ok());
  return r[0];
}

inline std::vector<ChangeResult> ApplyAll(Store& store, const std::vector<Change>& changes,
                                          int64_t now_ms = 1'000) {
  std::vector<ChangeResult> r(changes.size());
  absl::Status s = store.Apply(changes, now_ms, absl::MakeSpan(r));
  INFO("Apply: " << s.ToString());
  REQUIRE(s.ok());
  return r;
}

inline std::optional<Record> LookupOrDie(Store& store, absl::string_view key) {
  absl::StatusOr<std::optional<Record>> r = store.Lookup(key);
  INFO("Lookup: " << r.status().ToString());
  REQUIRE(r.ok());
  return *r;
}

inline bool SameRecord(const Record& a, const Record& b) {
  return a.key == b.key && a.state == b.state && a.fingerprint == b.fingerprint &&
         a.reply == b.reply && a.created_unix_ms == b.created_unix_ms &&
         a.updated_unix_ms == b.updated_unix_ms;
}

inline std::string Str(absl::string_view s) { return std::string(s.data(), s.size()); }

// Drives `key` to `target` through legal transitions only (fingerprint "fp", replies "reply-*").
inline void Reach(Store& store, absl::string_view key, RecordState target, int64_t now_ms = 1'000) {
  if (target == RecordState::kAbsent) return;
  REQUIRE(ApplyOne(store, Change::Reserve(key, "fp"), now_ms).outcome == ChangeOutcome::kApplied);
  RecordEvent next;
  switch (target) {
    case RecordState::kReserved:
      return;
    case RecordState::kUnknown:
      next = RecordEvent::kBridgeTimedOut;
      break;
    case RecordState::kFilled:
      next = RecordEvent::kOutcomeFilled;
      break;
    case RecordState::kRejected:
      next = RecordEvent::kOutcomeRejected;
      break;
    default:
      FAIL("unreachable state");
      return;
  }
  REQUIRE(ApplyOne(store, Change::Event(next, key, "reply-reach"), now_ms).outcome ==
          ChangeOutcome::kApplied);
}

inline constexpr RecordState kAllStates[] = {RecordState::kAbsent, RecordState::kReserved,
                                             RecordState::kFilled, RecordState::kRejected,
                                             RecordState::kUnknown};
inline constexpr RecordEvent kAllEvents[] = {
    RecordEvent::kReserve,        RecordEvent::kOutcomeFilled, RecordEvent::kOutcomeRejected,
    RecordEvent::kBridgeTimedOut, RecordEvent::kRecovered,     RecordEvent::kReleased};

inline const char* EventName(RecordEvent e) {
  switch (e) {
    case RecordEvent::kReserve:
      return "kReserve";
    case RecordEvent::kOutcomeFilled:
      return "kOutcomeFilled";
    case RecordEvent::kOutcomeRejected:
      return "kOutcomeRejected";
    case RecordEvent::kBridgeTimedOut:
      return "kBridgeTimedOut";
    case RecordEvent::kRecovered:
      return "kRecovered";
    case RecordEvent::kReleased:
      return "kReleased";
  }
  return "?";
}

// Every file of `dir` but the info log (LOG, LOG.old*), with its whole content: what an operator
// would compare to see whether anything was rewritten.
inline std::map<std::string, std::string> Contents(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("LOG", 0) == 0) continue;
    std::ifstream f(e.path(), std::ios::binary);
    out[name] = std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  }
  return out;
}

// The durable mark's line in the v1 format, as a build before the MANIFEST part wrote it
// (idempotency/durable_mark.cc: FNV-1a of "v1 <sequence>", 16 hex digits).
inline std::string DurableMarkLineV1(uint64_t sequence) {
  const std::string body = "v1 " + std::to_string(sequence);
  uint64_t h = 14695981039346656037ull;
  for (const char c : body) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof(hex), "%016llx", static_cast<unsigned long long>(h));
  return "ordergate-durable-mark " + body + " " + hex + "\n";
}

}  // namespace ordergate::idempotency::testing

#endif  // ORDERGATE_TESTS_IDEMPOTENCY_TEST_UTIL_H_
