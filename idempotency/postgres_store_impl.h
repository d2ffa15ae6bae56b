// PostgresStore::Impl (postgres_store.h), shared by postgres_store.cc (records) and
// postgres_admin.cc (schema, partitions, leases). Internal to idempotency/.
#ifndef ORDERGATE_IDEMPOTENCY_POSTGRES_STORE_IMPL_H_
#define ORDERGATE_IDEMPOTENCY_POSTGRES_STORE_IMPL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "idempotency/postgres_connection.h"
#include "idempotency/postgres_store.h"

namespace ordergate::idempotency {

struct PostgresStore::Impl {
  PostgresStoreOptions options;

  // The writer: Apply() only, serialised by writer_mu.
  absl::Mutex writer_mu;
  pg::PgConnection writer ABSL_GUARDED_BY(writer_mu);
  absl::flat_hash_set<int64_t> known_days ABSL_GUARDED_BY(writer_mu);  // partitions seen to exist

  // The lease's own connection (RenewLease only): a renewal never waits for a pool connection
  // that the loop's reads or a sweep hold, so a busy gateway does not lose its lease.
  absl::Mutex lease_mu;
  pg::PgConnection lease_conn ABSL_GUARDED_BY(lease_mu);

  // The readers: at most options.pool_size connections, lent one at a time.
  absl::Mutex pool_mu;
  std::vector<std::unique_ptr<pg::PgConnection>> idle ABSL_GUARDED_BY(pool_mu);
  int lent ABSL_GUARDED_BY(pool_mu) = 0;

  // Connects `c` with this store's timeouts and prepared statements.
  absl::Status Connect(pg::PgConnection& c);

  // A pool connection, connected (reconnecting a broken one); waits while all are lent.
  // kUnavailable (with the message) when it cannot connect.
  absl::StatusOr<std::unique_ptr<pg::PgConnection>> Borrow();
  void Return(std::unique_ptr<pg::PgConnection> c);

  // Creates the partition of `day` if missing (on `c`, outside any transaction).
  absl::Status EnsureDay(pg::PgConnection& c, int64_t day);
};

// RAII loan of a pool connection.
class PooledConnection {
 public:
  explicit PooledConnection(PostgresStore::Impl* impl) : impl_(impl) {
    absl::StatusOr<std::unique_ptr<pg::PgConnection>> c = impl->Borrow();
    if (c.ok()) {
      conn_ = std::move(*c);
    } else {
      status_ = c.status();
    }
  }
  ~PooledConnection() {
    if (conn_ != nullptr) impl_->Return(std::move(conn_));
  }
  PooledConnection(const PooledConnection&) = delete;
  PooledConnection& operator=(const PooledConnection&) = delete;
  const absl::Status& status() const { return status_; }
  pg::PgConnection& operator*() { return *conn_; }
  pg::PgConnection* operator->() { return conn_.get(); }

 private:
  PostgresStore::Impl* impl_;
  std::unique_ptr<pg::PgConnection> conn_;
  absl::Status status_;
};

// The prepared statements every connection carries.
const std::vector<std::pair<std::string, std::string>>& PreparedStatements();

// The database's clock in unix milliseconds, as SQL.
inline constexpr char kDbNowMs[] = "(extract(epoch FROM clock_timestamp()) * 1000)::bigint";

}  // namespace ordergate::idempotency

#endif  // ORDERGATE_IDEMPOTENCY_POSTGRES_STORE_IMPL_H_
