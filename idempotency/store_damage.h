// Damage checks of RocksDbStore::Open(): what makes a store directory unfit to serve, detected
// before and right after RocksDB opens it, each with a message that names the damage and what an
// operator can do (docs/STORE_RECOVERY.md). Internal to idempotency/: rocksdb:: types appear here
// and never leave the folder.
//
//   const bool existing = HoldsStoreFiles(dir);             // before anything is created in dir
//   if (existing) RETURN_IF_ERROR(CheckExistingStore(db_options, dir));
//   if (existing && mark) RETURN_IF_ERROR(CheckManifestAgainstMark(dir, *mark));
//   if (existing && mark) RETURN_IF_ERROR(CheckRecoveredReadOnly(db_options, dir, cfs, seq));
//   rocksdb::Status s = rocksdb::DB::Open(...);             // never creating anything if existing
//   if (!s.ok()) return OpenFailure(dir, existing, s);
//   RETURN_IF_ERROR(CheckRecoveredSequence(dir, db->GetLatestSequenceNumber(), seq));
//   WriteDurableMark(dir, {sequence, *CurrentManifest(db)});  // and as the store runs
//
// Every status carries a message (start-up path) that starts with "RocksDbStore: <dir>: ".
#ifndef ORDERGATE_IDEMPOTENCY_STORE_DAMAGE_H_
#define ORDERGATE_IDEMPOTENCY_STORE_DAMAGE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "idempotency/durable_mark.h"
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

// The durable mark's MANIFEST part against the directory, before RocksDB reads it (nothing is
// written): CURRENT names the MANIFEST RocksDB will open, and a MANIFEST that had been made durable
// up to mark.manifest.bytes must still have them. RocksDB drops a truncated MANIFEST's tail
// silently, and with it the edits of the flushes since the store's last open: the table files they
// added are forgotten (and deleted as obsolete by a read-write open) while the WAL that held their
// records is gone, and the newest WAL still replays up to the sequence mark, so
// CheckRecoveredSequence() cannot see it. kDataLoss (refusal, restore, the operator's override):
//   - CURRENT names a MANIFEST numbered below the mark's (pointed back at an older MANIFEST),
//   - CURRENT names the mark's MANIFEST and the file is shorter than mark.manifest.bytes, or gone,
//   - CURRENT cannot be read or does not name a MANIFEST.
// OK when the mark has no MANIFEST part (a v1 mark), and when CURRENT names a higher number:
// RocksDB started a new MANIFEST after the mark was written (every DB::Open does; the store writes
// the mark right after, and at every flush). A truncation of that newer MANIFEST before the mark
// caught up with it (a crash within that window, about one fdatasync after DB::Open or after a
// MANIFEST roll) goes unnoticed. Blocks on reading CURRENT and one stat().
absl::Status CheckManifestAgainstMark(const std::string& dir, const DurableMark& mark);

// What `db` has made durable of its current MANIFEST: its number and the size RocksDB wrote and
// synced (DB::GetLiveFiles() without a flush: VersionSet sets that size after the MANIFEST's sync
// and after CURRENT names it), so a mark holding it never claims more than the disk has. nullopt
// when RocksDB does not answer. Blocks on RocksDB's DB mutex for a walk over the live table files
// (a few microseconds per hundred files; the write path does not take that mutex).
std::optional<ManifestState> CurrentManifest(rocksdb::DB* db);

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
