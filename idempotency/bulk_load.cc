#include "idempotency/bulk_load.h"

#include <filesystem>
#include <limits>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "idempotency/rocksdb_layout.h"
#include "idempotency/rocksdb_store.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/options.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/table.h"

namespace ordergate::idempotency {
namespace {

using internal::kInflightCf;
using internal::kRecordsCf;

absl::Status Unavailable(absl::string_view what, const rocksdb::Status& s) {
  return absl::UnavailableError(absl::StrCat("BulkLoader: ", what, ": ", s.ToString()));
}

bool IsInFlight(RecordState s) { return s == RecordState::kReserved || s == RecordState::kUnknown; }

}  // namespace

struct BulkLoader::Impl {
  BulkLoadOptions options;
  std::string staging;
  rocksdb::Options records_options;  // table format of "records" files: the store's bloom filter
  rocksdb::Options plain_options;    // "inflight" files: default table format, as the store's
  std::unique_ptr<rocksdb::SstFileWriter> writer;
  std::vector<std::string> record_files;
  // RESERVED/UNKNOWN records (key, encoded value), sorted since records come sorted: they go to
  // "inflight", where the store keeps them, not to "records".
  std::vector<std::pair<std::string, std::string>> in_flight;
  std::string last_key;
  bool failed = false;
  bool finished = false;

  ~Impl() {
    writer.reset();
    std::error_code ec;
    std::filesystem::remove_all(staging, ec);
  }

  absl::Status CloseFile() {
    if (writer == nullptr) return absl::OkStatus();
    rocksdb::Status s = writer->Finish();
    writer.reset();
    if (!s.ok()) return Unavailable("finishing a table file", s);
    return absl::OkStatus();
  }

  absl::Status StartFile() {
    writer = std::make_unique<rocksdb::SstFileWriter>(rocksdb::EnvOptions(), records_options);
    record_files.push_back(absl::StrCat(staging, "/records-", record_files.size(), ".sst"));
    rocksdb::Status s = writer->Open(record_files.back());
    if (!s.ok()) return Unavailable(absl::StrCat("creating ", record_files.back()), s);
    return absl::OkStatus();
  }

  absl::Status Ingest() {
    rocksdb::ColumnFamilyOptions records_cf(records_options);
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs = {
        {rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions()},
        {kRecordsCf, records_cf},
        {kInflightCf, internal::InflightFamilyOptions()},
    };
    rocksdb::DBOptions db_options;
    db_options.create_if_missing = false;
    db_options.allow_concurrent_memtable_write = false;  // the inflight family's vector memtable
    // RocksDB's own info log goes to the staging directory (removed afterwards): in the store's
    // directory it would rotate the store's LOG away.
    db_options.db_log_dir = staging;
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::Open(db_options, options.path, cfs, &handles, &raw);
    if (!s.ok()) return Unavailable(absl::StrCat("opening ", options.path), s);
    std::unique_ptr<rocksdb::DB> db(raw);

    rocksdb::IngestExternalFileOptions ingest;
    ingest.move_files = true;  // hard links within one filesystem: no copy of the data
    if (!record_files.empty()) s = db->IngestExternalFile(handles[1], record_files, ingest);
    if (s.ok() && !in_flight.empty()) {
      const std::string file = absl::StrCat(staging, "/inflight.sst");
      rocksdb::SstFileWriter w(rocksdb::EnvOptions(), plain_options);
      s = w.Open(file);
      for (size_t i = 0; s.ok() && i < in_flight.size(); ++i)
        s = w.Put(in_flight[i].first, in_flight[i].second);
      if (s.ok()) s = w.Finish();
      if (s.ok()) s = db->IngestExternalFile(handles[2], {file}, ingest);
    }
    if (s.ok()) s = db->SyncWAL();
    rocksdb::Status cs = rocksdb::Status::OK();
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      rocksdb::Status ds = db->DestroyColumnFamilyHandle(h);
      if (cs.ok()) cs = ds;
    }
    rocksdb::Status closed = db->Close();
    if (!s.ok()) return Unavailable("ingesting table files", s);
    if (!cs.ok()) return Unavailable("closing column families", cs);
    if (!closed.ok()) return Unavailable("closing the store", closed);
    return absl::OkStatus();
  }
};

