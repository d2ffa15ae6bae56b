// RocksDbStore: the embedded, on-disk implementation of Store.
//
//   RocksDbStoreOptions opts;
//   opts.path = "/var/lib/ordergate";
//   opts.durability = Durability::kSync;
//   absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open(opts);
//   // (*store)->recovered_count() records moved RESERVED -> UNKNOWN by this open.
//
// Layout: column family "inflight" holds every RESERVED/UNKNOWN record (key -> encoded Record) and
// "records" every FILLED/REJECTED one ("meta", optional, holds Store::WriteMeta()'s entries); an
// order's record moves from the first to the second in the atomic batch of its outcome. Recovery
// reads "inflight" only (cost proportional to what was in flight, never to the store's size); while
// the store is open, in-flight records are also held in memory, so outcomes, retries of in-flight
// orders and ListInFlight() never read the disk. Retention: a compaction filter drops terminal
// records whose updated time is older than `retention`, judged by the wall clock when compaction
// reaches them (so expiry is "not before", never "exactly at"); RESERVED and UNKNOWN records never
// expire. No scan runs on the request path. rocksdb:: types never appear in this header.
//
// Full disk: Apply() fails closed (kUnavailable) and keeps failing until RocksDB's own recovery
// finds a memtable's worth (64 MiB) free again, which it polls for every ~5 s; each Apply()
// meanwhile tries Resume() once. RocksDB's info log is <path>/LOG (one LOG.old at 16 MiB), written
// by a logger that drops lines it cannot write: Debian's RocksDB is built with assertions on and
// its own file logger aborts the process on the write after a failed one.
//
// Damage fails closed (docs/STORE_RECOVERY.md): a directory that already holds a store is opened
// as it is or not at all; nothing of it is created anew. Beside the store, <path>/ORDERGATE-
// DURABLE-MARK (durable_mark.h) holds the highest WAL sequence number known to be on disk and the
// MANIFEST RocksDB had synced with it (number and size), moved by a background thread at most every
// 100 ms (never on the request path), as each flush or compaction completes (on RocksDB's
// background thread, before it deletes the files the flush made obsolete), at open and at a clean
// close. Open() refuses a store whose CURRENT names an older MANIFEST or whose MANIFEST is shorter
// than the mark's (checked on the files, before RocksDB reads them), and one whose WAL recovered
// less than the mark: acknowledged records were lost. That check runs on a read-only recovery
// first (DB::OpenForReadOnly), so a store refused for either is left as it was found; only then
// does the read-write open's recovery rewrite the WAL into tables.
//
// The directory: RocksDB's <path>/LOCK keeps a second process out while the store is open; Open()
// names that process (pid and program, from the kernel's lock table, never from a pid file that a
// crash could leave stale). A directory that Open() creates (with any missing parents) is removed
// again when Open() fails; with remove_created_directory_if_unused also when the store closes
// without a record ever written to it. A directory that existed before is never removed, nor
// anything in it.
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
  std::string path;  // created if missing (with its parents)
  // When Open() created `path`, the destructor removes it again (and the parents it created) if no
  // record was ever written and KeepDirectory() was not called: a program whose start-up fails
  // after Open() (ordergated: a port in use) leaves no empty data directory behind. A directory
  // that existed before Open() is never removed, whatever this says.
  bool remove_created_directory_if_unused = false;
  Durability durability = Durability::kSync;
  absl::Duration retention = absl::Hours(24 * 7);
  uint64_t block_cache_bytes = 256ull << 20;  // bounds read memory whatever the record count
  int bloom_bits_per_key = 10;                // most dedup lookups miss: keep misses off disk
};

class RocksDbStore final : public Store {
 public:
  // Opens the store (creating it only in a directory that holds none) and moves every RESERVED
  // record to UNKNOWN durably (event kRecovered, one fsynced batch, whatever `durability` says)
  // before returning, then writes the durable mark. Blocks; cost is proportional to the in-flight
  // count. A store of format 1 (in-flight records in "records") is migrated first, in one synced
  // batch, so an upgrade loses nothing that was in flight; a store without a durable mark (written
  // before it existed, or whose mark an operator removed to accept a loss) gets one, noted in its
  // LOG and in durable_mark_was_absent(). A failed Open() removes the directories it created and
  // nothing else. Statuses carry messages (start-up path), each naming what is wrong and, for
  // damage, what an operator can do:
  //   kUnavailable: the directory is in use: another process holds its LOCK ("RocksDbStore: data
  //     directory DIR is in use by another ordergated (pid N), which holds DIR/LOCK: ..."; the
  //     holder's program and pid when the kernel shows them), or a store of this process has it
  //     open ("... is already open in this process"). Unavailable, not FailedPrecondition: the
  //     directory is free again as soon as its holder stops, so a supervisor's retry succeeds.
  //     Also: the directory cannot be created or opened (missing permissions, I/O errors), or
  //     recovery or the durable mark cannot be written.
  //   kFailedPrecondition: written by an incompatible format version, or unknown column families.
  //   kDataLoss: the store is damaged and records may be lost; ordergate wrote nothing to it:
  //     - the WAL recovered to a sequence below the durable mark (WAL damaged, truncated, deleted);
  //       found by a read-only recovery, so nothing of the store was rewritten (only LOG grows),
  //     - the MANIFEST is shorter than the durable mark recorded, or CURRENT names an older one
  //       (found on the files before RocksDB opens anything: the store is left as found),
  //     - CURRENT is missing, or the MANIFEST no longer lists "records" or "inflight",
  //     - RocksDB reports corruption (MANIFEST, a table file) or a file it lists is missing (when
  //       found by the read-write open, its recovery may already have rewritten part of the store),
  //     - the durable mark file itself is damaged,
  //     - an in-flight record cannot be decoded (or a terminal one sits among them).
  //     The same status again at every later Open() until an operator acts: a refused open never
  //     moves the mark.
  //   kInvalidArgument: an empty path or a non-positive retention.
  static absl::StatusOr<std::unique_ptr<RocksDbStore>> Open(const RocksDbStoreOptions& options);

