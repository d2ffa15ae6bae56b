// PostgresStore: the shared implementation of Store, for several gateways on one database.
//
//   PostgresStoreOptions opts;
//   opts.dsn = "host=127.0.0.1 port=5432 user=ordergate dbname=ordergate";
//   opts.gateway_id = "gw-a";
//   opts.statement_timeout_ms = 2'000;  // below the bridge deadline (see the option)
//   absl::StatusOr<std::unique_ptr<PostgresStore>> store = PostgresStore::Open(opts);
//   absl::StatusOr<LeaseGrant> lease = (*store)->AcquireLease("gw-a", 5'000);
//   // ... then (*store)->Apply(changes, now_ms, results) exactly as with RocksDbStore.
//
// RocksDB (rocksdb_store.h) stays the embedded default; this store lets gateways on several hosts
// share one set of records, so a uuid is reserved once across all of them. libpq types never
// appear in this header, and PostgreSQL stays inside idempotency/ as rocksdb:: does.
//
// Schema (created if missing at Open(), idempotently; docs/POSTGRES_GUARD.md):
//   ordergate_records (key bytea, day int, state smallint, fingerprint bytea, reply bytea,
//       gateway_id text, batch_id bigint, created_unix_ms bigint, updated_unix_ms bigint,
//       PRIMARY KEY (key, day)) PARTITION BY RANGE (day): one partition per UTC day of reservation
//       (ordergate_records_d<day>), each with a partial index on state IN (1,4) (in flight).
//   ordergate_gateways (gateway_id text PRIMARY KEY, lease_expires_unix_ms bigint, incarnation
//       bigint): the leases (AcquireLease and the calls after it).
//   ordergate_writer_marks (gateway_id text PRIMARY KEY, batch_id bigint): the last batch each
//       gateway committed (the lost-COMMIT read-back below).
//
// Why day partitions, and how a key stays unique across them. Retention must drop whole partitions
// (DROP TABLE: no DELETE scan, no vacuum debt), so records are partitioned by their reservation
// day. PostgreSQL then demands the partition key in every unique index, so (key, day) is unique but
// key alone is not enforced by an index. Uniqueness of a key is kept by the writers instead: every
// batch first takes a transaction-scoped advisory lock per distinct key (a 64-bit FNV-1a of the
// key, the same in every gateway; locks taken in ascending order, so two batches never deadlock),
// then reads the keys' current records across all partitions, so two gateways reserving one key are
// serialised and the second finds the first's record. A key lookup probes each retained partition's
// primary-key index (retention_days + 1 probes, a few µs each). Partitioning on a hash of the key
// would give an enforced unique index but no way to expire by dropping tables.
//
// A batch (Apply) is one transaction and one COMMIT: BEGIN; lock the keys; read their records
// (FOR UPDATE); apply the changes in order in memory with ApplyChangeTo (store.h, the same function
// RocksDbStore uses, so the transition table cannot differ); write what changed: new records in one
// INSERT … ON CONFLICT DO NOTHING RETURNING key (sorted), changed ones in one UPDATE guarded by
// WHERE state = <the state read> (a terminal state can never move), released ones in one DELETE by
// key and state; record the batch's id in ordergate_writer_marks; COMMIT. Durability is the
// server's synchronous_commit: with a synchronous standby (deploy/postgres/cluster.sh) an
// acknowledged batch is on two machines.
//
// A lost answer to COMMIT (the connection drops after COMMIT was sent): the transaction may or may
// not have committed. The store reconnects and reads ordergate_writer_marks: the row of this
// gateway_id holds this batch's id (a random 64-bit number) if and only if the batch committed,
// since only this gateway's writer, serialised, writes that row. Committed: Apply() returns OK with
// the results computed inside the transaction. Not committed: the batch is run once more on the new
// connection. Exact as long as one gateway_id is used by one store at a time (the lease ensures
// it).
//
// A deadline on every database call, on the client's side: statement_timeout_ms +
// connect_timeout_ms (pg::PgConnection::CallDeadlineMs). The server's statement_timeout only
// bounds a statement the server received; when the network goes silent without closing the
// connection (a dead peer, a black-holing firewall, a hung proxy) libpq alone would wait for the
// answer for as long as TCP keeps the connection (minutes). Each call therefore sends without
// blocking and polls the socket until its deadline, then drops the connection: the call fails with
// kUnavailable and the next one reconnects (a connect is bounded by connect_timeout_ms, rounded up
// to whole seconds, at least 2 s: libpq's). A deadline hit while awaiting COMMIT's answer is a
// lost answer: the writer-mark read-back below decides. Other deadlines are not retried within the
// call. Each session also sets idle_in_transaction_session_timeout (twice the deadline), so a
// transaction its client gave up on cannot hold its key locks while the server still believes the
// connection alive. Worst cases: a call on a pool connection, one deadline (plus one connect when
// it had to reconnect first); Apply(), one deadline, or one deadline plus the read-back's connect
// and deadline when it was COMMIT's answer that never came.
//
// Errors: the database unreachable, a statement timeout, a broken connection, a call past its
// deadline → kUnavailable (code-only), fail closed, and the next call reconnects. Thread-safety:
// every method may be called from any thread. Apply() is serialised on one writer connection;
// RenewLease() has a connection of its own, so a renewal never waits for a pool connection;
// Lookup(), ListInFlight(), Stats() and the other lease calls use a pool of other connections, so
// they never wait behind a batch.
#ifndef ORDERGATE_IDEMPOTENCY_POSTGRES_STORE_H_
#define ORDERGATE_IDEMPOTENCY_POSTGRES_STORE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "idempotency/store.h"

