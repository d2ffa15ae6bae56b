// The simulation's disk and store: an idempotency::Store kept in memory, with the RocksDB store's
// semantics (the transition table of idempotency/record.h, kExists / kIllegal, RESERVED recovered
// as UNKNOWN when a store is opened over what a crashed gateway left), and faults the simulator
// switches on and off: Apply() failing with kUnavailable, and a failed batch that nonetheless
// reached the disk (store.h allows it: "after a restart its changes may or may not be present").
//
//   SimDisk disk;                                     // outlives every gateway incarnation
//   auto store = std::make_unique<SimStore>(&disk);   // an open: RESERVED -> UNKNOWN
//   disk.failing = true;                              // the next Apply() calls fail, closed
//
// Durability is durability=sync's: what Apply() acknowledged is on the disk. Single-threaded: the
// simulation runs the gateway, its journal and this store on one thread.
#ifndef ORDERGATE_TESTS_SIMULATION_SIM_STORE_H_
#define ORDERGATE_TESTS_SIMULATION_SIM_STORE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "idempotency/store.h"

namespace ordergate::sim {

struct SimDisk {
  std::map<std::string, idempotency::Record> records;  // ordered: reproducible iteration
  std::set<std::string> in_flight;  // keys of RESERVED and UNKNOWN records (ListInFlight's index)
  // Batches whose Apply() failed but whose bytes may have reached the log: each is applied (or
  // not, by the draw) when the next store is opened.
  struct TornChange {
    idempotency::RecordEvent event;
    std::string key, fingerprint, reply;
  };
  std::vector<std::vector<TornChange>> torn;
  bool failing = false;     // Apply() answers kUnavailable while set
  double torn_share = 0.5;  // of failed batches, how many reached the disk anyway
  std::mt19937_64* rng = nullptr;
  uint64_t applies = 0, failed_applies = 0, torn_applied = 0, recovered = 0;
};

class SimStore final : public idempotency::Store {
 public:
  // Opens the store over `disk`: applies or drops each torn batch (drawn), then moves every
  // RESERVED record to UNKNOWN (kRecovered), as RocksDbStore::Open does after a crash.
  explicit SimStore(SimDisk* disk);

  absl::Status Apply(absl::Span<const idempotency::Change> changes, int64_t now_unix_ms,
                     absl::Span<idempotency::ChangeResult> results) override;
  absl::StatusOr<std::optional<idempotency::Record>> Lookup(absl::string_view key) override;
  absl::StatusOr<std::vector<idempotency::Record>> ListInFlight() override;
  idempotency::StoreStats Stats() override;

 private:
  SimDisk* const disk_;
};

// One change applied to the disk's records (and its in-flight index) with the store's rules.
idempotency::ChangeResult ApplyOne(SimDisk* disk, idempotency::RecordEvent event,
                                   absl::string_view key, absl::string_view fingerprint,
                                   absl::string_view reply, int64_t now_unix_ms);

}  // namespace ordergate::sim

#endif  // ORDERGATE_TESTS_SIMULATION_SIM_STORE_H_
