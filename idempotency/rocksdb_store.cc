#include "idempotency/rocksdb_store.h"

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
namespace {

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
absl::Status CodeOnly(absl::StatusCode code) { return absl::Status(code, ""); }

int64_t WallClockUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

rocksdb::Slice ToSlice(absl::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
absl::string_view ToView(const rocksdb::Slice& s) { return absl::string_view(s.data(), s.size()); }

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

// Format 1 kept every record in "records" and only the keys of in-flight ones in "inflight". Moves
// each in-flight record into "inflight" and stamps format 2, in one synced batch: a crash midway
// leaves format 1 intact for the next open. Cost proportional to the in-flight count.
absl::Status MigrateFromVersion1(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* records,
                                 rocksdb::ColumnFamilyHandle* inflight) {
  rocksdb::WriteBatch batch;
  rocksdb::Status s;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), inflight));
  std::string value;
  Record r;
  for (it->SeekToFirst(); s.ok() && it->Valid(); it->Next()) {
    s = db->Get(rocksdb::ReadOptions(), records, it->key(), &value);
    if (s.IsNotFound()) {  // an index entry without its record: format 1 skipped those too
      s = batch.Delete(inflight, it->key());
      continue;
    }
    if (!s.ok()) break;
    if (const char* why = DecodeInto(ToView(it->key()), value, &r)) {
      return absl::DataLossError(
          absl::StrCat("migrating format 1: key '", absl::CEscape(ToView(it->key())), "': ", why));
    }
    if (IsInFlight(r.state)) {
      s = batch.Put(inflight, it->key(), value);
      if (s.ok()) s = batch.Delete(records, it->key());
    } else {
      s = batch.Delete(inflight, it->key());
    }
  }
  if (s.ok()) s = it->status();
  if (s.ok()) s = batch.Put(db->DefaultColumnFamily(), kFormatVersionKey, kFormatVersion);
  rocksdb::WriteOptions synced;
  synced.sync = true;
  if (s.ok()) s = db->Write(synced, &batch);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("migrating format 1: ", s.ToString()));
  return absl::OkStatus();
}

}  // namespace

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

absl::Status RocksDbStore::Impl::ApplyLocked(absl::Span<const Change> changes, int64_t now_unix_ms,
                                             absl::Span<ChangeResult> results,
                                             const rocksdb::WriteOptions& wo) {
  batch.Clear();
  record_writes.clear();
  in_flight_writes.clear();
  values.clear();
  overlay.clear();
  overlay.reserve(changes.size());
  rocksdb::Status ws;

  for (size_t i = 0; i < changes.size(); ++i) {
    const Change& c = changes[i];
    ChangeResult& res = results[i];
    res = ChangeResult{};

    auto [it, inserted] = overlay.try_emplace(c.key);
    Record& cur = it->second.record;
    if (inserted) {
      if (auto known = in_flight_records.find(c.key); known != in_flight_records.end()) {
        cur = known->second;
      } else if (const absl::StatusCode read = ReadRecord(c.key, &pinned, &cur);
                 read != absl::StatusCode::kOk) {
        ResetResults(results);
        return CodeOnly(read);
      }
    }

    const bool was_in_flight = IsInFlight(cur.state);
    res = ApplyChangeTo(c, now_unix_ms, &cur);
    if (res.outcome != ChangeOutcome::kApplied) continue;

    const absl::string_view key = c.key;
    if (cur.state == RecordState::kAbsent) {
      (was_in_flight ? in_flight_writes : record_writes).push_back({true, key, 0, 0});
    } else {
      EncodeParts(cur.state, cur.created_unix_ms, cur.updated_unix_ms, cur.fingerprint, cur.reply,
                  &encoded);
      // An in-flight record lives in "inflight" only and moves to "records" when it ends: one
      // skip-list insert per order (its outcome) instead of two.
      const bool now_in_flight = IsInFlight(cur.state);
      (now_in_flight ? in_flight_writes : record_writes)
          .push_back({false, key, values.size(), encoded.size()});
      values.append(encoded);
      if (!now_in_flight && was_in_flight) in_flight_writes.push_back({true, key, 0, 0});
    }
    it->second.written = true;
  }

  if (record_writes.empty() && in_flight_writes.empty()) {
    return absl::OkStatus();  // only kExists/kIllegal: nothing to make durable
  }
  std::sort(record_writes.begin(), record_writes.end(),
            [](const PendingWrite& a, const PendingWrite& b) { return a.key < b.key; });
  for (const auto& [cf, family_writes] :
       {std::pair{records, &record_writes}, std::pair{inflight, &in_flight_writes}}) {
    for (const PendingWrite& w : *family_writes) {
      if (w.is_delete) {
        ws = batch.Delete(cf, ToSlice(w.key));
      } else {
        ws = batch.Put(cf, ToSlice(w.key),
                       rocksdb::Slice(values.data() + w.value_offset, w.value_size));
      }
      if (!ws.ok()) {
        ResetResults(results);
        return CodeOnly(absl::StatusCode::kUnavailable);
      }
    }
  }
  records_written = true;  // even a failed write may have reached the log
  ws = db->Write(wo, &batch);
  if (!ws.ok()) {
    needs_resume = true;
    ResetResults(results);
    return CodeOnly(absl::StatusCode::kUnavailable);
  }
  // One writer (under `mu`): the latest sequence is this batch's last, and everything up to it is
  // in the WAL at the store's durability. An atomic store; the mark's file is written elsewhere.
  if (mark_writer != nullptr) mark_writer->Publish(db->GetLatestSequenceNumber());
  // The map changes under map_mu too, held only for these few in-memory updates: readers
  // (Lookup, ListInFlight) take map_mu alone, so they never wait for a batch's write and fsync.
  std::lock_guard<std::mutex> map_lock(map_mu);
  for (auto& [key, touched] : overlay) {
    if (!touched.written) continue;
    auto known = in_flight_records.find(key);
    if (IsInFlight(touched.record.state)) {
      if (known != in_flight_records.end()) {
        known->second = std::move(touched.record);
      } else {
        in_flight_records.emplace(std::string(key), std::move(touched.record));
      }
    } else if (known != in_flight_records.end()) {
      in_flight_records.erase(known);
    }
  }
  in_flight.store(in_flight_records.size(), std::memory_order_relaxed);
  return absl::OkStatus();
}