namespace ordergate::idempotency {

struct PostgresStoreOptions {
  // libpq connection string ("host=… port=… user=… dbname=…" or a postgresql:// URI). Use
  // sslmode=disable on loopback, require (or verify-full) across machines.
  std::string dsn;
  // This gateway's name, stored in every record it reserves and used for its lease and its writer
  // mark. Unique per running gateway; non-empty.
  std::string gateway_id;
  // Reader connections (Lookup, ListInFlight, Stats, leases), opened lazily; the writer has its
  // own.
  int pool_size = 4;
  // Server-side statement_timeout of every connection. The caller must keep it (times the few
  // statements of one batch) below the bridge deadline: a batch that outlives the order's deadline
  // would reserve an order its client has already given up on. A timed-out statement fails its
  // call with kUnavailable. With connect_timeout_ms it makes each call's client-side deadline
  // (statement_timeout_ms + connect_timeout_ms, see above).
  int statement_timeout_ms = 2'000;
  // libpq connect_timeout (whole seconds, rounded up; at least 2 s: libpq's own floor), and the
  // network's allowance in each call's deadline.
  int connect_timeout_ms = 2'000;
  // Days of partitions kept by DropExpiredPartitions(): a partition whose day is older than
  // today - retention_days is dropped (its in-flight records carried forward first).
  int retention_days = 7;
};

// A lease held on a gateway_id (AcquireLease).
struct LeaseGrant {
  int64_t incarnation = 0;  // grows by one at each acquisition of this gateway_id
  int64_t expires_unix_ms = 0;
};

struct LeaseRow {
  std::string gateway_id;
  int64_t incarnation = 0;
  int64_t expires_unix_ms = 0;
  bool operator==(const LeaseRow&) const = default;
};

class PostgresStore final : public Store {
 public:
  // Connects the writer, creates the schema if missing (CREATE … IF NOT EXISTS, safe when several
  // gateways open at once: serialised by an advisory lock) and the partitions of today and
  // tomorrow, and prepares the statements. Does not touch any record (unlike RocksDbStore::Open,
  // which recovers RESERVED records: with several gateways that is RecoverOwnPreviousRuns's job
  // under a fresh lease, and RecoverGateway's for a gateway whose lease is known to be gone).
  // Blocks. Statuses carry messages (start-up path):
  //   kInvalidArgument: empty dsn or gateway_id, pool_size < 1, a non-positive timeout or
  //     retention.
  //   kUnavailable: the database cannot be reached or the schema cannot be created (the server's
  //     message is included).
  static absl::StatusOr<std::unique_ptr<PostgresStore>> Open(const PostgresStoreOptions& options);

  // Closes every connection (an Apply() in progress has finished: it holds the writer's lock).
  ~PostgresStore() override;

  // Store::Apply (store.h), one transaction per batch as described above. Blocks for ~7 round trips
  // and one COMMIT (with a synchronous standby: until the standby flushed it), each bounded by the
  // call deadline (above). Returns OK: every
  // kApplied change is committed (on the standby too, when the server has one as synchronous).
  //   kUnavailable: not connected and the reconnect failed, a statement failed or timed out or
  //     got no answer within its deadline, or a lost COMMIT (no answer, or none in time) whose
  //     read-back failed too (then the batch may have committed: a reservation of
  //     this gateway left RESERVED, found by a retry as kExists and by RecoverGateway as in
  //     flight — the safe side). Nothing of the batch is committed in every other case.
  //   kDataLoss: a stored record has a state outside the table (written by something else).
  //   kInvalidArgument: as Store::Apply.
  // Code-only statuses; on error every results[i] is reset.
  absl::Status Apply(absl::Span<const Change> changes, int64_t now_unix_ms,
                     absl::Span<ChangeResult> results) override;

  // Point read of `key` on a pool connection, across the retained partitions. Code-only statuses:
  // kUnavailable (unreachable, timeout), kDataLoss (a state outside the table), kInvalidArgument
  // (empty key).
  absl::StatusOr<std::optional<Record>> Lookup(absl::string_view key) override;

  // Every RESERVED and UNKNOWN record of every gateway (one statement, one snapshot; the partial
  // in-flight indexes keep it proportional to the in-flight count). Statuses carry messages.
  absl::StatusOr<std::vector<Record>> ListInFlight() override;

