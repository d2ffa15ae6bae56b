// Damage checks of RocksDbStore::Open(): what makes a store directory unfit to serve, detected
// before and right after RocksDB opens it, each with a message that names the damage and what an
// operator can do (docs/STORE_RECOVERY.md). Internal to idempotency/: rocksdb:: types appear here
// and never leave the folder.
//
//   const bool existing = HoldsStoreFiles(dir);             // before anything is created in dir
//   if (existing) RETURN_IF_ERROR(CheckExistingStore(db_options, dir));
//   rocksdb::Status s = rocksdb::DB::Open(...);             // never creating anything if existing
//   if (!s.ok()) return OpenFailure(dir, existing, s);
//   RETURN_IF_ERROR(CheckRecoveredSequence(dir, db->GetLatestSequenceNumber(), mark));
//
// Every status carries a message (start-up path) that starts with "RocksDbStore: <dir>: ".
#ifndef ORDERGATE_IDEMPOTENCY_STORE_DAMAGE_H_
#define ORDERGATE_IDEMPOTENCY_STORE_DAMAGE_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"

namespace ordergate::idempotency::internal {

// True when `dir` holds a file that only an existing store has: CURRENT, IDENTITY, a MANIFEST, an
// OPTIONS file, a WAL (*.log), a table file (*.sst) or the durable mark. The info log (LOG), which
// Open() creates before RocksDB runs, and LOCK do not count. Such a store is opened as it is:
// nothing of it (the DB, a column family) may be created anew, since an empty family in place of
// a lost one would forget every record it held.
bool HoldsStoreFiles(const std::string& dir);

// An existing store's files as RocksDB's MANIFEST lists them, before it is opened:
//   kDataLoss: CURRENT is missing, or the "records" or "inflight" family is (a truncated or
//     damaged MANIFEST: RocksDB would otherwise drop them and, asked to, recreate them empty).
//   kFailedPrecondition: a column family this code does not know (written by something else).
// A MANIFEST RocksDB cannot read at all passes here: DB::Open() then reports it (OpenFailure).
absl::Status CheckExistingStore(const rocksdb::DBOptions& db_options, const std::string& dir);

// The status for a failed DB::Open(): kDataLoss when RocksDB found an existing store damaged
// (corruption of the MANIFEST, a table file or the WAL's middle, or a file it lists missing),
// kUnavailable otherwise (permissions, another process holds the store, I/O errors).
absl::Status OpenFailure(const std::string& dir, bool existing, const rocksdb::Status& s);

// kDataLoss when `recovered` (the sequence number RocksDB recovered to) is below `mark` (the
// durable mark: every sequence up to it had been acknowledged as durable), i.e. records were
// lost; OK otherwise, and when there is no mark.
absl::Status CheckRecoveredSequence(const std::string& dir, uint64_t recovered,
                                    std::optional<uint64_t> mark);

}  // namespace ordergate::idempotency::internal

#endif  // ORDERGATE_IDEMPOTENCY_STORE_DAMAGE_H_