RocksDbStore::RocksDbStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

RocksDbStore::~RocksDbStore() {
  const bool remove = impl_->remove_created_if_unused && impl_->created.created() &&
                      !impl_->records_written && !impl_->keep_directory.load();
  const internal::CreatedDirectories created = std::move(impl_->created);
  impl_.reset();  // closes RocksDB, which releases the LOCK
  if (remove) internal::RemoveCreatedDirectories(created);
}

void RocksDbStore::KeepDirectory() { impl_->keep_directory.store(true); }

absl::StatusOr<std::unique_ptr<RocksDbStore>> RocksDbStore::Open(
    const RocksDbStoreOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("RocksDbStore: empty path");
  if (options.retention <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("RocksDbStore: retention must be positive");
  }

  // A directory another process holds is refused first, naming the holder, before anything in it
  // is read or created (RocksDB's own LOCK failure says only "Resource temporarily unavailable").
  if (absl::Status free = internal::CheckNotInUse(options.path); !free.ok()) return free;

  // A failed Open() takes back the directories it created, never one that existed, once RocksDB
  // has closed: `impl`, declared after this guard, is destroyed before it.
  struct CreatedGuard {
    internal::CreatedDirectories created;
    ~CreatedGuard() { internal::RemoveCreatedDirectories(created); }
  } created_guard;
  auto impl = std::make_unique<Impl>();
  impl->filter = std::make_unique<RetentionFilter>(absl::ToInt64Milliseconds(options.retention));
  impl->cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  impl->write_options.sync = options.durability == Durability::kSync;
  impl->write_options.disableWAL = false;

  rocksdb::ColumnFamilyOptions records_options =
      internal::RecordsFamilyOptions(impl->cache, options.bloom_bits_per_key);
  records_options.compaction_filter = impl->filter.get();

  // Whether the directory already holds a store decides everything below: an existing store is
  // opened as it is or not at all. Asked before Open() creates anything in the directory.
  impl->path = options.path;
  const bool existing = internal::HoldsStoreFiles(options.path);
  absl::StatusOr<std::optional<internal::DurableMark>> mark =
      internal::ReadDurableMark(options.path);
  if (!mark.ok()) {
    return absl::Status(mark.status().code(),
                        absl::StrCat("RocksDbStore: ", options.path, ": ", mark.status().message(),
                                     ". Refusing to open: without it, lost records would go "
                                     "unnoticed (see docs/STORE_RECOVERY.md)."));
  }

  rocksdb::DBOptions db_options;
  // Never create the DB or a column family of an existing store: RocksDB would otherwise replace
  // families that a damaged MANIFEST no longer lists with empty ones, forgetting their records.
  db_options.create_if_missing = !existing;
  db_options.create_missing_column_families = !existing;
  // Point-in-time recovery replays the WAL up to its first bad record and drops the rest. That is
  // right for a torn tail (a write that was in progress when the process or machine died was never
  // acknowledged), and it is the only mode RocksDB keeps WAL recycling with (below): the stricter
  // modes cannot tell recycled bytes from damage. What it cannot tell apart is a torn tail from a
  // loss of acknowledged records (a damaged, truncated or deleted WAL); the durable mark does
  // (durable_mark.h): Open() refuses a store that recovered less than it.
  db_options.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  // Checksums of the MANIFEST and of table files are verified at open (RocksDB's default, stated
  // because a damaged table file must fail the open, not be skipped).
  db_options.paranoid_checks = true;
  db_options.max_background_jobs = 2;
  // A bound on the table files held open (RocksDB's default is unbounded): the front end keeps a
  // reserve of descriptors for the store, the bridge link and HTTP (transport/front_end.h), which
  // an unbounded table cache could eat into. Compaction writes table files of 64 MiB (RocksDB's
  // default target_file_size_base): 256 cover 16 GiB without reopening; beyond, the table cache
  // closes the coldest and reopens it on a read that needs it.
  db_options.max_open_files = 256;
  // One writer (Apply() holds `mu`), and the inflight family's vector memtable requires it.
  db_options.allow_concurrent_memtable_write = false;
  // Reused WAL files are overwritten in place: an fdatasync then flushes data only, not the file's
  // size and extents (measured on this kind of disk: 81 us instead of 241 us at p50). Point-in-time
  // recovery, the default mode, is the one RocksDB supports with recycling.
  db_options.recycle_log_file_num = 4;
  // The small families (inflight, the format key) would otherwise keep the oldest WAL alive long
  // after "records" flushed: 113 MB of WAL against 11 MB of tables after a 10-minute soak, all of
  // it replayed at the next open. Past this size RocksDB flushes whatever pins the oldest WAL.
  db_options.max_total_wal_size = 128ull << 20;
  // Moves the durable mark's MANIFEST part as each flush or compaction completes (see the class).
  db_options.listeners.push_back(impl->mark_listener);
  // Created here (for the log), remembering what did not exist before.
  absl::StatusOr<internal::CreatedDirectories> created =
      internal::CreateDataDirectory(options.path);
  if (!created.ok()) return created.status();
  created_guard.created = std::move(*created);
  db_options.info_log = std::make_shared<internal::StdioLogger>(options.path + "/LOG", 16l << 20);

  // An existing store must have its CURRENT file and exactly our column families (one we do not
  // know: written by something else; one missing: lost to a damaged MANIFEST).
  if (existing) {
    if (absl::Status checked = internal::CheckExistingStore(db_options, options.path);
        !checked.ok()) {
      return checked;
    }
  }
  // Then the MANIFEST against the mark's (CURRENT pointed back, the MANIFEST truncated), before
  // RocksDB reads it: it would drop the lost edits silently, and delete the table files they added.
  if (existing && mark->has_value()) {
    if (absl::Status checked = internal::CheckManifestAgainstMark(options.path, **mark);
        !checked.ok()) {
      return checked;
    }
  }

  std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
      {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
      {kRecordsCf, records_options},
      {kInflightCf, internal::InflightFamilyOptions()},
  };
  // The optional metadata family is opened when the store has it (RocksDB opens all families or
  // none), and never created here: WriteMeta() does that explicitly, the first time it is needed.
  if (existing) {
    std::vector<std::string> families;
    if (rocksdb::DB::ListColumnFamilies(db_options, options.path, &families).ok() &&
        std::find(families.begin(), families.end(), kMetaCf) != families.end()) {
      cfs.push_back({kMetaCf, rocksdb::ColumnFamilyOptions()});
    }
  }
  // A store with a durable mark is first recovered read-only and checked against it, so that a
  // store that loses records is refused before the read-write recovery below rewrites it.
  if (existing && mark->has_value()) {
    if (absl::Status whole =
            internal::CheckRecoveredReadOnly(db_options, options.path, cfs, (*mark)->sequence);
        !whole.ok()) {
      return whole;
    }
  }
  rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, cfs, &impl->handles, &impl->db);
  if (!s.ok()) {
    impl->db = nullptr;
    return internal::OpenFailure(options.path, existing, s);
  }
  impl->records = impl->handles[1];
  impl->inflight = impl->handles[2];
  if (impl->handles.size() > 3) impl->meta = impl->handles[3];
  // Before anything is written: what RocksDB recovered against what had been made durable (again:
  // the WAL may have changed since the read-only check).
  const uint64_t recovered_sequence = impl->db->GetLatestSequenceNumber();
  const std::optional<uint64_t> mark_sequence =
      mark->has_value() ? std::optional<uint64_t>((*mark)->sequence) : std::nullopt;
  if (absl::Status whole =
          internal::CheckRecoveredSequence(options.path, recovered_sequence, mark_sequence);
      !whole.ok()) {
    return whole;
  }

  rocksdb::WriteOptions synced;
  synced.sync = true;

  std::string version;
  s = impl->db->Get(rocksdb::ReadOptions(), impl->db->DefaultColumnFamily(), kFormatVersionKey,
                    &version);
  if (s.IsNotFound()) {
    s = impl->db->Put(synced, impl->db->DefaultColumnFamily(), kFormatVersionKey, kFormatVersion);
    if (!s.ok()) {
      impl->needs_resume = true;
      return absl::UnavailableError(absl::StrCat("RocksDbStore: writing format version in ",
                                                 options.path, ": ", s.ToString()));
    }
  } else if (!s.ok()) {
    return absl::UnavailableError(
        absl::StrCat("RocksDbStore: reading format version in ", options.path, ": ", s.ToString()));
  } else if (version == kFormatVersion1) {
    if (absl::Status migrated = MigrateFromVersion1(impl->db, impl->records, impl->inflight);
        !migrated.ok()) {
      impl->needs_resume = true;
      return absl::Status(migrated.code(),
                          absl::StrCat("RocksDbStore: ", options.path, ": ", migrated.message()));
    }
  } else if (version != kFormatVersion) {
    return absl::FailedPreconditionError(
        absl::StrCat("RocksDbStore: ", options.path, " has format version '",
                     absl::CEscape(version), "', this build reads '", kFormatVersion, "'"));
  }

  // Recovery. "inflight" holds every RESERVED/UNKNOWN record, so this costs O(in flight) whatever
  // the store's size, and it rebuilds the in-memory copy that Apply() trusts from then on.
  std::vector<std::string> reserved;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        impl->db->NewIterator(rocksdb::ReadOptions(), impl->inflight));
    Record r;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const char* why = DecodeInto(ToView(it->key()), ToView(it->value()), &r);
      if (why == nullptr && !IsInFlight(r.state)) why = "a terminal record in the in-flight family";
      if (why != nullptr) {
        return absl::DataLossError(absl::StrCat("RocksDbStore: recovery: key '",
                                                absl::CEscape(ToView(it->key())), "': ", why));
      }
      if (r.state == RecordState::kReserved) reserved.push_back(r.key);
      impl->in_flight_records.emplace(r.key, r);
    }
    if (!it->status().ok()) {
      return absl::UnavailableError(
          absl::StrCat("RocksDbStore: recovery scan: ", it->status().ToString()));
    }
  }
  impl->in_flight.store(impl->in_flight_records.size(), std::memory_order_relaxed);

  uint64_t recovered = 0;
  if (!reserved.empty()) {
    std::vector<Change> changes;
    changes.reserve(reserved.size());
    for (const std::string& k : reserved)
      changes.push_back(Change::Event(RecordEvent::kRecovered, k));
    std::vector<ChangeResult> results(changes.size());
    std::lock_guard<std::mutex> lock(impl->mu);
    absl::Status st =
        impl->ApplyLocked(changes, WallClockUnixMs(), absl::MakeSpan(results), synced);
    if (!st.ok()) {
      return absl::Status(st.code(), absl::StrCat("RocksDbStore: recovery of ", reserved.size(),
                                                  " RESERVED records could not be written"));
    }
    for (const ChangeResult& r : results) recovered += r.outcome == ChangeOutcome::kApplied ? 1 : 0;
  }

  // Everything up to here is synced (the recovered WAL, the format and recovery writes, and the
  // MANIFEST that DB::Open() started), so the mark moves to the latest sequence and to the new
  // MANIFEST now (a v1 mark becomes v2). A store without a mark (a new one, or one written by a
  // version before the mark) gets its first one here. A failed write (a full disk) does not fail
  // the open, whose checks have passed: the mark stays where it was, which is safe (it lags, never
  // leads: CURRENT names a newer MANIFEST than its own), and the background writer tries again
  // every 100 ms.
  const uint64_t durable = impl->db->GetLatestSequenceNumber();
  internal::DurableMark written = mark->value_or(internal::DurableMark{});
  rocksdb::DB* const db = impl->db;
  impl->mark_writer = std::make_unique<internal::DurableMarkWriter>(
      options.path, written, [db] { return internal::CurrentManifest(db); });
  impl->mark_writer->Publish(durable);
  const bool marked = impl->mark_writer->WriteNow().ok();
  if (existing && !mark->has_value()) {
    rocksdb::Log(rocksdb::InfoLogLevel::WARN_LEVEL, db_options.info_log,
                 "ordergate: this store had no durable mark (%s): accepted as recovered, up to "
                 "sequence %llu, and %s",
                 internal::kDurableMarkFile, static_cast<unsigned long long>(durable),
                 marked ? "marked so" : "its mark could not be written yet");
  }
  // From now on each flush and compaction moves the mark as it completes.
  impl->mark_listener->Attach(impl->mark_writer.get());
  impl->remove_created_if_unused = options.remove_created_directory_if_unused;
  impl->created = std::move(created_guard.created);
  created_guard.created = {};
  std::unique_ptr<RocksDbStore> store(new RocksDbStore(std::move(impl)));
  store->recovered_count_ = recovered;
  store->recovered_sequence_ = recovered_sequence;
  store->durable_mark_was_absent_ = existing && !mark->has_value();
  return store;
}

