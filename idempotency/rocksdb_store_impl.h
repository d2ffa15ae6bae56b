// RocksDbStore's inside, shared by its two files: rocksdb_store.cc (the request path: Apply,
// Lookup, metadata) and rocksdb_store_open.cc (Open: the damage checks, recovery, migration). Not
// a public header: rocksdb:: types appear here and never leave idempotency/.
#ifndef ORDERGATE_IDEMPOTENCY_ROCKSDB_STORE_IMPL_H_
#define ORDERGATE_IDEMPOTENCY_ROCKSDB_STORE_IMPL_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <mutex>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "idempotency/data_directory.h"
#include "idempotency/durable_mark.h"
#include "idempotency/record_value.h"
#include "idempotency/rocksdb_layout.h"
#include "idempotency/stdio_logger.h"
#include "idempotency/store_damage.h"
#include "rocksdb/cache.h"
#include "rocksdb/compaction_filter.h"
#include "rocksdb/convenience.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/options.h"
#include "rocksdb/table.h"
#include "rocksdb/write_batch.h"

namespace ordergate::idempotency {
namespace rocksdb_store_internal {

using internal::DecodeInto;
using internal::EncodeParts;
using internal::GetI64;
using internal::IsInFlight;
using internal::IsStoredState;
using internal::kHeaderSize;
using internal::kRecordVersion;
using internal::kStateOffset;
using internal::kUpdatedOffset;

// Bumped when the on-disk layout (value encoding, column families) changes incompatibly.
constexpr char kFormatVersionKey[] = "format_version";
constexpr char kFormatVersion[] = "2";   // 2: in-flight records live in "inflight"
constexpr char kFormatVersion1[] = "1";  // every record in "records", "inflight" keys only
// Written (synced) by a clean close, right before the durable mark: the WAL then always ends with
// a record at the mark, so losing the WAL's tail is noticed even when a flush had just put the
// MANIFEST's own last sequence at the mark.
constexpr char kLastCloseKey[] = "last_close_unix_ms";
using internal::kInflightCf;
using internal::kMetaCf;
using internal::kRecordsCf;

// Code-only statuses: the request path must not allocate a message per failure.
inline absl::Status CodeOnly(absl::StatusCode code) { return absl::Status(code, ""); }

inline int64_t WallClockUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
inline absl::string_view ToView(const rocksdb::Slice& s) {
  return absl::string_view(s.data(), s.size());
}

// Drops terminal records whose last change is older than the retention, measured against the wall
// clock at compaction time. RESERVED/UNKNOWN never expire: forgetting one could let an order that
// may have executed be sent again. Anything it cannot read is kept. Stateless, so one instance is
// shared by all compaction threads.
class RetentionFilter final : public rocksdb::CompactionFilter {
 public:
  explicit RetentionFilter(int64_t retention_ms) : retention_ms_(retention_ms) {}

  bool Filter(int level, const rocksdb::Slice& key, const rocksdb::Slice& value,
              std::string* new_value, bool* value_changed) const override {
    if (value.size() < kHeaderSize || static_cast<uint8_t>(value[0]) != kRecordVersion)
      return false;
    const uint8_t state = static_cast<uint8_t>(value[kStateOffset]);
    if (!IsStoredState(state) || !IsTerminal(static_cast<RecordState>(state))) return false;
    const int64_t updated = GetI64(value.data() + kUpdatedOffset);
    // now - retention cannot overflow: now > 0 and retention > 0.
    return updated < WallClockUnixMs() - retention_ms_;
  }

  const char* Name() const override { return "ordergate.RetentionFilter"; }

