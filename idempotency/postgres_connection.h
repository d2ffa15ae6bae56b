// PgConnection: one libpq connection as PostgresStore (postgres_store.h) uses it. Internal to
// idempotency/: no other folder includes this header, and no libpq type appears in it.
//
//   PgConnection c;
//   absl::Status s = c.Connect(dsn, /*connect_timeout_ms=*/2'000, /*statement_timeout_ms=*/500);
//   PgResult r;
//   s = c.Exec("SELECT 1", {}, &r);  // r.Get(0, 0) == "1"
//
// Every call has a client-side deadline (CallDeadlineMs): the request is sent in non-blocking mode
// and the answer awaited with poll() on the socket, so a call never blocks longer than that even
// when the network or the server goes silent without closing the connection (the server never got
// the statement, or its answer never comes back: statement_timeout cannot help then). When the
// deadline passes the connection is dropped (PQfinish; no PQcancel: it would block on the same
// silent network) and the call fails with kConnection, deadline_passed() true: what the server did
// with the request is unknown, exactly as for a connection that broke.
//
// Parameters and results are text format; bytea travels as "\x" + hex both ways (EncodeBytea,
// DecodeBytea), arrays as literals built by the Array* helpers. A call that finds the connection
// broken closes it: Connected() is then false and the owner reconnects before its next use.
// Not thread-safe: one thread at a time per connection (PostgresStore serialises or pools them).
#ifndef ORDERGATE_IDEMPOTENCY_POSTGRES_CONNECTION_H_
#define ORDERGATE_IDEMPOTENCY_POSTGRES_CONNECTION_H_

#include <cstdint>
#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace ordergate::idempotency::pg {

// The rows of one statement's result, copied out of libpq's result (text format).
class PgResult {
 public:
  int rows() const { return rows_; }
  int columns() const { return columns_; }
  const std::string& Get(int row, int column) const {
    return cells_[static_cast<size_t>(row) * static_cast<size_t>(columns_) +
                  static_cast<size_t>(column)];
  }
  bool IsNull(int row, int column) const {
    return nulls_[static_cast<size_t>(row) * static_cast<size_t>(columns_) +
                  static_cast<size_t>(column)];
  }
  void Reset(int rows, int columns) {
    rows_ = rows;
    columns_ = columns;
    cells_.resize(static_cast<size_t>(rows) * static_cast<size_t>(columns));
    nulls_.assign(cells_.size(), false);
  }
  std::string* Cell(int row, int column) {
    return &cells_[static_cast<size_t>(row) * static_cast<size_t>(columns_) +
                   static_cast<size_t>(column)];
  }
  void SetNull(int row, int column) {
    nulls_[static_cast<size_t>(row) * static_cast<size_t>(columns_) + static_cast<size_t>(column)] =
        true;
  }

 private:
  int rows_ = 0;
  int columns_ = 0;
  std::vector<std::string> cells_;
  std::vector<bool> nulls_;
};

// How a failed call failed, for the caller's retry decision.
enum class PgFailure : uint8_t {
  kNone = 0,
  kConnection = 1,  // the connection is broken (closed now); the server's side is unknown
  kTimeout = 2,     // statement_timeout (SQLSTATE 57014)
  kConflict = 3,    // deadlock or serialization failure (40P01, 40001): retry the transaction
  kOther = 4,       // any other server error
};

class PgConnection {
 public:
  PgConnection() = default;
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // The client-side deadline of one call: statement_timeout_ms + connect_timeout_ms. The server's
  // own statement_timeout fires first for a statement that merely runs long (its error leaves the
  // connection usable), and the call is given one more connect timeout, the allowance this store
  // already grants the network to reach the server, for the answer to come back. A multi-statement
  // ExecSimple string has one deadline for the whole string.
  static int CallDeadlineMs(int connect_timeout_ms, int statement_timeout_ms);

  // Connects (closing any previous connection), sets statement_timeout and
  // idle_in_transaction_session_timeout (twice the call deadline: a transaction whose client gave
  // up never holds its locks for long), and prepares `prepared` (name, SQL) statements. Blocks up
  // to libpq's connect_timeout (whole seconds, at least 2 s in libpq) for the connection, then up
  // to the call deadline per step. TCP keepalives and tcp_user_timeout (the call deadline) are on
  // unless the dsn says otherwise. kUnavailable with libpq's message when any step fails.
  absl::Status Connect(const std::string& dsn, int connect_timeout_ms, int statement_timeout_ms,
                       const std::vector<std::pair<std::string, std::string>>& prepared);
  bool Connected() const;
  void Close();

  // Runs `sql` (or, with `prepared_name` non-null in ExecPrepared, the prepared statement) with
  // text parameters; fills *result when non-null. On error: kUnavailable, failure() says how, and
  // last_error() holds the server's or libpq's message. Blocks on one round trip, at most the call
  // deadline (then kUnavailable, failure() kConnection, deadline_passed(), connection closed).
  absl::Status Exec(const char* sql, std::initializer_list<absl::string_view> params,
                    PgResult* result);
  absl::Status ExecPrepared(const char* name, std::initializer_list<absl::string_view> params,
                            PgResult* result);
  // Simple-query protocol, several statements allowed (one implicit transaction). DDL, BEGIN,
  // COMMIT.
  absl::Status ExecSimple(const char* sql);

  PgFailure failure() const { return failure_; }
  // The last call failed because its deadline passed (failure() is then kConnection).
  bool deadline_passed() const { return deadline_passed_; }
  const std::string& last_error() const { return last_error_; }

 private:
  absl::Status Send(const char* sql, const char* prepared_name,
                    std::initializer_list<absl::string_view> params, PgResult* result);
  // Flushes the request sent, then collects its results until the call deadline.
  absl::Status Await(PgResult* result);
  absl::Status DeadlinePassed();
  absl::Status Finish(void* res, PgResult* result);
  void* conn_ = nullptr;  // PGconn*
  int call_deadline_ms_ = 4'000;
  bool deadline_passed_ = false;
  PgFailure failure_ = PgFailure::kNone;
  std::string last_error_;
};

// "\x" followed by the bytes in lower-case hex: a bytea parameter in text format.
std::string EncodeBytea(absl::string_view bytes);
// Inverse of EncodeBytea for the server's hex output; false on anything else.
bool DecodeBytea(absl::string_view text, std::string* bytes);

// Array literals for text-format parameters ("{…}"), every element quoted and escaped.
class ArrayLiteral {
 public:
  ArrayLiteral() { text_.push_back('{'); }
  void AddBytea(absl::string_view bytes);
  void AddText(absl::string_view text);
  void AddInt(int64_t v);
  const std::string& Finish();
  size_t size() const { return count_; }

 private:
  void Separator();
  std::string text_;
  size_t count_ = 0;
  bool finished_ = false;
};

// Parses a decimal integer cell; false when it is not one.
bool ParseInt(const std::string& cell, int64_t* v);

}  // namespace ordergate::idempotency::pg

#endif  // ORDERGATE_IDEMPOTENCY_POSTGRES_CONNECTION_H_
