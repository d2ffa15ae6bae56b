// PgConnection (postgres_connection.h): libpq behind a small text-format interface.
#include "idempotency/postgres_connection.h"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ordergate::idempotency::pg {
namespace {

PGconn* AsConn(void* p) { return static_cast<PGconn*>(p); }

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

PgConnection::~PgConnection() { Close(); }

void PgConnection::Close() {
  if (conn_ != nullptr) PQfinish(AsConn(conn_));
  conn_ = nullptr;
}

bool PgConnection::Connected() const {
  return conn_ != nullptr && PQstatus(AsConn(conn_)) == CONNECTION_OK;
}

int PgConnection::CallDeadlineMs(int connect_timeout_ms, int statement_timeout_ms) {
  return statement_timeout_ms + connect_timeout_ms;
}

absl::Status PgConnection::Connect(
    const std::string& dsn, int connect_timeout_ms, int statement_timeout_ms,
    const std::vector<std::pair<std::string, std::string>>& prepared) {
  Close();
  call_deadline_ms_ = CallDeadlineMs(connect_timeout_ms, statement_timeout_ms);
  const int connect_s = std::max(1, (connect_timeout_ms + 999) / 1000);
  const std::string timeout = absl::StrCat(connect_s);
  // Dead peers: TCP keepalives probe an idle pool connection (idle for the call deadline, then
  // every second, three misses), and tcp_user_timeout closes a connection whose sent data stays
  // unacknowledged past the call deadline. They come before "dbname", so the dsn may override them.
  const std::string keepalive_idle_s = absl::StrCat(std::max(1, (call_deadline_ms_ + 999) / 1000));
  const std::string user_timeout_ms = absl::StrCat(call_deadline_ms_);
  // expand_dbname=1: `dsn` may be a key=value string or a URI; the keys after it override it.
  // (statement_timeout is SET after connecting, so the dsn's own `options`, e.g. a search_path,
  // stay in force.)
  const char* keys[] = {"keepalives",       "keepalives_idle",  "keepalives_interval",
                        "keepalives_count", "tcp_user_timeout", "dbname",
                        "connect_timeout",  "application_name", nullptr};
  const char* values[] = {
      "1",         keepalive_idle_s.c_str(), "1",         "3",    user_timeout_ms.c_str(),
      dsn.c_str(), timeout.c_str(),          "ordergate", nullptr};
  PGconn* c = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  conn_ = c;
  if (c == nullptr || PQstatus(c) != CONNECTION_OK || PQsetnonblocking(c, 1) != 0) {
    failure_ = PgFailure::kConnection;
    last_error_ = c != nullptr ? PQerrorMessage(c) : "out of memory";
    Close();
    return absl::UnavailableError(absl::StrCat("PostgreSQL connect failed: ", last_error_));
  }
  // NOTICEs (CREATE … IF NOT EXISTS skipping) would go to stderr: warnings and errors only.
  // force_custom_plan: a generic plan made while the table was small (a fresh store) is a
  // sequential scan that PostgreSQL keeps reusing as the table grows (measured: a 128-key read
  // took 10 ms at 10 k records); planning each execution with its real arrays keeps to the indexes.
  // idle_in_transaction_session_timeout: a client that gave up on a call (its deadline) or
  // vanished mid-transaction while the server still sees the socket open (a silent network) would
  // otherwise hold its key locks, and block every batch on those keys, until TCP noticed. Twice the
  // call deadline: the client has given up on that transaction long before.
  const std::string set_timeout =
      absl::StrCat("SET statement_timeout = ", statement_timeout_ms,
                   "; SET idle_in_transaction_session_timeout = ", 2 * call_deadline_ms_,
                   "; SET client_min_messages = warning; SET plan_cache_mode = force_custom_plan");
  if (!ExecSimple(set_timeout.c_str()).ok()) {
    Close();
    return absl::UnavailableError(absl::StrCat("PostgreSQL SET statement_timeout: ", last_error_));
  }
  for (const auto& [name, sql] : prepared) {
    const bool sent = PQsendPrepare(c, name.c_str(), sql.c_str(), 0, nullptr) == 1;
    if (!(sent ? Await(nullptr) : Finish(nullptr, nullptr)).ok()) {
      Close();
      return absl::UnavailableError(absl::StrCat("PostgreSQL PREPARE ", name, ": ", last_error_));
    }
  }
  failure_ = PgFailure::kNone;
  return absl::OkStatus();
}

absl::Status PgConnection::Finish(void* res, PgResult* result) {
  deadline_passed_ = false;
  PGresult* r = static_cast<PGresult*>(res);
  const ExecStatusType st = r != nullptr ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    if (result != nullptr) {
      const int rows = PQntuples(r);
      const int cols = PQnfields(r);
      result->Reset(rows, cols);
      for (int i = 0; i < rows; ++i) {
        for (int j = 0; j < cols; ++j) {
          if (PQgetisnull(r, i, j)) {
            result->SetNull(i, j);
            result->Cell(i, j)->clear();
          } else {
            result->Cell(i, j)->assign(PQgetvalue(r, i, j),
                                       static_cast<size_t>(PQgetlength(r, i, j)));
          }
        }
      }
    }
    PQclear(r);
    failure_ = PgFailure::kNone;
    return absl::OkStatus();
  }
  // Copied before PQclear frees the result it points into ("" when there is none).
  const char* field = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  char state[6] = {0};
  if (field != nullptr) std::strncpy(state, field, sizeof state - 1);
  last_error_ = r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(AsConn(conn_));
  PQclear(r);
  // The connection cannot be trusted any more when libpq says so, when there is no SQLSTATE (a
  // libpq-side failure), on connection exceptions (08…), and when the server shuts down or the
  // backend was terminated (57P…).
  const bool broken = PQstatus(AsConn(conn_)) != CONNECTION_OK || state[0] == '\0' ||
                      std::strncmp(state, "08", 2) == 0 || std::strncmp(state, "57P", 3) == 0;
  if (broken) {
    failure_ = PgFailure::kConnection;
    Close();
  } else if (std::strcmp(state, "57014") == 0) {
    failure_ = PgFailure::kTimeout;
  } else if (std::strcmp(state, "40P01") == 0 || std::strcmp(state, "40001") == 0) {
    failure_ = PgFailure::kConflict;
  } else {
    failure_ = PgFailure::kOther;
  }
  return absl::Status(absl::StatusCode::kUnavailable, "");
}