 private:
  const int64_t retention_ms_;
};

// Writes the durable mark (its MANIFEST part) as each flush or compaction completes, so that the
// mark covers a MANIFEST edit before the files it made obsolete are deleted. Checked against
// RocksDB 7.8.3's db/db_impl/db_impl_compaction_flush.cc: BackgroundCallFlush() runs the flush
// (FlushMemTableToOutputFile: the table file written, the edit appended to the MANIFEST and synced
// by LogAndApply, the new version installed) and then NotifyOnFlushCompleted(), which calls this
// listener on the same background thread with the DB mutex released; only after it returns does
// BackgroundCallFlush() run FindObsoleteFiles() and PurgeObsoleteFiles(), which delete the WAL the
// flush retired. BackgroundCallCompaction() has the same order (NotifyOnCompactionCompleted() in
// BackgroundCompaction(), then the purge of the replaced table files). So when a WAL's records
// exist only in a new table file, the mark already names the MANIFEST bytes that list that file.
// What it does not cover: RocksDB skips these calls once shutting down (the store's close waits for
// background work before its final mark instead) and after a flush that became a mempurge (off by
// default); and another thread's purge (a compaction ending, an iterator's cleanup) may delete the
// retired WAL while this call writes the mark (one fdatasync), a window in which a crash followed
// by a truncation of the MANIFEST goes unnoticed. Both run on RocksDB's background threads, never
// on the request path.
class MarkOnManifestEdit final : public rocksdb::EventListener {
 public:
  // Null until the store's Open() has passed its checks: a refused store's mark never moves.
  void Attach(internal::DurableMarkWriter* writer) {
    writer_.store(writer, std::memory_order_release);
  }
  void OnFlushCompleted(rocksdb::DB* /*db*/, const rocksdb::FlushJobInfo& /*info*/) override {
    Write();
  }
  void OnCompactionCompleted(rocksdb::DB* /*db*/,
                             const rocksdb::CompactionJobInfo& /*info*/) override {
    Write();
  }

 private:
  void Write() {
    // A failed write is retried by the writer's thread within 100 ms.
    if (internal::DurableMarkWriter* w = writer_.load(std::memory_order_acquire); w != nullptr) {
      w->WriteNow().IgnoreError();
    }
  }
  std::atomic<internal::DurableMarkWriter*> writer_{nullptr};
};

}  // namespace rocksdb_store_internal
using namespace rocksdb_store_internal;  // included by this store's two files only

struct RocksDbStore::Impl {
  // Declared before `db` so they outlive it: the DB uses both until it is closed.
  std::shared_ptr<rocksdb::Cache> cache;
  std::unique_ptr<RetentionFilter> filter;

  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::ColumnFamilyHandle* records = nullptr;
  rocksdb::ColumnFamilyHandle* inflight = nullptr;
  // "meta" (rocksdb_layout.h): null until the store has it; WriteMeta() creates it. Read and set
  // under `mu`; its handle is also in `handles` once it exists.
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  rocksdb::WriteOptions write_options;

  // in_flight_records.size(), for Stats() from any thread without the lock.
  std::atomic<uint64_t> in_flight{0};

  // Serialises Apply(): the read-decide-write of a batch must not interleave with another batch,
  // or two concurrent reserves of one key could both see it absent.
  std::mutex mu;
  // Everything below is guarded by `mu` and reused across calls to keep the hot path
  // allocation-light.
  rocksdb::WriteBatch batch;
  rocksdb::PinnableSlice pinned;
  std::string encoded;
  // The batch's writes, collected and then handed to RocksDB. "records" writes go in key order: the
  // memtable's skip list keeps the position of its last insert, so ascending keys skip most of the
  // search (a batch's outcomes arrive in no particular key order). A key gets at most one of them
  // per batch (only terminal states are written there, and nothing leaves a terminal state), so
  // the order between one key's writes is never in question. "inflight" writes keep their arrival
  // order, which is each key's order of events; its vector memtable does not care about keys.
  struct PendingWrite {
    bool is_delete;
    absl::string_view key;
    size_t value_offset;  // into `values`
    size_t value_size;
  };
  std::vector<PendingWrite> record_writes;
  std::vector<PendingWrite> in_flight_writes;
  std::string values;
  // The current state of every key this batch touched, so later changes see earlier ones. Keys are
  // views into the caller's Change array, valid for the duration of the call. `written`: the batch
  // changes it, so the in-flight copy below follows once the write succeeded.
  struct Touched {
    Record record;
    bool written = false;
  };
  absl::flat_hash_map<absl::string_view, Touched> overlay;
  // Every RESERVED and UNKNOWN record, exactly as stored in "inflight": filled by the recovery scan
  // in Open() and kept in step by each successful write. It is the authority for those states
  // while the store is open, so a key it lacks is read from "records" (terminal or absent) only: an
  // outcome never reads the store before writing, a retry of an in-flight order is answered from
  // memory. Bounded by what is in flight (the gateway holds those orders in memory too).
  // Guarded by `mu` for the writer's read-decide-write, and changed only while `map_mu` is held as
  // well: a reader that holds just `map_mu` sees it before or after a batch, never torn, and never
  // waits for the batch's WAL write (the pipeline's thread reads while the journal thread writes).
  absl::flat_hash_map<std::string, Record> in_flight_records;
  std::mutex map_mu;
  // Set when a write failed: RocksDB may be in its background-error state and refuse every write
  // until Resume() succeeds.
  bool needs_resume = false;