  // records: the planner's estimate (pg_class.reltuples of the partitions; -1 before a first
  // ANALYZE counts as 0); in_flight: exact. Zeros when the database cannot be read.
  StoreStats Stats() override;

  // The gateway that reserved `key`'s record ("" when there is none). Pool connection; kUnavailable
  // when the database cannot be read. For the gateway's joins of another gateway's order.
  absl::StatusOr<std::string> OwnerOf(absl::string_view key);

  // --- Leases (ordergate_gateways), judged by the database's clock, never a gateway's. Each blocks
  // on one statement on a pool connection, at most the call deadline (plus a connect when the pool
  // connection had to be reopened), and is committed (synchronously) when it returns OK. A call
  // that timed out may or may not have taken effect (kUnavailable either way).

  // Takes the lease of `gateway_id` for `lease_ms` when no live holder has it (never held,
  // released, or expired), incrementing its incarnation. kAlreadyExists: a live holder has it
  // (message names the expiry). kUnavailable: the database cannot be reached.
  absl::StatusOr<LeaseGrant> AcquireLease(absl::string_view gateway_id, int64_t lease_ms);
  // Extends the lease to now + lease_ms if `incarnation` still holds it and it has not expired.
  // kFailedPrecondition: it expired or was taken over (another gateway may already be treating this
  // one's in-flight orders as UNKNOWN: stop serving). kUnavailable: unreachable.
  absl::StatusOr<LeaseGrant> RenewLease(absl::string_view gateway_id, int64_t incarnation,
                                        int64_t lease_ms);
  // Ends the lease now (a clean stop). OK also when it was no longer held by `incarnation`.
  absl::Status ReleaseLease(absl::string_view gateway_id, int64_t incarnation);
  // Every lease row whose expiry has passed (released ones included), by gateway_id, each with the
  // incarnation that held it (what RecoverGateway must be given).
  absl::StatusOr<std::vector<LeaseRow>> ListExpiredLeases();

  // Moves every RESERVED record reserved by `gateway_id` to UNKNOWN (event kRecovered) in batches
  // of 256 through the writer, for a gateway whose lease expired; returns how many moved. Fenced by
  // the incarnation listed: each batch's transaction first locks the lease row (FOR UPDATE) and
  // moves nothing unless the row still holds `expired_incarnation` and is still expired. Why: a
  // sweep that listed the gateway as expired just before it restarted under the same id
  // (AcquireLease: a new incarnation) would otherwise move the new run's fresh reservations to
  // UNKNOWN. With the row locked, AcquireLease waits for the batch, and every reservation of the
  // new run comes after it; the next batch sees the new incarnation. The keys are listed before the
  // first batch, so a batch whose fence holds holds none of a later run's keys. OK with the count
  // moved (0, or what moved before, when the fence failed: the gateway is back, its records are its
  // own to settle). kUnavailable: the database cannot be read or a batch failed. Blocks.
  absl::StatusOr<uint64_t> RecoverGateway(absl::string_view gateway_id, int64_t expired_incarnation,
                                          int64_t now_unix_ms);
  // At start-up, right after AcquireLease gave this store's gateway_id `held_incarnation`: moves
  // every RESERVED record of this gateway_id to UNKNOWN (its previous runs' orders, whose outcome
  // was never recorded). Call it before this run reserves anything: every RESERVED record of the id
  // is then a previous run's. Fenced like RecoverGateway, on the row still holding
  // `held_incarnation` (live or not): kFailedPrecondition when another process has taken the id
  // since (then nothing more moved: the records may be that process's). kUnavailable as
  // RecoverGateway. Blocks.
  absl::StatusOr<uint64_t> RecoverOwnPreviousRuns(int64_t held_incarnation, int64_t now_unix_ms);

  // --- Retention.

  // Ensures the partitions of the days of `now_unix_ms` and the next exist (Apply() also creates
  // the partition of a batch's day when it is missing). Blocks on DDL.
  absl::Status EnsurePartitions(int64_t now_unix_ms);
  // Drops every partition whose day is before day(now_unix_ms) - retention_days: its RESERVED and
  // UNKNOWN records are first moved to today's partition (in-flight records never expire), then the
  // partition is detached and dropped in the same transaction (brief ACCESS EXCLUSIVE lock on the
  // parent: batches wait for it). Returns the days dropped. Blocks.
  absl::StatusOr<std::vector<int64_t>> DropExpiredPartitions(int64_t now_unix_ms);
  // The days that have a partition, ascending.
  absl::StatusOr<std::vector<int64_t>> PartitionDays();

  // The UTC day number of a time (floor(unix_ms / 86'400'000)).
  static int64_t DayOf(int64_t unix_ms);

  const std::string& gateway_id() const;

  // Internal (postgres_store_impl.h), public only so the implementation's files can name it.
  struct Impl;

 private:
  explicit PostgresStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::idempotency

#endif  // ORDERGATE_IDEMPOTENCY_POSTGRES_STORE_H_