absl::Status RocksDbStore::Apply(absl::Span<const Change> changes, int64_t now_unix_ms,
                                 absl::Span<ChangeResult> results) {
  if (results.size() != changes.size()) {
    Impl::ResetResults(results);
    return CodeOnly(absl::StatusCode::kInvalidArgument);
  }
  constexpr size_t kMaxField = std::numeric_limits<uint32_t>::max();
  for (const Change& c : changes) {
    if (c.key.empty() || c.fingerprint.size() > kMaxField || c.reply.size() > kMaxField) {
      Impl::ResetResults(results);
      return CodeOnly(absl::StatusCode::kInvalidArgument);
    }
  }
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.mu);
  if (impl.needs_resume) {
    // One attempt per call, so the store comes back by itself once the cause is gone; until then
    // every batch fails closed. After a full disk RocksDB runs its own recovery (its SstFileManager
    // polls every ~5 s until a memtable's worth, 64 MiB, is free) and Resume() answers Busy
    // meanwhile: still closed.
    if (!impl.db->Resume().ok()) {
      Impl::ResetResults(results);
      return CodeOnly(absl::StatusCode::kUnavailable);
    }
    impl.needs_resume = false;
  }
  return impl.ApplyLocked(changes, now_unix_ms, results, impl.write_options);
}

