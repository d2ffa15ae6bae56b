// PostgresStore (postgres_store.h): Open and the schema, daily partitions, leases. Not on the
// request path: statuses carry messages.
#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "idempotency/postgres_store.h"
#include "idempotency/postgres_store_impl.h"

namespace ordergate::idempotency {
namespace {

using pg::PgConnection;
using pg::PgResult;

// Serialises schema and partition DDL between gateways opening at once (CREATE … IF NOT EXISTS
// alone races on the catalog). Any constant unlikely to collide with another application's.
constexpr char kDdlLock[] = "SELECT pg_advisory_xact_lock(7216708093142185001);";

constexpr char kSchema[] =
    "CREATE TABLE IF NOT EXISTS ordergate_records ("
    "  key bytea NOT NULL,"
    "  day integer NOT NULL,"
    "  state smallint NOT NULL CHECK (state BETWEEN 1 AND 4),"
    "  fingerprint bytea NOT NULL,"
    "  reply bytea NOT NULL,"
    "  gateway_id text NOT NULL,"
    "  batch_id bigint NOT NULL,"
    "  created_unix_ms bigint NOT NULL,"
    "  updated_unix_ms bigint NOT NULL,"
    "  PRIMARY KEY (key, day)"
    ") PARTITION BY RANGE (day);"
    "CREATE INDEX IF NOT EXISTS ordergate_records_in_flight ON ordergate_records (gateway_id) "
    "  WHERE state IN (1, 4);"
    "CREATE TABLE IF NOT EXISTS ordergate_gateways ("
    "  gateway_id text PRIMARY KEY,"
    "  lease_expires_unix_ms bigint NOT NULL,"
    "  incarnation bigint NOT NULL);"
    "CREATE TABLE IF NOT EXISTS ordergate_writer_marks ("
    "  gateway_id text PRIMARY KEY,"
    "  batch_id bigint NOT NULL);";

std::string PartitionName(int64_t day) { return absl::StrCat("ordergate_records_d", day); }

absl::Status Failed(absl::string_view what, const PgConnection& c) {
  return absl::UnavailableError(absl::StrCat("PostgresStore: ", what, ": ", c.last_error()));
}

absl::StatusOr<LeaseGrant> ParseGrant(const PgResult& r) {
  LeaseGrant g;
  if (r.rows() != 1 || !pg::ParseInt(r.Get(0, 0), &g.incarnation) ||
      !pg::ParseInt(r.Get(0, 1), &g.expires_unix_ms)) {
    return absl::InternalError("PostgresStore: unexpected lease row");
  }
  return g;
}

}  // namespace

absl::Status PostgresStore::Impl::EnsureDay(PgConnection& c, int64_t day) {
  const std::string sql = absl::StrCat(
      "BEGIN;", kDdlLock, "CREATE TABLE IF NOT EXISTS ", PartitionName(day),
      " PARTITION OF ordergate_records FOR VALUES FROM (", day, ") TO (", day + 1, ");COMMIT;");
  if (!c.ExecSimple(sql.c_str()).ok()) {
    if (c.Connected()) (void)c.ExecSimple("ROLLBACK");
    return Failed(absl::StrCat("creating the partition of day ", day), c);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<PostgresStore>> PostgresStore::Open(
    const PostgresStoreOptions& options) {
  if (options.dsn.empty()) return absl::InvalidArgumentError("PostgresStore: empty dsn");
  if (options.gateway_id.empty()) {
    return absl::InvalidArgumentError("PostgresStore: empty gateway_id");
  }
  if (options.pool_size < 1 || options.statement_timeout_ms <= 0 ||
      options.connect_timeout_ms <= 0 || options.retention_days <= 0) {
    return absl::InvalidArgumentError(
        "PostgresStore: pool_size, statement_timeout_ms, connect_timeout_ms and retention_days "
        "must be positive");
  }
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  {
    // The schema must exist before the statements can be prepared: a plain connection first.
    PgConnection c;
    if (absl::Status s =
            c.Connect(options.dsn, options.connect_timeout_ms, options.statement_timeout_ms, {});
        !s.ok()) {
      return s;
    }
    const std::string sql = absl::StrCat("BEGIN;", kDdlLock, kSchema, "COMMIT;");
    if (!c.ExecSimple(sql.c_str()).ok()) return Failed("creating the schema", c);
  }
  std::unique_ptr<PostgresStore> store(new PostgresStore(std::move(impl)));
  {
    absl::MutexLock l(&store->impl_->writer_mu);
    if (absl::Status s = store->impl_->Connect(store->impl_->writer); !s.ok()) return s;
  }
  return store;
}

absl::Status PostgresStore::EnsurePartitions(int64_t now_unix_ms) {
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return c.status();
  const int64_t day = DayOf(now_unix_ms);
  for (int64_t d : {day, day + 1}) {
    if (absl::Status s = impl_->EnsureDay(*c, d); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> PostgresStore::PartitionDays() {
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return c.status();
  PgResult r;
  if (!c->Exec("SELECT substr(c.relname, 20)::bigint AS day FROM pg_inherits i JOIN pg_class c ON "
               "c.oid = i.inhrelid WHERE i.inhparent = 'ordergate_records'::regclass AND "
               "c.relname LIKE 'ordergate\\_records\\_d%' ORDER BY day",
               {}, &r)
           .ok()) {
    return Failed("listing partitions", *c);
  }
  std::vector<int64_t> days;
  for (int i = 0; i < r.rows(); ++i) {
    int64_t d = 0;
    if (pg::ParseInt(r.Get(i, 0), &d)) days.push_back(d);
  }
  return days;
}

absl::StatusOr<std::vector<int64_t>> PostgresStore::DropExpiredPartitions(int64_t now_unix_ms) {
  absl::StatusOr<std::vector<int64_t>> days = PartitionDays();
  if (!days.ok()) return days.status();
  const int64_t today = DayOf(now_unix_ms);
  const int64_t cutoff = today - impl_->options.retention_days;
  if (absl::Status s = EnsurePartitions(now_unix_ms); !s.ok()) return s;
  std::vector<int64_t> dropped;
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return c.status();
  for (int64_t d : *days) {
    if (d >= cutoff) continue;
    // In-flight records never expire: carried into today's partition (row movement), then the
    // day's table goes as a whole. One transaction, so a failure leaves the day as it was. The
    // parent is locked first, whole: DETACH needs that lock anyway, and taking it before the row
    // movement means no batch holds a row this moves (no deadlock, no "tuple moved" conflict).
    const std::string sql =
        absl::StrCat("BEGIN;", kDdlLock, "LOCK TABLE ordergate_records IN ACCESS EXCLUSIVE MODE;",
                     "UPDATE ordergate_records SET day = ", today, " WHERE day = ", d,
                     " AND state IN (1, 4);", "ALTER TABLE ordergate_records DETACH PARTITION ",
                     PartitionName(d), ";DROP TABLE ", PartitionName(d), ";COMMIT;");
    if (!c->ExecSimple(sql.c_str()).ok()) {
      if (c->Connected()) (void)c->ExecSimple("ROLLBACK");
      return Failed(absl::StrCat("dropping the partition of day ", d), *c);
    }
    dropped.push_back(d);
  }
  return dropped;
}

absl::StatusOr<LeaseGrant> PostgresStore::AcquireLease(absl::string_view gateway_id,
                                                       int64_t lease_ms) {
  if (gateway_id.empty() || lease_ms <= 0) {
    return absl::InvalidArgumentError("AcquireLease: empty gateway_id or non-positive lease_ms");
  }
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return c.status();
  PgResult r;
  const std::string sql = absl::StrCat(
      "WITH n AS (SELECT ", kDbNowMs,
      " AS ms) INSERT INTO ordergate_gateways AS g (gateway_id, lease_expires_unix_ms, "
      "incarnation) SELECT $1, n.ms + $2::bigint, 1 FROM n ON CONFLICT (gateway_id) DO UPDATE SET "
      "lease_expires_unix_ms = EXCLUDED.lease_expires_unix_ms, incarnation = g.incarnation + 1 "
      "WHERE g.lease_expires_unix_ms <= (SELECT ms FROM n) RETURNING incarnation, "
      "lease_expires_unix_ms");
  const std::string lease = absl::StrCat(lease_ms);
  if (!c->Exec(sql.c_str(), {gateway_id, lease}, &r).ok()) return Failed("AcquireLease", *c);
  if (r.rows() == 1) return ParseGrant(r);
  PgResult holder;
  const std::string expiry = c->Exec(absl::StrCat("SELECT lease_expires_unix_ms - ", kDbNowMs,
                                                  " FROM ordergate_gateways WHERE gateway_id = $1")
                                         .c_str(),
                                     {gateway_id}, &holder)
                                         .ok() &&
                                     holder.rows() == 1
                                 ? holder.Get(0, 0)
                                 : std::string("?");
  return absl::AlreadyExistsError(absl::StrCat("AcquireLease: gateway_id '", gateway_id,
                                               "' is held by a live gateway (lease expires in ",
                                               expiry, " ms)"));
}

absl::StatusOr<LeaseGrant> PostgresStore::RenewLease(absl::string_view gateway_id,
                                                     int64_t incarnation, int64_t lease_ms) {
  if (lease_ms <= 0) return absl::InvalidArgumentError("RenewLease: non-positive lease_ms");
  absl::MutexLock lock(&impl_->lease_mu);
  PgConnection* c = &impl_->lease_conn;
  if (!c->Connected()) {
    if (absl::Status s = impl_->Connect(*c); !s.ok()) return s;
  }
  PgResult r;
  const std::string sql =
      absl::StrCat("UPDATE ordergate_gateways SET lease_expires_unix_ms = ", kDbNowMs,
                   " + $3::bigint WHERE gateway_id = $1 AND incarnation = $2::bigint AND "
                   "lease_expires_unix_ms > ",
                   kDbNowMs, " RETURNING incarnation, lease_expires_unix_ms");
  const std::string inc = absl::StrCat(incarnation);
  const std::string lease = absl::StrCat(lease_ms);
  if (!c->Exec(sql.c_str(), {gateway_id, inc, lease}, &r).ok()) return Failed("RenewLease", *c);
  if (r.rows() == 0) {
    return absl::FailedPreconditionError(absl::StrCat("RenewLease: the lease of '", gateway_id,
                                                      "' (incarnation ", incarnation,
                                                      ") expired or was taken over"));
  }
  return ParseGrant(r);
}

absl::Status PostgresStore::ReleaseLease(absl::string_view gateway_id, int64_t incarnation) {
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return c.status();
  const std::string inc = absl::StrCat(incarnation);
  if (!c->Exec("UPDATE ordergate_gateways SET lease_expires_unix_ms = 0 WHERE gateway_id = $1 AND "
               "incarnation = $2::bigint",
               {gateway_id, inc}, nullptr)
           .ok()) {
    return Failed("ReleaseLease", *c);
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LeaseRow>> PostgresStore::ListExpiredLeases() {
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return c.status();
  PgResult r;
  const std::string sql = absl::StrCat(
      "SELECT gateway_id, incarnation, lease_expires_unix_ms FROM ordergate_gateways WHERE "
      "lease_expires_unix_ms <= ",
      kDbNowMs, " ORDER BY gateway_id");
  if (!c->Exec(sql.c_str(), {}, &r).ok()) return Failed("ListExpiredLeases", *c);
  std::vector<LeaseRow> rows(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    LeaseRow& row = rows[static_cast<size_t>(i)];
    row.gateway_id = r.Get(i, 0);
    if (!pg::ParseInt(r.Get(i, 1), &row.incarnation) ||
        !pg::ParseInt(r.Get(i, 2), &row.expires_unix_ms)) {
      return absl::InternalError("ListExpiredLeases: unexpected row");
    }
  }
  return rows;
}

}  // namespace ordergate::idempotency