  // Writes a synced closing record (a clean close makes async-mode writes power-safe), waits for
  // RocksDB's background work (a running compaction aborts), and moves the durable mark to the
  // closing record and the MANIFEST as it is left, so that any later loss of the WAL's tail or of
  // the MANIFEST's is detected. Blocks on ~3 fsyncs and a flush in progress.
  // Then, only under remove_created_directory_if_unused, removes a directory Open() created that
  // never received a record (after RocksDB released the LOCK; see data_directory.h).
  ~RocksDbStore() override;

  absl::Status Apply(absl::Span<const Change> changes, int64_t now_unix_ms,
                     absl::Span<ChangeResult> results) override;
  absl::StatusOr<std::optional<Record>> Lookup(absl::string_view key) override;
  absl::StatusOr<std::vector<Record>> ListInFlight() override;
  StoreStats Stats() override;
  // Store's metadata calls, kept in the optional "meta" family (rocksdb_layout.h), which the first
  // WriteMeta() creates (a MANIFEST write, once) on a store that lacks it, so a store written
  // before metadata existed opens unchanged. ListMeta() on a store without it: no entries.
  absl::Status WriteMeta(absl::Span<const MetaWrite> writes) override;
  absl::StatusOr<std::vector<MetaEntry>> ListMeta(absl::string_view prefix) override;

  // Stats().records: RocksDB's estimate of the terminal records (rocksdb.estimate-num-keys) plus
  // the in-flight ones; in_flight is exact.

  // Records moved RESERVED -> UNKNOWN by Open().
  uint64_t recovered_count() const { return recovered_count_; }

  // True when Open() found an existing store without its durable mark and accepted it as
  // recovered: an operator removed the mark to accept a loss (docs/STORE_RECOVERY.md), or the store
  // was written by a version before the mark. Records lost before this open cannot be detected;
  // the program should say so at warn level. The mark is written again by Open().
  bool durable_mark_was_absent() const { return durable_mark_was_absent_; }

  // The WAL sequence number RocksDB recovered the store to at Open(), before Open() wrote anything.
  uint64_t recovered_sequence() const { return recovered_sequence_; }

  // Start-up succeeded: a directory that Open() created stays when the store closes, even if no
  // record is ever written (see RocksDbStoreOptions::remove_created_directory_if_unused). Any
  // thread; never blocks.
  void KeepDirectory();

  // Runs a full manual compaction (retention expiry applies). For tests and operators; blocks.
  absl::Status CompactForTest();

  // Flushes every column family's memtable into a table file and waits for it (a MANIFEST edit
  // per family that had data; a WAL whose records are all in table files then becomes obsolete and
  // is deleted or recycled). For tests; blocks. kUnavailable when RocksDB fails the flush.
  absl::Status FlushForTest();

 private:
  struct Impl;
  explicit RocksDbStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  uint64_t recovered_count_ = 0;
  uint64_t recovered_sequence_ = 0;
  bool durable_mark_was_absent_ = false;
};

// The record encoding, exposed for the compaction filter and tests. Fixed-offset header
// (version, state, created, updated) so the filter reads state and age without a full decode:
//   [u8 version=1][u8 state][i64 created_ms][i64 updated_ms][u32 fp_len][fp][u32 reply_len][reply]
// all little endian. Encode expects a stored state (not kAbsent). Decode is strict and returns
// kDataLoss (never crashes) on a truncated value, an unknown version or state, a length running
// past the end, or trailing bytes.
std::string EncodeRecordValue(const Record& r);
absl::StatusOr<Record> DecodeRecordValue(absl::string_view key, absl::string_view value);

}  // namespace ordergate::idempotency

#endif  // ORDERGATE_IDEMPOTENCY_ROCKSDB_STORE_H_
