// OpenLocalStore (gateway/local_store.h): the only place the gateway core names RocksDB's store.
#include "gateway/local_store.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "idempotency/rocksdb_store.h"
#include "spdlog/spdlog.h"

namespace ordergate::gateway {

absl::StatusOr<OpenedLocalStore> OpenLocalStore(const GatewayConfig& cfg) {
  idempotency::RocksDbStoreOptions sopts;
  sopts.path = cfg.data_dir;
  sopts.durability = cfg.durability;
  sopts.retention = cfg.retention;
  // A start that fails later (a port in use) leaves no data directory it created behind.
  sopts.remove_created_directory_if_unused = true;
  auto opened = idempotency::RocksDbStore::Open(sopts);
  if (!opened.ok()) {
    return absl::Status(
        opened.status().code(),
        absl::StrCat("cannot open the store at ", cfg.data_dir, ": ", opened.status().message()));
  }
  idempotency::RocksDbStore* rocks = opened->get();
  if (rocks->durable_mark_was_absent()) {
    spdlog::warn(
        "the store at {} had no durable mark (ORDERGATE-DURABLE-MARK): accepted as recovered up "
        "to WAL sequence {}; records lost before this start cannot be detected (an operator "
        "removed the mark to accept a loss, or the store predates the mark)",
        cfg.data_dir, rocks->recovered_sequence());
  }
  OpenedLocalStore out;
  out.recovered = rocks->recovered_count();
  out.keep_directory = [rocks] { rocks->KeepDirectory(); };
  out.store = std::move(*opened);
  return out;
}

}  // namespace ordergate::gateway
