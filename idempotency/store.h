// Store: the durable idempotency record set behind the gateway's pipeline.
//
// The pipeline needs four things of it: reserve a batch of keys, record outcomes, look a key up,
// and list what is in flight. RocksDB (rocksdb_store.h) is the embedded default; a shared backend
// for several gateways (PostgreSQL) can implement the same interface later, which is why a batch is
// the unit: one round trip / one fsync covers a whole burst (group commit).
//
//   std::vector<Change> changes = {{Change::Reserve("client\0uuid-1", fp)}};
//   std::vector<ChangeResult> results(changes.size());
//   absl::Status s = store->Apply(changes, now_ms, absl::MakeSpan(results));
//   if (!s.ok()) { /* fail closed: nothing is durable, send nothing */ }
//   else if (results[0].outcome == ChangeOutcome::kApplied) { /* durable: now it may be sent */ }
//   else if (results[0].outcome == ChangeOutcome::kExists) { /* results[0].existing holds the
//   record */ }
//
// Thread-safety: all methods may be called from any thread, but the gateway uses one writer thread;
// Apply() is serialised internally, so two concurrent Apply() calls never both reserve one key.
#ifndef ORDERGATE_IDEMPOTENCY_STORE_H_
#define ORDERGATE_IDEMPOTENCY_STORE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "idempotency/record.h"

namespace ordergate::idempotency {

enum class Durability : uint8_t {
  kSync = 0,   // WAL fsynced before Apply() returns: survives power loss
  kAsync = 1,  // WAL written (page cache) before Apply() returns: survives a process crash
};

// One requested change. Views must stay valid for the duration of the Apply() call only.
struct Change {
  RecordEvent event = RecordEvent::kReserve;
  absl::string_view key;
  absl::string_view fingerprint;  // kReserve only
  absl::string_view reply;  // kOutcomeFilled / kOutcomeRejected (stored, replayed); optional on
                            // kBridgeTimedOut (stored as the UNKNOWN reply)

  static Change Reserve(absl::string_view key, absl::string_view fingerprint) {
    return Change{RecordEvent::kReserve, key, fingerprint, {}};
  }
  static Change Event(RecordEvent e, absl::string_view key, absl::string_view reply = {}) {
    return Change{e, key, {}, reply};
  }
};

enum class ChangeOutcome : uint8_t {
  kApplied = 0,  // written; durable at the store's level once Apply() returned OK
  kExists =
      1,  // kReserve on a key that already has a record: `existing` is filled, nothing written
  kIllegal = 2,  // the transition table has no row for (current state, event): nothing written
};

struct ChangeResult {
  ChangeOutcome outcome = ChangeOutcome::kIllegal;
  RecordState state_after = RecordState::kAbsent;
  std::optional<Record> existing;  // set for kExists (and kIllegal when a record exists)
};

// Metadata: small values kept beside the records, apart from them (their own key space; the
// transition table and retention never apply), for the program's own bookkeeping (the gateway's
// per-minute statistics, gateway/minute_windows.h). Never on the request path.
struct MetaWrite {
  absl::string_view key;    // non-empty
  absl::string_view value;  // ignored when `erase`
  bool erase = false;       // remove `key` (absent: nothing to do, not an error)

