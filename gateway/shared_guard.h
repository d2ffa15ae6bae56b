// SharedGuard: what the pipeline needs of an idempotency guard that several gateways share
// (guard = "postgres", docs/POSTGRES_GUARD.md) beyond its Store: the lease that lets this gateway
// send, and the UNKNOWN orders of dead gateways that it adopts and asks the bridge about.
//
// The pipeline (gateway.cc) knows only this interface. The PostgreSQL implementation and its
// heartbeat thread are gateway/guard_lease.h, in the target ordergate_guard_postgres, which only
// ordergated (and the tests that need it) link: libordergate, the embedded library, never carries
// libpq. That target registers its opener here when its object is linked (SetSharedGuardOpener);
// without it, guard = "postgres" refuses to start, saying so.
//
// The lease rule (GatewayConfig::guard, docs/protocol.md appendix): renew every lease / 3; stop
// admitting and sending orders once lease - lease / 3 has passed since the start of the last
// successful renewal; another gateway may move this one's RESERVED records to UNKNOWN only once the
// database saw the lease expire. LeaseTiming holds that arithmetic, pure, so that it is tested
// without a database.
#ifndef ORDERGATE_GATEWAY_SHARED_GUARD_H_
#define ORDERGATE_GATEWAY_SHARED_GUARD_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/config.h"
#include "idempotency/record.h"
#include "idempotency/store.h"

namespace ordergate::gateway {

// The lease rule's arithmetic for a lease of `lease_ms` (>= 3). Pure; any thread.
struct LeaseTiming {
  int64_t lease_ms = 3000;
  // How often the heartbeat renews (and sweeps for dead gateways).
  int64_t renew_interval_ms() const { return lease_ms / 3; }
  // How long after the start of its last successful renewal the gateway may still admit and send:
  // the lease minus a margin of a third, which covers the renewal's round trip (the database
  // stamped the expiry after the request left) and the two clocks' rates.
  int64_t sendable_for_ms() const { return lease_ms - lease_ms / 3; }
  // May the gateway send at `now_ns`, its last successful renewal having started at
  // `renewed_at_ns` (steady clock; 0: never renewed nor acquired)?
  bool MaySend(int64_t renewed_at_ns, int64_t now_ns) const {
    return renewed_at_ns != 0 && now_ns - renewed_at_ns < sendable_for_ms() * 1'000'000;
  }
};

enum class LeaseState : uint8_t {
  kHeld = 0,      // renewed within sendable_for_ms: orders are admitted and sent
  kStale = 1,     // renewals failing (the database unreachable): no new order until one succeeds
  kLost = 2,      // the database says the lease expired or was taken over: no new order ever
                  // again in this process (another gateway may already treat ours as UNKNOWN)
  kReleased = 3,  // a clean stop released it
};
absl::string_view LeaseStateName(LeaseState s);

// Readable from any thread; exact counters, not one snapshot.
struct SharedGuardStats {
  LeaseState state = LeaseState::kHeld;
  int64_t incarnation = 0;
  uint64_t renewals = 0;            // successful renewals
  uint64_t renew_failures = 0;      // renewals that failed (unreachable, timeout, lost)
  uint64_t gateways_recovered = 0;  // dead gateways whose RESERVED records some sweep moved
  uint64_t orders_recovered = 0;    // their RESERVED -> UNKNOWN, by this gateway's sweeps
  uint64_t sweep_failures = 0;      // sweeps or in-flight listings that failed
  // Counted by the pipeline (Gateway::shared_guard_stats fills them): retries that joined another
  // live gateway's RESERVED order, dead gateways' UNKNOWN orders adopted (asked about, never
  // resent), and orders refused (STORE_UNAVAILABLE) or released unsent because the lease was
  // stale or lost.
  uint64_t foreign_joins = 0;
  uint64_t adopted_unknown = 0;
  uint64_t lease_refusals = 0;
};

// The pipeline's side of SharedGuardStats: written by the loop's thread, read from any thread.
struct SharedGuardCounters {
  std::atomic<uint64_t> foreign_joins{0};
  std::atomic<uint64_t> adopted_unknown{0};
  std::atomic<uint64_t> lease_refusals{0};
};

class SharedGuard {
 public:
  // Stops the heartbeat (joins its thread) without releasing the lease: a gateway that did not
  // stop cleanly leaves it to expire.
  virtual ~SharedGuard() = default;
  // Starts the heartbeat thread (renewals every LeaseTiming::renew_interval_ms, the sweep, the
  // listing of adoptable orders every cfg.unknown_query_interval_ms). Call once.
  virtual void Start() = 0;
  // Whether this gateway may admit and send an order now (LeaseTiming::MaySend on the last
  // successful renewal, and never after the lease was lost). Never blocks: atomics and the clock.
  // Any thread.
  virtual bool MaySend() const = 0;
  // Whether the database said this gateway's lease expired or was taken over (LeaseState::kLost):
  // for good in this process. Never blocks. Any thread.
  virtual bool Lost() const = 0;
  virtual SharedGuardStats stats() const = 0;
  // Moves into *out (replacing its contents) the latest listing, by the heartbeat, of the UNKNOWN
  // records of gateways whose lease has expired (or was released): orders nobody asks the bridge
  // about. False when there is no new listing since the last call, or the heartbeat holds it now
  // (a try-lock: never blocks the loop). Loop thread.
  virtual bool TakeAdoptable(std::vector<idempotency::Record>* out) = 0;
  // A clean stop: ends the heartbeat and releases the lease, so that other gateways take over this
  // one's UNKNOWN orders at once. Blocks for the thread's join and one statement. Call once, after
  // the last store write.
  virtual void Release() = 0;
  virtual const std::string& gateway_id() const = 0;
};

// What an opener returns: the store (its lease already acquired, this gateway's own RESERVED
// records already moved to UNKNOWN under it) and the guard, whose heartbeat is not started yet.
struct OpenedSharedGuard {
  std::unique_ptr<idempotency::Store> store;
  std::unique_ptr<SharedGuard> guard;
  uint64_t recovered = 0;  // this gateway's RESERVED -> UNKNOWN at start
};

// Opens the shared guard of cfg (guard = "postgres"). Blocks. Statuses carry messages.
using SharedGuardOpener = absl::StatusOr<OpenedSharedGuard> (*)(const GatewayConfig& cfg);

// Registration of the PostgreSQL opener (gateway/guard_lease.cc does it at static
// initialisation). Thread-safe (an atomic); the last registration wins.
void SetSharedGuardOpener(SharedGuardOpener opener);
// The registered opener, or null when no shared guard is linked into this program.
SharedGuardOpener GetSharedGuardOpener();

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_SHARED_GUARD_H_