absl::Status PgConnection::DeadlinePassed() {
  last_error_ = absl::StrCat("no answer within the client deadline of ", call_deadline_ms_,
                             " ms (connection dropped)");
  failure_ = PgFailure::kConnection;
  Close();
  deadline_passed_ = true;
  return absl::Status(absl::StatusCode::kUnavailable, "");
}

absl::Status PgConnection::Await(PgResult* result) {
  PGconn* c = AsConn(conn_);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(call_deadline_ms_);
  // Waits for `events` on the socket until the deadline: false when it passed (or poll failed).
  auto wait = [&](short events) {
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) return false;
      pollfd p{PQsocket(c), events, 0};
      const int n = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left + 1, 60'000)));
      if (n > 0) return true;
      if (n < 0 && errno != EINTR) return false;
    }
  };
  // Send: the whole request leaves libpq's buffer (reading meanwhile, as libpq asks).
  for (;;) {
    const int flushed = PQflush(c);
    if (flushed == 0) break;
    if (flushed < 0) return Finish(nullptr, result);
    if (!wait(POLLIN | POLLOUT)) return DeadlinePassed();
    if (PQconsumeInput(c) == 0) return Finish(nullptr, result);
  }
  // Receive every result of the request; the last one is the call's (an error stops the server's
  // processing of a multi-statement string, so an error is the last one then).
  PGresult* last = nullptr;
  for (;;) {
    while (PQisBusy(c) == 0) {
      PGresult* r = PQgetResult(c);
      if (r == nullptr) return Finish(last, result);
      PQclear(last);
      last = r;
    }
    if (!wait(POLLIN)) {
      PQclear(last);
      return DeadlinePassed();
    }
    if (PQconsumeInput(c) == 0) {
      PQclear(last);
      return Finish(nullptr, result);
    }
  }
}

