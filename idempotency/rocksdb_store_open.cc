// RocksDbStore::Open(): the checks that refuse a damaged store before anything is written, the
// recovery of what was in flight, and the migration from format 1 (see rocksdb_store.h).
#include "idempotency/rocksdb_store.h"
#include "idempotency/rocksdb_store_impl.h"

namespace ordergate::idempotency {
namespace {

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

}  // namespace ordergate::idempotency