  std::string path;
  // What Open() created of the directory (nothing when it existed), and whether the destructor
  // takes it back: RocksDbStoreOptions::remove_created_directory_if_unused, no record ever written
  // (set before each write is attempted, under `mu`), and no KeepDirectory().
  internal::CreatedDirectories created;
  bool remove_created_if_unused = false;
  bool records_written = false;
  std::atomic<bool> keep_directory{false};
  // Set once Open() has passed its checks and written the durable mark: Apply() publishes each
  // written sequence to it. Null while Open() runs, and for good when it refused the store: a
  // refused store must keep its mark, or the next start would accept what this one refused.
  std::unique_ptr<internal::DurableMarkWriter> mark_writer;
  // In the DB's options (RocksDB holds it too); given mark_writer once Open() has written the mark.
  std::shared_ptr<MarkOnManifestEdit> mark_listener = std::make_shared<MarkOnManifestEdit>();

  ~Impl() {
    if (db == nullptr) return;
    if (mark_writer != nullptr) mark_writer->Stop();
    // A clean shutdown leaves durability=async records as durable as sync ones (one fsync, here
    // the synced closing record), then moves the durable mark to the WAL's very end. Not after a
    // failed write that no Resume() cleared: RocksDB's log writer then refuses everything, and
    // Debian's RocksDB (built with assertions) aborts the process on a sync of that writer: an
    // Open() whose recovery write hit a full disk would abort instead of reporting it.
    if (!needs_resume && mark_writer != nullptr) {
      rocksdb::WriteOptions synced;
      synced.sync = true;
      if (db->Put(synced, db->DefaultColumnFamily(), kLastCloseKey, absl::StrCat(WallClockUnixMs()))
              .ok()) {
        // A flush or compaction still running would install its MANIFEST edit without telling
        // the listener (RocksDB skips it once shutting down) and then delete the files it made
        // obsolete: wait for them (compactions abort early), so the final mark covers the
        // MANIFEST as the store leaves it. Close() does the same wait anyway.
        rocksdb::CancelAllBackgroundWork(db, /*wait=*/true);
        mark_writer->Publish(db->GetLatestSequenceNumber());
        mark_writer->WriteNow().IgnoreError();
      }
    } else if (!needs_resume) {
      db->SyncWAL().PermitUncheckedError();
    }
    for (rocksdb::ColumnFamilyHandle* h : handles)
      db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db->Close().PermitUncheckedError();
    delete db;
  }

  static void ResetResults(absl::Span<ChangeResult> results) {
    for (ChangeResult& r : results) r = ChangeResult{};
  }

  // The record of `key` in "records" into `out` (state kAbsent when there is none), read through
  // `value`: kOk, kUnavailable (the read failed) or kDataLoss (a record we cannot decode cannot be
  // judged: fail closed rather than guess). Apply() (under `mu`, with `pinned`) and Lookup() (with
  // its own buffer, without the lock) both read terminal records this way.
  absl::StatusCode ReadRecord(absl::string_view key, rocksdb::PinnableSlice* value,
                              Record* out) const {
    value->Reset();
    const rocksdb::Status gs = db->Get(rocksdb::ReadOptions(), records, ToSlice(key), value);
    if (gs.IsNotFound()) {
      out->key.assign(key.data(), key.size());
      out->state = RecordState::kAbsent;
      return absl::StatusCode::kOk;
    }
    if (!gs.ok()) return absl::StatusCode::kUnavailable;
    if (DecodeInto(key, ToView(*value), out) != nullptr) return absl::StatusCode::kDataLoss;
    return absl::StatusCode::kOk;
  }

  absl::Status ApplyLocked(absl::Span<const Change> changes, int64_t now_unix_ms,
                           absl::Span<ChangeResult> results, const rocksdb::WriteOptions& wo);
};

}  // namespace ordergate::idempotency

#endif  // ORDERGATE_IDEMPOTENCY_ROCKSDB_STORE_IMPL_H_
