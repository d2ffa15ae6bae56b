// RocksDbStore: the embedded, on-disk implementation of Store.
//
//   RocksDbStoreOptions opts;
//   opts.path = "/var/lib/ordergate";
//   opts.durability = Durability::kSync;
//   absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open(opts);
//   // (*store)->recovered_count() records moved RESERVED -> UNKNOWN by this open.
//
// Layout: column family "records" (key -> encoded Record) and "inflight" (key -> empty) indexing
// every RESERVED/UNKNOWN record, so recovery and ListInFlight() never scan the whole store.
// Retention: a compaction filter drops terminal records whose updated time is older than
// `retention`; RESERVED and UNKNOWN records never expire. No scan runs on the request path.
// rocksdb:: types never appear in this header.
#ifndef ORDERGATE_IDEMPOTENCY_ROCKSDB_STORE_H_
#define ORDERGATE_IDEMPOTENCY_ROCKSDB_STORE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "idempotency/store.h"

namespace ordergate::idempotency {

struct RocksDbStoreOptions {
  std::string path;                            // created if missing
  Durability durability = Durability::kSync;
  absl::Duration retention = absl::Hours(24 * 7);
  uint64_t block_cache_bytes = 256ull << 20;   // bounds read memory whatever the record count
  int bloom_bits_per_key = 10;                 // most dedup lookups miss: keep misses off disk
};

class RocksDbStore final : public Store {
 public:
  // Opens (creating if needed) the store and moves every RESERVED record to UNKNOWN durably (event
  // kRecovered) before returning. Blocks. Returns kUnavailable (with a message: start-up path) when
  // the directory cannot be opened or recovery cannot be written; kFailedPrecondition when the data
  // was written by an incompatible format version.
  static absl::StatusOr<std::unique_ptr<RocksDbStore>> Open(const RocksDbStoreOptions& options);

  ~RocksDbStore() override;  // flushes nothing extra: every Apply() was already durable

  absl::Status Apply(absl::Span<const Change> changes, int64_t now_unix_ms,
                     absl::Span<ChangeResult> results) override;
  absl::StatusOr<std::optional<Record>> Lookup(absl::string_view key) override;
  absl::StatusOr<std::vector<Record>> ListInFlight() override;
  StoreStats Stats() override;

  // Records moved RESERVED -> UNKNOWN by Open().
  uint64_t recovered_count() const { return recovered_count_; }

  // Runs a full manual compaction (retention expiry applies). For tests and operators; blocks.
  absl::Status CompactForTest();

 private:
  struct Impl;
  explicit RocksDbStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  uint64_t recovered_count_ = 0;
};

// The record encoding, exposed for the compaction filter and tests. Fixed-offset header
// (version, state, created, updated) so the filter reads state and age without a full decode.
std::string EncodeRecordValue(const Record& r);
absl::StatusOr<Record> DecodeRecordValue(absl::string_view key, absl::string_view value);

}  // namespace ordergate::idempotency

#endif  // ORDERGATE_IDEMPOTENCY_ROCKSDB_STORE_H_
