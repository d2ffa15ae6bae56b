#include "idempotency/store_damage.h"

#include <unistd.h>

#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "idempotency/data_directory.h"
#include "idempotency/durable_mark.h"
#include "idempotency/rocksdb_layout.h"
#include "rocksdb/db.h"

namespace ordergate::idempotency::internal {
namespace {

// Why the store refuses rather than opening what is left, and the way out that always exists.
constexpr char kRefusal[] =
    " Refusing to open: an order whose record is lost would execute again when it is retried.";
constexpr char kRestore[] =
    " Restore the whole directory from a backup (see docs/STORE_RECOVERY.md).";

std::string Prefix(const std::string& dir) { return absl::StrCat("RocksDbStore: ", dir, ": "); }

}  // namespace

bool HoldsStoreFiles(const std::string& dir) {
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name == "CURRENT" || name == "IDENTITY" || name == kDurableMarkFile ||
        absl::StartsWith(name, "MANIFEST-") || absl::StartsWith(name, "OPTIONS-") ||
        absl::EndsWith(name, ".log") || absl::EndsWith(name, ".sst")) {
      return true;
    }
  }
  return false;
}

absl::Status CheckExistingStore(const rocksdb::DBOptions& db_options, const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return absl::DataLossError(absl::StrCat(
        Prefix(dir), "the directory holds a store's files but its CURRENT file is missing.",
        kRefusal, kRestore));
  }
  std::vector<std::string> families;
  if (!rocksdb::DB::ListColumnFamilies(db_options, dir, &families).ok()) {
    return absl::OkStatus();  // DB::Open() reads the same MANIFEST and reports why
  }
  bool has_records = false;
  bool has_inflight = false;
  for (const std::string& name : families) {
    if (name == kRecordsCf) {
      has_records = true;
    } else if (name == kInflightCf) {
      has_inflight = true;
    } else if (name != rocksdb::kDefaultColumnFamilyName && name != kMetaCf) {
      return absl::FailedPreconditionError(
          absl::StrCat("RocksDbStore: ", dir, " has unexpected column family '", name, "'"));
    }
  }
  if (!has_records || !has_inflight) {
    std::vector<std::string> missing;
    if (!has_records) missing.push_back(absl::StrCat("'", kRecordsCf, "'"));
    if (!has_inflight) missing.push_back(absl::StrCat("'", kInflightCf, "'"));
    return absl::DataLossError(
        absl::StrCat(Prefix(dir), "its MANIFEST no longer lists the column famil",
                     missing.size() == 1 ? "y " : "ies ", absl::StrJoin(missing, " and "),
                     " (the MANIFEST is truncated or damaged), so every record held there is lost.",
                     kRefusal, kRestore));
  }
  return absl::OkStatus();
}

absl::Status OpenFailure(const std::string& dir, bool existing, const rocksdb::Status& s) {
  // RocksDB 7.8: "IO error: While lock file: DIR/LOCK: Resource temporarily unavailable" (another
  // process), "IO error: lock hold by current process, ...: DIR/LOCK: No locks available" (this
  // one). Reached when the holder took the LOCK after CheckNotInUse() looked.
  // Other failures on LOCK (it cannot be created: permissions, no space) keep RocksDB's message.
  const std::string text = s.ToString();
  if (s.IsIOError() && absl::StrContains(text, absl::StrCat(dir, "/LOCK"))) {
    if (absl::StrContains(text, "lock hold by current process")) {
      return InUseError(dir, LockHolder{::getpid(), ""});
    }
    std::optional<LockHolder> holder = FindLockHolder(dir);
    if (holder || absl::StrContains(text, "While lock file")) return InUseError(dir, holder);
  }
  if (existing && (s.IsCorruption() || s.IsPathNotFound())) {
    return absl::DataLossError(absl::StrCat(
        Prefix(dir), "the store is damaged (RocksDB: ", s.ToString(), ").", kRefusal, kRestore));
  }
  return absl::UnavailableError(absl::StrCat("RocksDbStore: open ", dir, ": ", s.ToString()));
}

absl::Status CheckRecoveredSequence(const std::string& dir, uint64_t recovered,
                                    std::optional<uint64_t> mark) {
  if (!mark || recovered >= *mark) return absl::OkStatus();
  return absl::DataLossError(absl::StrCat(
      Prefix(dir), "records were lost: the store recovered up to sequence ", recovered,
      " of its write-ahead log, but every sequence up to ", *mark, " had been made durable (",
      kDurableMarkFile, "): its WAL (the *.log files) is damaged, truncated or missing.", kRefusal,
      kRestore,
      " Or accept the loss, only after reconciling with MT5 every order a client may still "
      "retry: remove ",
      dir, "/", kDurableMarkFile, " and start again."));
}

absl::Status CheckRecoveredReadOnly(const rocksdb::DBOptions& db_options, const std::string& dir,
                                    const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
                                    uint64_t mark) {
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s = rocksdb::DB::OpenForReadOnly(db_options, dir, families, &handles, &raw);
  if (!s.ok()) return OpenFailure(dir, /*existing=*/true, s);
  const uint64_t recovered = raw->GetLatestSequenceNumber();
  for (rocksdb::ColumnFamilyHandle* h : handles)
    raw->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  raw->Close().PermitUncheckedError();
  delete raw;
  return CheckRecoveredSequence(dir, recovered, mark);
}

}  // namespace ordergate::idempotency::internal