absl::Status PgConnection::Exec(const char* sql, std::initializer_list<absl::string_view> params,
                                PgResult* result) {
  return Send(sql, nullptr, params, result);
}

absl::Status PgConnection::ExecPrepared(const char* name,
                                        std::initializer_list<absl::string_view> params,
                                        PgResult* result) {
  return Send(nullptr, name, params, result);
}

absl::Status PgConnection::Send(const char* sql, const char* prepared_name,
                                std::initializer_list<absl::string_view> params, PgResult* result) {
  deadline_passed_ = false;
  if (!Connected()) {
    failure_ = PgFailure::kConnection;
    return absl::Status(absl::StatusCode::kUnavailable, "");
  }
  if (params.size() > 16) return absl::Status(absl::StatusCode::kInvalidArgument, "");
  // Text parameters need NUL-terminated copies.
  std::string copies[16];
  const char* values[16];
  int n = 0;
  for (absl::string_view p : params) {
    copies[n].assign(p.data(), p.size());
    values[n] = copies[n].c_str();
    ++n;
  }
  const int sent =
      prepared_name != nullptr
          ? PQsendQueryPrepared(AsConn(conn_), prepared_name, n, values, nullptr, nullptr, 0)
          : PQsendQueryParams(AsConn(conn_), sql, n, nullptr, values, nullptr, nullptr, 0);
  return sent == 1 ? Await(result) : Finish(nullptr, result);
}

absl::Status PgConnection::ExecSimple(const char* sql) {
  deadline_passed_ = false;
  if (!Connected()) {
    failure_ = PgFailure::kConnection;
    return absl::Status(absl::StatusCode::kUnavailable, "");
  }
  return PQsendQuery(AsConn(conn_), sql) == 1 ? Await(nullptr) : Finish(nullptr, nullptr);
}

std::string EncodeBytea(absl::string_view bytes) {
  std::string out;
  out.reserve(2 + bytes.size() * 2);
  out += "\\x";
  for (unsigned char c : bytes) {
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool DecodeBytea(absl::string_view text, std::string* bytes) {
  if (text.size() < 2 || text[0] != '\\' || text[1] != 'x' || text.size() % 2 != 0) return false;
  bytes->clear();
  bytes->reserve((text.size() - 2) / 2);
  for (size_t i = 2; i < text.size(); i += 2) {
    const int hi = HexValue(text[i]);
    const int lo = HexValue(text[i + 1]);
    if (hi < 0 || lo < 0) return false;
    bytes->push_back(static_cast<char>(hi * 16 + lo));
  }
  return true;
}

void ArrayLiteral::Separator() {
  if (count_++ > 0) text_.push_back(',');
}

void ArrayLiteral::AddBytea(absl::string_view bytes) {
  Separator();
  // "\\x…": the array parser turns \\ into \, leaving bytea's own \x prefix.
  text_ += "\"\\\\x";
  for (unsigned char c : bytes) {
    text_.push_back(kHex[c >> 4]);
    text_.push_back(kHex[c & 15]);
  }
  text_.push_back('"');
}

void ArrayLiteral::AddText(absl::string_view text) {
  Separator();
  text_.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') text_.push_back('\\');
    text_.push_back(c);
  }
  text_.push_back('"');
}

void ArrayLiteral::AddInt(int64_t v) {
  Separator();
  absl::StrAppend(&text_, v);
}

const std::string& ArrayLiteral::Finish() {
  if (!finished_) text_.push_back('}');
  finished_ = true;
  return text_;
}

bool ParseInt(const std::string& cell, int64_t* v) { return absl::SimpleAtoi(cell, v); }

}  // namespace ordergate::idempotency::pg