absl::StatusOr<std::optional<Record>> RocksDbStore::Lookup(absl::string_view key) {
  if (key.empty()) return CodeOnly(absl::StatusCode::kInvalidArgument);
  {
    std::lock_guard<std::mutex> lock(impl_->map_mu);
    if (auto known = impl_->in_flight_records.find(key); known != impl_->in_flight_records.end()) {
      return std::optional<Record>(known->second);
    }
  }
  // Not in flight when the lock was held; if it became so since, "records" has no entry yet and
  // this answers "absent", which was true at that moment.
  rocksdb::PinnableSlice value;
  Record r;
  if (const absl::StatusCode code = impl_->ReadRecord(key, &value, &r);
      code != absl::StatusCode::kOk) {
    return CodeOnly(code);
  }
  if (r.state == RecordState::kAbsent) return std::optional<Record>();
  return std::optional<Record>(std::move(r));
}

absl::StatusOr<std::vector<Record>> RocksDbStore::ListInFlight() {
  std::lock_guard<std::mutex> lock(impl_->map_mu);
  std::vector<Record> out;
  out.reserve(impl_->in_flight_records.size());
  for (const auto& [key, record] : impl_->in_flight_records) out.push_back(record);
  std::sort(out.begin(), out.end(), [](const Record& a, const Record& b) { return a.key < b.key; });
  return out;
}

