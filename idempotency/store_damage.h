// Damage checks of RocksDbStore::Open(): what makes a store directory unfit to serve, detected
// before and right after RocksDB opens it, each with a message that names the damage and what an
// operator can do (docs/STORE_RECOVERY.md). Internal to idempotency/: rocksdb:: types appear here
// and never leave the folder.
//
//   const bool existing = HoldsStoreFiles(dir);             // before anything is created in dir
//   if (existing) RETURN_IF_ERROR(CheckExistingStore(db_options, dir));
//   if (existing && mark) RETURN_IF_ERROR(CheckRecoveredReadOnly(db_options, dir, cfs, *mark));
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
#include <vector>

#include "absl/status/status.h"
#include "rocksdb/db.h"
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
//     "meta" (rocksdb_layout.h) is known and optional: its absence is no damage.
// A MANIFEST RocksDB cannot read at all passes here: DB::Open() then reports it (OpenFailure).
absl::Status CheckExistingStore(const rocksdb::DBOptions& db_options, const std::string& dir);

// The status for a failed DB::Open(): kDataLoss when RocksDB found an existing store damaged
// (corruption of the MANIFEST, a table file or the WAL's middle, or a file it lists missing);
// kUnavailable otherwise: InUseError() (data_directory.h, naming the holder) when the failure is
// RocksDB's LOCK (another process, or a store open in this one, holds the directory), RocksDB's
// own message for the rest (permissions, I/O errors).
absl::Status OpenFailure(const std::string& dir, bool existing, const rocksdb::Status& s);

// Recovers the existing store in `dir` read-only (DB::OpenForReadOnly: its WAL is replayed into
// memory; nothing in the directory is written, flushed, renamed or deleted, and its LOCK is not
// taken), then closes it and compares the sequence it recovered with `mark` (as
// CheckRecoveredSequence()). Run before the read-write open, whose recovery writes the recovered
// WAL into new table files and deletes it: a store refused here is left exactly as it was found,
// for an operator or a backup tool to examine (only the info log LOG is appended to). A failure to
// open is reported as OpenFailure(dir, true, ...). Blocks on reading the WAL once more: its cost
// is proportional to the WAL's size (bounded by max_total_wal_size).
absl::Status CheckRecoveredReadOnly(const rocksdb::DBOptions& db_options, const std::string& dir,
                                    const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
                                    uint64_t mark);

// kDataLoss when `recovered` (the sequence number RocksDB recovered to) is below `mark` (the
// durable mark: every sequence up to it had been acknowledged as durable), i.e. records were
// lost; OK otherwise, and when there is no mark.
absl::Status CheckRecoveredSequence(const std::string& dir, uint64_t recovered,
                                    std::optional<uint64_t> mark);

}  // namespace ordergate::idempotency::internal

#endif  // ORDERGATE_IDEMPOTENCY_STORE_DAMAGE_H_
