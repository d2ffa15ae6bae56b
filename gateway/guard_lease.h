// The PostgreSQL shared guard's lease stage (gateway/shared_guard.h): the heartbeat thread that
// keeps this gateway's lease, sweeps for dead gateways and lists their UNKNOWN orders for the loop.
//
//   auto opened = OpenPostgresGuard(cfg);   // Open, AcquireLease, RecoverOwnPreviousRuns
//   loop.store = std::move(opened->store);  // the loop's Store, as RocksDB's would be
//   opened->guard->Start();                 // the heartbeat
//   ... loop: guard->MaySend() before admitting or sending; guard->TakeAdoptable(&records) ...
//   opened->guard->Release();               // a clean stop (after the last write)
//
// The lease stage is three threads that own nothing of the loop's and share with it only atomics
// (the start of the last successful renewal, the state, the counters) and one mutex-guarded listing
// that the loop takes with a try-lock:
//  1. og-lease renews and does nothing else, on the store's own lease connection (so neither a
//     sweep nor the loop's reads holding the pool can delay it): RenewLease(gateway_id,
//     incarnation, lease_ms) every renew_interval_ms (LeaseTiming), a quarter of that after a
//     failure. OK: the renewal's start time becomes the lease's reference (MaySend).
//     kFailedPrecondition: the lease expired or was taken over: LOST, for good (logged at error;
//     this process admits nothing more, it keeps resolving what it has). Anything else
//     (unreachable, timeout): counted, the state turns STALE once sendable_for_ms passed without a
//     success, and HELD again at the next success.
//  2. og-sweep, every renew_interval_ms while this gateway may send: ListExpiredLeases() and
//     RecoverGateway(id, listed incarnation) for each other gateway listed (their RESERVED records
//     become UNKNOWN: orders that may have executed, never resent), fenced on the lease row: a
//     gateway that restarted under the same id since the listing (a new incarnation) keeps its
//     fresh reservations. And every cfg.unknown_query_interval_ms: ListInFlight(), and of its
//     UNKNOWN records those whose owner (OwnerOf, cached: a key's owner never changes) is another
//     gateway whose lease has expired: the loop adopts them and asks the bridge about them like its
//     own.
//  3. og-retention, so that a slow DDL never delays anything: at start and every hour,
//     EnsurePartitions (today and tomorrow) and DropExpiredPartitions (days past the configured
//     retention, rounded up to whole days; in-flight records are carried forward first).
// Every call has the store's deadline (statement plus connect timeout: each a third of the lease,
// at most 2 s) even on a network that went silent. How much of an outage a lease survives: a
// renewal that succeeds within the lease of the last one; the nemesis on this guard
// (tests/reliability/nemesis_pg.h) counts the leases its database faults cost.
#ifndef ORDERGATE_GATEWAY_GUARD_LEASE_H_
#define ORDERGATE_GATEWAY_GUARD_LEASE_H_

#include "absl/status/statusor.h"
#include "gateway/config.h"
#include "gateway/shared_guard.h"

namespace ordergate::gateway {

// Opens the PostgreSQL store of cfg (guard_dsn, gateway_id; statement and connect timeouts of
// min(2000, guard_lease_ms / 3) ms), acquires the lease of cfg.gateway_id for guard_lease_ms
// (kAlreadyExists naming the gateway id and the expiry when a live gateway holds it: two
// processes under one name would share a writer mark and each other's records), then moves this
// gateway's own RESERVED records to UNKNOWN (RecoverOwnPreviousRuns, fenced on the incarnation just
// acquired: the previous runs' orders whose outcome they never recorded; this run has reserved
// nothing yet). Blocks. Statuses carry messages. The heartbeat is not started
// (SharedGuard::Start).
absl::StatusOr<OpenedSharedGuard> OpenPostgresGuard(const GatewayConfig& cfg);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_GUARD_LEASE_H_