StoreStats RocksDbStore::Stats() {
  StoreStats stats;
  uint64_t estimate = 0;
  if (impl_->db->GetIntProperty(impl_->records, "rocksdb.estimate-num-keys", &estimate)) {
    stats.records = estimate;
  }
  stats.records += impl_->in_flight.load(std::memory_order_relaxed);
  stats.in_flight = impl_->in_flight.load(std::memory_order_relaxed);
  return stats;
}

absl::Status RocksDbStore::WriteMeta(absl::Span<const MetaWrite> writes) {
  for (const MetaWrite& w : writes) {
    if (w.key.empty()) return CodeOnly(absl::StatusCode::kInvalidArgument);
  }
  if (writes.empty()) return absl::OkStatus();
  Impl& impl = *impl_;
  std::lock_guard<std::mutex> lock(impl.mu);
  if (impl.needs_resume) {
    if (!impl.db->Resume().ok()) return CodeOnly(absl::StatusCode::kUnavailable);
    impl.needs_resume = false;
  }
  if (impl.meta == nullptr) {
    // A store without the family (new, or written before it existed) gets it now: a MANIFEST
    // write, once per store.
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    if (!impl.db->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), kMetaCf, &handle).ok()) {
      return CodeOnly(absl::StatusCode::kUnavailable);
    }
    impl.handles.push_back(handle);
    impl.meta = handle;
  }
  rocksdb::WriteBatch batch;
  for (const MetaWrite& w : writes) {
    const rocksdb::Status bs = w.erase ? batch.Delete(impl.meta, ToSlice(w.key))
                                       : batch.Put(impl.meta, ToSlice(w.key), ToSlice(w.value));
    if (!bs.ok()) return CodeOnly(absl::StatusCode::kUnavailable);
  }
  // Never synced, and the durable mark is not moved: the mark promises what Apply() acknowledged,
  // and an unsynced write above it is a torn tail that recovery may drop without refusing the
  // store. A later synced Apply() (or the clean close) makes it power-safe too.
  rocksdb::WriteOptions wo;
  wo.sync = false;
  impl.records_written = true;
  if (!impl.db->Write(wo, &batch).ok()) {
    impl.needs_resume = true;
    return CodeOnly(absl::StatusCode::kUnavailable);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<MetaEntry>> RocksDbStore::ListMeta(absl::string_view prefix) {
  std::vector<MetaEntry> out;
  rocksdb::ColumnFamilyHandle* meta = nullptr;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    meta = impl_->meta;
  }
  if (meta == nullptr) return out;  // never written: no entries
  // The handle lives until the store closes; the iterator reads one implicit snapshot.
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(rocksdb::ReadOptions(), meta));
  for (it->Seek(ToSlice(prefix)); it->Valid(); it->Next()) {
    if (!absl::StartsWith(ToView(it->key()), prefix)) break;
    out.push_back(MetaEntry{it->key().ToString(), it->value().ToString()});
  }
  if (!it->status().ok()) {
    return absl::UnavailableError(absl::StrCat("RocksDbStore: listing metadata in ", impl_->path,
                                               ": ", it->status().ToString()));
  }
  return out;
}

absl::Status RocksDbStore::CompactForTest() {
  rocksdb::CompactRangeOptions o;
  // Also rewrite the bottommost level, where old terminal records end up, so retention applies.
  o.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
  rocksdb::Status s = impl_->db->CompactRange(o, impl_->records, nullptr, nullptr);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("CompactRange: ", s.ToString()));
  return absl::OkStatus();
}

absl::Status RocksDbStore::FlushForTest() {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);  // WriteMeta() may add "meta"'s handle
    handles = impl_->handles;
  }
  rocksdb::FlushOptions o;
  o.wait = true;
  const rocksdb::Status s = impl_->db->Flush(o, handles);
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("Flush: ", s.ToString()));
  return absl::OkStatus();
}

}  // namespace ordergate::idempotency
