// BulkLoader: builds a RocksDbStore directory of many records at disk speed, for benchmarks and
// capacity tests (a store of 100 M records in minutes instead of the hours Apply() would take).
//
//   BulkLoadOptions opts;
//   opts.path = "/var/tmp/ordergate-bench/fill-1000000/db";  // must not exist yet
//   absl::StatusOr<std::unique_ptr<BulkLoader>> loader = BulkLoader::Create(opts);
//   Record r;  // keys strictly increasing, bytewise
//   r.key = "strat-0-000000000000"; r.state = RecordState::kFilled; ...
//   absl::Status s = (*loader)->Add(r);
//   ...
//   s = (*loader)->Finish();  // now RocksDbStore::Open(path) sees every record
//
// The result is exactly what RocksDbStore writes (same column families, value encoding, format
// version key, RESERVED/UNKNOWN records in "inflight" and terminal ones in "records"), so
// RocksDbStore::Open() on it recovers RESERVED records to UNKNOWN as after a crash. Records are
// written as sorted table files (rocksdb::SstFileWriter, bloom filter as RocksDbStoreOptions'
// default) and ingested in one step, bypassing the WAL and memtables; they all land in the bottom
// level, i.e. the store looks fully compacted (a store grown by Apply() also has upper levels: one
// more bloom probe per level). rocksdb:: types never appear in this header.
//
// Not for the request path: statuses carry messages. Thread-compatible (one thread per loader).
#ifndef ORDERGATE_IDEMPOTENCY_BULK_LOAD_H_
#define ORDERGATE_IDEMPOTENCY_BULK_LOAD_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "idempotency/record.h"

namespace ordergate::idempotency {

struct BulkLoadOptions {
  std::string path;                   // the store directory; must not exist or be empty
  uint64_t file_bytes = 64ull << 20;  // per table file: what the store's compaction writes
  int bloom_bits_per_key = 10;        // must match RocksDbStoreOptions::bloom_bits_per_key
};

class BulkLoader {
 public:
  // Creates the store directory (through RocksDbStore::Open, so column families and format
  // version are the store's own) and a staging directory `<path>.bulk-tmp` beside it. Blocks.
  //   kInvalidArgument: empty path, or file_bytes == 0.
  //   kFailedPrecondition: `path` exists and is not empty (a loader never merges into a store).
  //   kUnavailable: a directory or file cannot be created.
  static absl::StatusOr<std::unique_ptr<BulkLoader>> Create(const BulkLoadOptions& options);

  // Removes the staging directory; a loader destroyed before Finish() leaves an empty store.
  ~BulkLoader();

  // Appends one record to the current table file (starting a new one past file_bytes). Blocks on
  // buffered file writes. Nothing is visible in the store before Finish().
  //   kInvalidArgument: r.key empty or not strictly greater (bytewise) than the previous key,
  //     r.state kAbsent, or a field over 4 GiB. Nothing written; the loader stays usable.
  //   kUnavailable: the table file could not be written; the loader is unusable afterwards.
  //   kFailedPrecondition: called after Finish().
  absl::Status Add(const Record& r);

  // Closes the last table file and ingests every file into "records", and the keys of RESERVED
  // and UNKNOWN records into "inflight", then closes the store (WAL and MANIFEST synced). When it
  // returns OK the records are durable and the store can be opened. Blocks (seconds per GB).
  //   kUnavailable: a file could not be written or ingested (the store may hold some files).
  //   kFailedPrecondition: called twice, or after a failed Add().
  absl::Status Finish();

  uint64_t records_added() const { return records_added_; }
  uint64_t in_flight_added() const { return in_flight_added_; }

  BulkLoader(const BulkLoader&) = delete;
  BulkLoader& operator=(const BulkLoader&) = delete;

 private:
  struct Impl;
  explicit BulkLoader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  uint64_t records_added_ = 0;
  uint64_t in_flight_added_ = 0;
};

}  // namespace ordergate::idempotency

#endif  // ORDERGATE_IDEMPOTENCY_BULK_LOAD_H_
