// The gateway's own store (guard = "local"): the RocksDB store in `data_dir`, opened from the
// configuration and handed to the pipeline as the backend-neutral idempotency::Store, so that the
// pipeline never names a backend (the shared guard's opener, shared_guard.h, does the same for
// PostgreSQL). Callers that build the store themselves (tests, the simulation) pass it in instead.
//
//   auto opened = OpenLocalStore(cfg);
//   if (!opened.ok()) return opened.status();  // the message names the directory and the cause
//   counters.recovered_unknown = opened->recovered;
//   store = std::move(opened->store);
//   ...once the gateway is running:  opened->keep_directory();
//
// Blocks: opens RocksDB, recovers its WAL and checks the durable mark (what RocksDbStore::Open
// does: idempotency/rocksdb_store.h). Thread-safety: call from one thread; the store it returns is
// safe for the pipeline's and the journal's threads as RocksDbStore documents.
#ifndef ORDERGATE_GATEWAY_LOCAL_STORE_H_
#define ORDERGATE_GATEWAY_LOCAL_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "gateway/config.h"
#include "idempotency/store.h"

namespace ordergate::gateway {

struct OpenedLocalStore {
  std::unique_ptr<idempotency::Store> store;
  // Records this open moved from RESERVED to UNKNOWN (orders in flight when the last run ended).
  uint64_t recovered = 0;
  // Keeps the data directory even if no record is ever written. The store was opened with
  // remove_created_directory_if_unused, so a start that fails later (a port in use) leaves no
  // directory it created behind; a gateway that ran keeps it. Valid while `store` lives.
  std::function<void()> keep_directory;
};

// The store of cfg.data_dir at cfg.durability and cfg.retention. Every error names the directory:
// kFailedPrecondition / kDataLoss for a store it refuses (damage, a lost durable mark, another
// process holding it), kUnavailable / kInternal for I/O, as RocksDbStore::Open reports them. Logs a
// warning when the store had no durable mark (accepted as recovered, loss undetectable).
absl::StatusOr<OpenedLocalStore> OpenLocalStore(const GatewayConfig& cfg);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_LOCAL_STORE_H_
