// Crash helper: idempotency_crash_child <db path> <sync|async> <count> <fd> [<flush_every>]
//
// Opens the store, reserves keys k000000, k000001, ... in small batches and, after each Apply()
// returns OK, writes the number of keys applied so far (uint32, native endian) to <fd>. With
// <flush_every> (a multiple of 4, the batch size), every time that many more keys are applied it
// first flushes every column family (RocksDbStore::FlushForTest: table files and MANIFEST edits,
// the WAL retired). After <count> keys it waits to be killed. The parent SIGKILLs it at some
// point and checks that every reported key survived.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "idempotency/rocksdb_store.h"

using ordergate::idempotency::Change;
using ordergate::idempotency::ChangeOutcome;
using ordergate::idempotency::ChangeResult;
using ordergate::idempotency::Durability;
using ordergate::idempotency::RocksDbStore;
using ordergate::idempotency::RocksDbStoreOptions;

std::string KeyOf(uint32_t i) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "k%06u", i);
  return buf;
}

int main(int argc, char** argv) {
  if (argc != 5 && argc != 6) {
    std::fprintf(stderr, "usage: %s <db> <sync|async> <count> <fd> [<flush_every>]\n", argv[0]);
    return 64;
  }
  RocksDbStoreOptions o;
  o.path = argv[1];
  o.durability = std::strcmp(argv[2], "sync") == 0 ? Durability::kSync : Durability::kAsync;
  o.block_cache_bytes = 8u << 20;
  const uint32_t count = static_cast<uint32_t>(std::strtoul(argv[3], nullptr, 10));
  const int fd = std::atoi(argv[4]);
  const uint32_t flush_every =
      argc == 6 ? static_cast<uint32_t>(std::strtoul(argv[5], nullptr, 10)) : 0;

  auto store = RocksDbStore::Open(o);
  if (!store.ok()) {
    std::fprintf(stderr, "open: %s\n", store.status().ToString().c_str());
    return 2;
  }
  constexpr uint32_t kBatch = 4;
  std::vector<std::string> keys;
  std::vector<Change> changes;
  std::vector<ChangeResult> results;
  for (uint32_t done = 0; done < count;) {
    const uint32_t n = std::min(kBatch, count - done);
    keys.clear();
    changes.clear();
    for (uint32_t i = 0; i < n; ++i) keys.push_back(KeyOf(done + i));
    for (const std::string& k : keys) changes.push_back(Change::Reserve(k, "fp"));
    results.assign(n, ChangeResult{});
    if (!(*store)->Apply(changes, 1'000, absl::MakeSpan(results)).ok()) return 3;
    for (const ChangeResult& r : results) {
      if (r.outcome != ChangeOutcome::kApplied) return 4;
    }
    done += n;
    if (flush_every > 0 && done % flush_every == 0 && !(*store)->FlushForTest().ok()) return 6;
    if (::write(fd, &done, sizeof(done)) != static_cast<ssize_t>(sizeof(done))) return 5;
  }
  for (;;) ::pause();
}