BulkLoader::BulkLoader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

BulkLoader::~BulkLoader() = default;

absl::StatusOr<std::unique_ptr<BulkLoader>> BulkLoader::Create(const BulkLoadOptions& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("BulkLoader: empty path");
  if (options.file_bytes == 0) return absl::InvalidArgumentError("BulkLoader: file_bytes is 0");
  std::error_code ec;
  if (std::filesystem::exists(options.path, ec) && !std::filesystem::is_empty(options.path, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("BulkLoader: ", options.path, " exists and is not empty"));
  }

  // The store creates its own layout (column families, format version); the loader only adds
  // table files to it.
  {
    RocksDbStoreOptions so;
    so.path = options.path;
    so.block_cache_bytes = 1u << 20;
    so.bloom_bits_per_key = options.bloom_bits_per_key;
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open(so);
    if (!store.ok()) return store.status();
  }

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->staging = options.path + ".bulk-tmp";
  std::filesystem::remove_all(impl->staging, ec);
  if (!std::filesystem::create_directories(impl->staging, ec) || ec) {
    return absl::UnavailableError(
        absl::StrCat("BulkLoader: cannot create ", impl->staging, ": ", ec.message()));
  }
  // The store's own table format (filters, index), so loaded files read like compacted ones.
  impl->records_options = rocksdb::Options(
      rocksdb::DBOptions(),
      internal::RecordsFamilyOptions(rocksdb::NewLRUCache(1u << 20), options.bloom_bits_per_key));
  return std::unique_ptr<BulkLoader>(new BulkLoader(std::move(impl)));
}

absl::Status BulkLoader::Add(const Record& r) {
  Impl& impl = *impl_;
  if (impl.finished || impl.failed) {
    return absl::FailedPreconditionError("BulkLoader: Add() after Finish() or a failure");
  }
  constexpr size_t kMaxField = std::numeric_limits<uint32_t>::max();
  if (r.key.empty() || r.state == RecordState::kAbsent || r.fingerprint.size() > kMaxField ||
      r.reply.size() > kMaxField) {
    return absl::InvalidArgumentError("BulkLoader: empty key, absent state or oversized field");
  }
  if (records_added_ > 0 && r.key <= impl.last_key) {
    return absl::InvalidArgumentError(
        absl::StrCat("BulkLoader: key '", r.key, "' does not follow '", impl.last_key, "'"));
  }
  if (IsInFlight(r.state)) {
    impl.in_flight.emplace_back(r.key, EncodeRecordValue(r));
    ++in_flight_added_;
  } else {
    absl::Status st;
    if (impl.writer == nullptr) st = impl.StartFile();
    if (st.ok()) {
      rocksdb::Status s = impl.writer->Put(r.key, EncodeRecordValue(r));
      if (!s.ok()) st = Unavailable("writing a record", s);
    }
    if (st.ok() && impl.writer->FileSize() >= impl.options.file_bytes) st = impl.CloseFile();
    if (!st.ok()) {
      impl.failed = true;
      return st;
    }
  }
  impl.last_key = r.key;
  ++records_added_;
  return absl::OkStatus();
}

absl::Status BulkLoader::Finish() {
  Impl& impl = *impl_;
  if (impl.finished || impl.failed) {
    return absl::FailedPreconditionError("BulkLoader: Finish() twice or after a failure");
  }
  impl.finished = true;
  absl::Status st = impl.CloseFile();
  if (st.ok()) st = impl.Ingest();
  std::error_code ec;
  std::filesystem::remove_all(impl.staging, ec);
  return st;
}

}  // namespace ordergate::idempotency
