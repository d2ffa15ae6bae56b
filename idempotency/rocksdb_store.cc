#include "idempotency/rocksdb_store.h"

#include "idempotency/rocksdb_store_impl.h"

namespace ordergate::idempotency {

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
