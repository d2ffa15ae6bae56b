// The on-disk layout of ordergate's RocksDB store, shared by RocksDbStore and the bulk loader so
// that a directory written by either is the same store. Internal to idempotency/: rocksdb:: types
// appear here and never leave the folder.
//
//   rocksdb::ColumnFamilyOptions records = RecordsFamilyOptions(cache, /*bloom_bits_per_key=*/10);
//   db_options.recycle_log_file_num = ...;  // see RocksDbStore::Open
#ifndef ORDERGATE_IDEMPOTENCY_ROCKSDB_LAYOUT_H_
#define ORDERGATE_IDEMPOTENCY_ROCKSDB_LAYOUT_H_

#include <memory>

#include "rocksdb/cache.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/memtablerep.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"

namespace ordergate::idempotency::internal {

// "records": key -> encoded Record, FILLED and REJECTED. "inflight": key -> encoded Record,
// RESERVED and UNKNOWN, so recovery never scans the records. A key is in at most one of them.
inline constexpr char kRecordsCf[] = "records";
inline constexpr char kInflightCf[] = "inflight";
// "meta": Store::WriteMeta()'s entries (key -> opaque value), never records. Optional: created by
// the first WriteMeta() (explicitly, with DB::CreateColumnFamily), so a store that never held
// metadata (every store written before it existed) has exactly the two record families, opens as
// it is, and stays readable by a build that does not know "meta".
inline constexpr char kMetaCf[] = "meta";

// Table options of the "records" family. Memory is bounded by `cache` whatever the record count:
// index and filter blocks live in the cache (charged to it, not held per open file), partitioned
// so that a 100 M-record store never needs a whole filter resident; the top-level index and L0's
// blocks stay pinned because every lookup touches them. The bloom filter keeps the common
// dedup lookup, a miss, off the data blocks; the memtable gets one too, for the same reason.
inline rocksdb::ColumnFamilyOptions RecordsFamilyOptions(std::shared_ptr<rocksdb::Cache> cache,
                                                         int bloom_bits_per_key) {
  rocksdb::BlockBasedTableOptions table;
  table.block_cache = std::move(cache);
  table.cache_index_and_filter_blocks = true;
  table.cache_index_and_filter_blocks_with_high_priority = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.pin_top_level_index_and_filter = true;
  table.index_type = rocksdb::BlockBasedTableOptions::kTwoLevelIndexSearch;
  if (bloom_bits_per_key > 0) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(bloom_bits_per_key));
    table.partition_filters = true;
  }
  rocksdb::ColumnFamilyOptions cf;
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  if (bloom_bits_per_key > 0) {
    cf.memtable_whole_key_filtering = true;
    cf.memtable_prefix_bloom_size_ratio = 0.05;
  }
  return cf;
}

// Options of the "inflight" family. It is written twice per order (a put at the reservation, a
// delete at the outcome) and read only when the store opens, so its memtable is an append-only
// vector (sorted once, at flush or at that read) instead of a skip list: each write is an append,
// not a search of up to a memtable's worth of keys. A vector memtable cannot take concurrent
// writes, so the DB must have allow_concurrent_memtable_write = false (Apply() is serialised
// anyway).
inline rocksdb::ColumnFamilyOptions InflightFamilyOptions() {
  rocksdb::ColumnFamilyOptions cf;
  cf.memtable_factory = std::make_shared<rocksdb::VectorRepFactory>();
  return cf;
}

}  // namespace ordergate::idempotency::internal

#endif  // ORDERGATE_IDEMPOTENCY_ROCKSDB_LAYOUT_H_
