#include "idempotency/store_damage.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <system_error>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
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

// The way out for an operator who accepts the loss rather than restoring.
std::string Override(const std::string& dir) {
  return absl::StrCat(
      " Or accept the loss, only after reconciling with MT5 every order a client may still "
      "retry: remove ",
      dir, "/", kDurableMarkFile, " and start again.");
}

std::string Prefix(const std::string& dir) { return absl::StrCat("RocksDbStore: ", dir, ": "); }

// The number of "MANIFEST-000019" (with or without a leading "/"), or nullopt.
std::optional<uint64_t> ManifestNumber(absl::string_view name) {
  absl::ConsumePrefix(&name, "/");
  uint64_t number = 0;
  if (!absl::ConsumePrefix(&name, "MANIFEST-") || name.empty() ||
      name.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(name, &number) || number == 0) {
    return std::nullopt;
  }
  return number;
}

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
      kRestore, Override(dir)));
}

absl::Status CheckManifestAgainstMark(const std::string& dir, const DurableMark& mark) {
  if (mark.manifest.number == 0) return absl::OkStatus();  // a v1 mark: nothing recorded
  const std::string durable_name =
      absl::StrCat("MANIFEST-", absl::Dec(mark.manifest.number, absl::kZeroPad6));
  std::ifstream current_file(std::filesystem::path(dir) / "CURRENT", std::ios::binary);
  const std::string current((std::istreambuf_iterator<char>(current_file)),
                            std::istreambuf_iterator<char>());
  absl::string_view name = current;
  const bool has_newline = absl::ConsumeSuffix(&name, "\n");
  const std::optional<uint64_t> number =
      current_file.is_open() && has_newline ? ManifestNumber(name) : std::nullopt;
  if (!number.has_value()) {
    return absl::DataLossError(
        absl::StrCat(Prefix(dir), "its CURRENT file does not name a MANIFEST (\"",
                     absl::CEscape(current), "\"), but ", durable_name, " had been made durable (",
                     kDurableMarkFile, ").", kRefusal, kRestore, Override(dir)));
  }
  if (*number < mark.manifest.number) {
    return absl::DataLossError(absl::StrCat(
        Prefix(dir), "CURRENT names an older MANIFEST (", name, ") than ", durable_name,
        ", which had been made durable (", kDurableMarkFile,
        "): the table files written since that older MANIFEST, and every record in them, would be "
        "lost.",
        kRefusal, kRestore, Override(dir)));
  }
  if (*number > mark.manifest.number) return absl::OkStatus();  // RocksDB rolled it since
  std::error_code ec;
  const uintmax_t size =
      std::filesystem::file_size(std::filesystem::path(dir) / std::string(name), ec);
  if (ec || size < mark.manifest.bytes) {
    return absl::DataLossError(absl::StrCat(
        Prefix(dir), "its MANIFEST ", name, " is truncated: ",
        ec ? absl::StrCat("it cannot be read (", ec.message(), ")")
           : absl::StrCat("it has ", size, " bytes"),
        ", but ", mark.manifest.bytes, " bytes of it had been made durable (", kDurableMarkFile,
        "). RocksDB would drop the lost edits silently, and with them the table files written by "
        "the flushes they record, and every record in them.",
        kRefusal, kRestore, Override(dir)));
  }
  return absl::OkStatus();
}

std::optional<ManifestState> CurrentManifest(rocksdb::DB* db) {
  std::vector<std::string> live;
  uint64_t bytes = 0;
  if (!db->GetLiveFiles(live, &bytes, /*flush_memtable=*/false).ok()) return std::nullopt;
  for (const std::string& file : live) {
    if (const std::optional<uint64_t> number = ManifestNumber(file); number.has_value()) {
      return ManifestState{*number, bytes};
    }
  }
  return std::nullopt;
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