  static MetaWrite Put(absl::string_view key, absl::string_view value) {
    return MetaWrite{key, value, false};
  }
  static MetaWrite Erase(absl::string_view key) { return MetaWrite{key, {}, true}; }
};

struct MetaEntry {
  std::string key;
  std::string value;
  bool operator==(const MetaEntry&) const = default;
};

// The store's rules for one change, applied to the key's current record `*cur` (state kAbsent when
// the key has none): a reservation of a key that has a record is kExists (`existing` filled, *cur
// untouched); an event the transition table (record.h) has no row for is kIllegal (`existing`
// filled when there is a record); otherwise kApplied and *cur moved: a reservation sets the
// fingerprint and created time and clears the reply, an outcome or a timeout stores its reply, a
// release empties the record (kAbsent), and the updated time is `now_unix_ms`. `key` is never
// touched. Pure, thread-safe; every Store applies its changes with it, so they cannot differ.
ChangeResult ApplyChangeTo(const Change& c, int64_t now_unix_ms, Record* cur);

struct StoreStats {
  uint64_t records = 0;    // estimate
  uint64_t in_flight = 0;  // RESERVED + UNKNOWN, exact
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies `changes` in order as one atomic batch; results[i] answers changes[i] (results.size()
  // must equal changes.size()). Changes later in the batch see the effect of earlier ones (a key
  // reserved twice in one batch: the second is kExists). `now_unix_ms` stamps created/updated
  // times. Blocks for one WAL write, plus one fsync under Durability::kSync. Returns OK: every
  // kApplied change is durable at the configured level.
  //   kUnavailable: the write failed (disk full, I/O error, store closed): the caller must act as
  //     if no change of the batch was applied (fail closed). A store stays unavailable until its
  //     cause is gone; each later Apply() retries recovery. (Bytes of a failed batch may still have
  //     reached the log: after a restart its changes may or may not be present, a reservation then
  //     as UNKNOWN, which errs on the safe side.)
  //   kDataLoss: a stored record of a key in the batch cannot be decoded; nothing written. Handle
  //     it like kUnavailable.
  //   kInvalidArgument: results.size() != changes.size(), an empty key, or a fingerprint/reply over
  //     4 GiB; nothing written.
  // Every error status is code-only (no message: no allocation on the request path), and on any
  // non-OK status every results[i] is reset to a default ChangeResult and means nothing.
  virtual absl::Status Apply(absl::Span<const Change> changes, int64_t now_unix_ms,
                             absl::Span<ChangeResult> results) = 0;

  // The record of `key`, or nullopt. Blocks on a point read (bloom filter makes misses cheap).
  // Code-only statuses: kUnavailable when the store cannot be read, kDataLoss when the stored value
  // cannot be decoded, kInvalidArgument for an empty key.
  virtual absl::StatusOr<std::optional<Record>> Lookup(absl::string_view key) = 0;

  // Every RESERVED and UNKNOWN record, from a dedicated index (cost proportional to the in-flight
  // count, not to the store size), as of one consistent point in time. Not for the request path:
  // error statuses carry messages.
  virtual absl::StatusOr<std::vector<Record>> ListInFlight() = 0;

  virtual StoreStats Stats() = 0;

  // Applies `writes` in order as one atomic batch of metadata. Blocks for one WAL write, never for
  // an fsync, whatever the store's durability: a metadata write survives a process crash (kill -9)
  // once this returns OK, and a power loss only once a later record batch (Apply) or a clean close
  // synced the log. It never moves what the store counts as acknowledged, so losing such a write
  // never makes the store refuse to open. Code-only statuses: kInvalidArgument (an empty key;
  // nothing written), kUnavailable (the write failed; nothing written), kUnimplemented (a store
  // without metadata: the default here, so a Store that has none still builds and serves orders).
  virtual absl::Status WriteMeta(absl::Span<const MetaWrite> writes) {
    (void)writes;
    return absl::Status(absl::StatusCode::kUnimplemented, "");
  }

  // Every metadata entry whose key starts with `prefix` (empty: all), in ascending key order, as of
  // one consistent point in time. Blocks on a scan of those entries. Not for the request path:
  // error statuses carry messages (kUnavailable: the read failed; kUnimplemented as WriteMeta).
  virtual absl::StatusOr<std::vector<MetaEntry>> ListMeta(absl::string_view prefix) {
    (void)prefix;
    return absl::UnimplementedError("this store keeps no metadata");
  }
};

}  // namespace ordergate::idempotency

#endif  // ORDERGATE_IDEMPOTENCY_STORE_H_
