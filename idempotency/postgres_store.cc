// PostgresStore (postgres_store.h): records, batches and the connection pool. Schema, partitions
// and leases are in postgres_admin.cc.
#include "idempotency/postgres_store.h"

#include <algorithm>
#include <random>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "idempotency/postgres_store_impl.h"

namespace ordergate::idempotency {
namespace {

using pg::ArrayLiteral;
using pg::PgConnection;
using pg::PgFailure;
using pg::PgResult;

constexpr char kRecordColumns[] =
    "key, state, fingerprint, reply, gateway_id, created_unix_ms, updated_unix_ms";

absl::Status CodeOnly(absl::StatusCode code) { return absl::Status(code, ""); }

// 64-bit FNV-1a: the advisory lock of a key. Must be the same function in every gateway.
int64_t KeyLock(absl::string_view key) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h);
}

// Row `i` of a result with kRecordColumns. kDataLoss for a state outside the table or bad bytes.
absl::Status ParseRecord(const PgResult& r, int i, Record* rec, std::string* gateway_id) {
  int64_t state = 0;
  if (!pg::DecodeBytea(r.Get(i, 0), &rec->key) || !pg::ParseInt(r.Get(i, 1), &state) || state < 1 ||
      state > 4 || !pg::DecodeBytea(r.Get(i, 2), &rec->fingerprint) ||
      !pg::DecodeBytea(r.Get(i, 3), &rec->reply) ||
      !pg::ParseInt(r.Get(i, 5), &rec->created_unix_ms) ||
      !pg::ParseInt(r.Get(i, 6), &rec->updated_unix_ms)) {
    return CodeOnly(absl::StatusCode::kDataLoss);
  }
  rec->state = static_cast<RecordState>(state);
  if (gateway_id != nullptr) *gateway_id = r.Get(i, 4);
  return absl::OkStatus();
}

// One distinct key of a batch: its record as read and as the batch leaves it.
struct KeyPlan {
  std::string key;
  RecordState read_state = RecordState::kAbsent;
  std::string read_gateway_id;
  Record cur;
  std::string gateway_id;  // the owner as the batch leaves it
  bool changed = false;    // some change of the batch was applied to it
  bool reserved_here = false;
};

// A batch's precondition on a lease row (RecoverGateway, RecoverOwnPreviousRuns): the row of
// gateway_id holds incarnation (and, with must_be_expired, its expiry has passed by the database's
// clock), checked in the batch's transaction with the row locked.
struct LeaseFence {
  std::string gateway_id;
  int64_t incarnation = 0;
  bool must_be_expired = true;
};

// What RunBatch learned beyond its status.
enum class BatchEnd : uint8_t { kDone, kRetry, kFail };

}  // namespace

const std::vector<std::pair<std::string, std::string>>& PreparedStatements() {
  static const auto* statements = new std::vector<std::pair<std::string, std::string>>{
      {"og_lock", "SELECT count(pg_advisory_xact_lock(h)) FROM unnest($1::int8[]) AS h"},
      {"og_read", absl::StrCat("SELECT ", kRecordColumns,
                               " FROM ordergate_records WHERE key = ANY($1::bytea[]) FOR UPDATE")},
      {"og_insert",
       "INSERT INTO ordergate_records (key, day, state, fingerprint, reply, gateway_id, batch_id, "
       "created_unix_ms, updated_unix_ms) SELECT t.k, $2, t.s, t.f, t.r, $6, $7, t.c, t.u FROM "
       "unnest($1::bytea[], $3::int2[], $4::bytea[], $5::bytea[], $8::int8[], $9::int8[]) "
       "AS t(k, s, f, r, c, u) ORDER BY t.k ON CONFLICT DO NOTHING RETURNING key"},
      {"og_update",
       "UPDATE ordergate_records AS r SET state = t.s, fingerprint = t.f, reply = t.rp, "
       "gateway_id = t.g, batch_id = CASE WHEN t.mine THEN $10 ELSE r.batch_id END, "
       "created_unix_ms = t.c, updated_unix_ms = t.u FROM unnest($1::bytea[], $2::int2[], "
       "$3::int2[], $4::bytea[], $5::bytea[], $6::text[], $7::bool[], $8::int8[], $9::int8[]) "
       "AS t(k, e, s, f, rp, g, mine, c, u) WHERE r.key = t.k AND r.state = t.e RETURNING r.key"},
      {"og_delete",
       "DELETE FROM ordergate_records AS r USING unnest($1::bytea[], $2::int2[]) AS t(k, e) "
       "WHERE r.key = t.k AND r.state = t.e RETURNING r.key"},
      {"og_mark",
       "INSERT INTO ordergate_writer_marks (gateway_id, batch_id) VALUES ($1, $2) "
       "ON CONFLICT (gateway_id) DO UPDATE SET batch_id = EXCLUDED.batch_id"},
      {"og_read_mark", "SELECT batch_id FROM ordergate_writer_marks WHERE gateway_id = $1"},
      {"og_fence", absl::StrCat("SELECT lease_expires_unix_ms <= ", kDbNowMs,
                                " FROM ordergate_gateways WHERE gateway_id = $1 AND "
                                "incarnation = $2::bigint FOR UPDATE")},
      {"og_lookup",
       absl::StrCat("SELECT ", kRecordColumns, " FROM ordergate_records WHERE key = $1::bytea")},
  };
  return *statements;
}

absl::Status PostgresStore::Impl::Connect(PgConnection& c) {
  return c.Connect(options.dsn, options.connect_timeout_ms, options.statement_timeout_ms,
                   PreparedStatements());
}

absl::StatusOr<std::unique_ptr<PgConnection>> PostgresStore::Impl::Borrow() {
  std::unique_ptr<PgConnection> c;
  {
    absl::MutexLock l(&pool_mu);
    auto available = [this]() ABSL_SHARED_LOCKS_REQUIRED(pool_mu) {
      return !idle.empty() || lent < options.pool_size;
    };
    pool_mu.Await(absl::Condition(&available));
    if (!idle.empty()) {
      c = std::move(idle.back());
      idle.pop_back();
    } else {
      c = std::make_unique<PgConnection>();
    }
    ++lent;
  }
  if (!c->Connected()) {
    absl::Status s = Connect(*c);
    if (!s.ok()) {
      Return(std::move(c));
      return s;
    }
  }
  return c;
}

void PostgresStore::Impl::Return(std::unique_ptr<PgConnection> c) {
  absl::MutexLock l(&pool_mu);
  --lent;
  idle.push_back(std::move(c));
}

PostgresStore::PostgresStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
PostgresStore::~PostgresStore() = default;

const std::string& PostgresStore::gateway_id() const { return impl_->options.gateway_id; }

int64_t PostgresStore::DayOf(int64_t unix_ms) {
  constexpr int64_t kDayMs = 86'400'000;
  return unix_ms >= 0 ? unix_ms / kDayMs : -((-unix_ms + kDayMs - 1) / kDayMs);
}

namespace {

// One attempt at a batch on `c`. results are filled on kDone.
BatchEnd RunBatch(PostgresStore::Impl& impl, PgConnection& c, absl::Span<const Change> changes,
                  int64_t now_unix_ms, absl::Span<ChangeResult> results, const LeaseFence* fence,
                  absl::Status* status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(impl.writer_mu) {
  auto fail = [&](PgConnection& conn) {
    // Before COMMIT nothing is committed: a broken connection or a conflict is worth one retry;
    // a call that ran out of its deadline is not (the network is silent: a retry would only double
    // the caller's wait before the same kUnavailable).
    const PgFailure f = conn.failure();
    const bool retry =
        (f == PgFailure::kConnection && !conn.deadline_passed()) || f == PgFailure::kConflict;
    if (conn.Connected()) (void)conn.ExecSimple("ROLLBACK");
    *status = CodeOnly(absl::StatusCode::kUnavailable);
    return retry ? BatchEnd::kRetry : BatchEnd::kFail;
  };
  if (!c.Connected()) {
    impl.known_days.clear();
    if (!impl.Connect(c).ok()) {
      *status = CodeOnly(absl::StatusCode::kUnavailable);
      return BatchEnd::kFail;
    }
  }
  const int64_t day = PostgresStore::DayOf(now_unix_ms);
  if (!impl.known_days.contains(day)) {
    if (!impl.EnsureDay(c, day).ok()) return fail(c);
    impl.known_days.insert(day);
  }

  // The distinct keys, sorted (lock order and statement order).
  absl::flat_hash_map<absl::string_view, size_t> index;
  std::vector<KeyPlan> plans;
  for (const Change& ch : changes) {
    if (index.emplace(ch.key, 0).second) {
      plans.emplace_back();
      plans.back().key.assign(ch.key.data(), ch.key.size());
    }
  }
  std::sort(plans.begin(), plans.end(),
            [](const KeyPlan& a, const KeyPlan& b) { return a.key < b.key; });
  index.clear();
  for (size_t i = 0; i < plans.size(); ++i) {
    plans[i].cur.key = plans[i].key;
    index[plans[i].key] = i;
  }
  std::vector<int64_t> locks;
  locks.reserve(plans.size());
  for (const KeyPlan& p : plans) locks.push_back(KeyLock(p.key));
  std::sort(locks.begin(), locks.end());
  locks.erase(std::unique(locks.begin(), locks.end()), locks.end());
  ArrayLiteral lock_array;
  for (int64_t l : locks) lock_array.AddInt(l);
  ArrayLiteral key_array;
  for (const KeyPlan& p : plans) key_array.AddBytea(p.key);

  PgResult r;
  if (!c.ExecSimple("BEGIN").ok()) return fail(c);
  if (fence != nullptr) {
    // The lease row first, locked until COMMIT: AcquireLease of that gateway_id (a new
    // incarnation, after which its new run reserves) waits for this batch, and a batch after it
    // finds the new incarnation and moves nothing.
    const std::string inc = absl::StrCat(fence->incarnation);
    if (!c.ExecPrepared("og_fence", {fence->gateway_id, inc}, &r).ok()) return fail(c);
    if (r.rows() != 1 || (fence->must_be_expired && r.Get(0, 0) != "t")) {
      (void)c.ExecSimple("ROLLBACK");
      *status = CodeOnly(absl::StatusCode::kFailedPrecondition);
      return BatchEnd::kFail;
    }
  }
  if (!c.ExecPrepared("og_lock", {lock_array.Finish()}, nullptr).ok()) return fail(c);
  if (!c.ExecPrepared("og_read", {key_array.Finish()}, &r).ok()) return fail(c);
  for (int i = 0; i < r.rows(); ++i) {
    Record rec;
    std::string owner;
    if (absl::Status s = ParseRecord(r, i, &rec, &owner); !s.ok()) {
      (void)c.ExecSimple("ROLLBACK");
      *status = s;
      return BatchEnd::kFail;
    }
    auto it = index.find(rec.key);
    if (it == index.end()) continue;
    KeyPlan& p = plans[it->second];
    p.read_state = rec.state;
    p.read_gateway_id = owner;
    p.gateway_id = std::move(owner);
    p.cur = std::move(rec);
  }

  // The changes, in order, under the one transition table.
  for (size_t i = 0; i < changes.size(); ++i) {
    KeyPlan& p = plans[index.find(changes[i].key)->second];
    results[i] = ApplyChangeTo(changes[i], now_unix_ms, &p.cur);
    if (results[i].outcome != ChangeOutcome::kApplied) continue;
    p.changed = true;
    if (changes[i].event == RecordEvent::kReserve) {
      p.reserved_here = true;
      p.gateway_id = impl.options.gateway_id;
    }
  }

  std::mt19937_64 rng(std::random_device{}());
  const int64_t batch_id = static_cast<int64_t>(rng() >> 1) + 1;
  const std::string batch_text = absl::StrCat(batch_id);
  ArrayLiteral ins_k, ins_s, ins_f, ins_r, ins_c, ins_u;
  ArrayLiteral up_k, up_e, up_s, up_f, up_r, up_g, up_m, up_c, up_u;
  ArrayLiteral del_k, del_e;
  for (const KeyPlan& p : plans) {
    if (!p.changed) continue;
    const Record& cur = p.cur;
    if (p.read_state == RecordState::kAbsent) {
      if (cur.state == RecordState::kAbsent) continue;  // reserved and released in this batch
      ins_k.AddBytea(p.key);
      ins_s.AddInt(static_cast<int64_t>(cur.state));
      ins_f.AddBytea(cur.fingerprint);
      ins_r.AddBytea(cur.reply);
      ins_c.AddInt(cur.created_unix_ms);
      ins_u.AddInt(cur.updated_unix_ms);
    } else if (cur.state == RecordState::kAbsent) {
      del_k.AddBytea(p.key);
      del_e.AddInt(static_cast<int64_t>(p.read_state));
    } else {
      up_k.AddBytea(p.key);
      up_e.AddInt(static_cast<int64_t>(p.read_state));
      up_s.AddInt(static_cast<int64_t>(cur.state));
      up_f.AddBytea(cur.fingerprint);
      up_r.AddBytea(cur.reply);
      up_g.AddText(p.gateway_id);
      up_m.AddText(p.reserved_here ? "t" : "f");
      up_c.AddInt(cur.created_unix_ms);
      up_u.AddInt(cur.updated_unix_ms);
    }
  }
  const bool writes = ins_k.size() + up_k.size() + del_k.size() > 0;
  // A row count short of the plan means a row moved under our locks: something outside this
  // protocol wrote it. Roll back and retry once on fresh reads.
  auto short_count = [&](size_t expected) {
    if (static_cast<size_t>(r.rows()) == expected) return false;
    (void)c.ExecSimple("ROLLBACK");
    *status = CodeOnly(absl::StatusCode::kUnavailable);
    return true;
  };
  if (ins_k.size() > 0) {
    const std::string day_text = absl::StrCat(day);
    if (!c.ExecPrepared("og_insert",
                        {ins_k.Finish(), day_text, ins_s.Finish(), ins_f.Finish(), ins_r.Finish(),
                         impl.options.gateway_id, batch_text, ins_c.Finish(), ins_u.Finish()},
                        &r)
             .ok()) {
      return fail(c);
    }
    if (short_count(ins_k.size())) return BatchEnd::kRetry;
  }
  if (up_k.size() > 0) {
    if (!c.ExecPrepared("og_update",
                        {up_k.Finish(), up_e.Finish(), up_s.Finish(), up_f.Finish(), up_r.Finish(),
                         up_g.Finish(), up_m.Finish(), up_c.Finish(), up_u.Finish(), batch_text},
                        &r)
             .ok()) {
      return fail(c);
    }
    if (short_count(up_k.size())) return BatchEnd::kRetry;
  }
  if (del_k.size() > 0) {
    if (!c.ExecPrepared("og_delete", {del_k.Finish(), del_e.Finish()}, &r).ok()) return fail(c);
    if (short_count(del_k.size())) return BatchEnd::kRetry;
  }
  if (writes && !c.ExecPrepared("og_mark", {impl.options.gateway_id, batch_text}, nullptr).ok()) {
    return fail(c);
  }
  if (c.ExecSimple("COMMIT").ok()) {
    *status = absl::OkStatus();
    return BatchEnd::kDone;
  }
  if (!writes) {  // nothing was to be written: the reads stand whatever happened to COMMIT
    *status = absl::OkStatus();
    return BatchEnd::kDone;
  }
  if (c.failure() != PgFailure::kConnection) {  // the server answered: it did not commit
    if (c.Connected()) (void)c.ExecSimple("ROLLBACK");
    *status = CodeOnly(absl::StatusCode::kUnavailable);
    return c.failure() == PgFailure::kConflict ? BatchEnd::kRetry : BatchEnd::kFail;
  }
  // The answer to COMMIT was lost: read this gateway's mark on a new connection.
  impl.known_days.clear();
  if (!impl.Connect(c).ok() ||
      !c.ExecPrepared("og_read_mark", {impl.options.gateway_id}, &r).ok()) {
    *status = CodeOnly(absl::StatusCode::kUnavailable);
    return BatchEnd::kFail;
  }
  if (r.rows() == 1 && r.Get(0, 0) == batch_text) {
    *status = absl::OkStatus();
    return BatchEnd::kDone;
  }
  *status = CodeOnly(absl::StatusCode::kUnavailable);
  return BatchEnd::kRetry;  // not committed: nothing of it is in the database
}

absl::Status ApplyFenced(PostgresStore::Impl& impl, absl::Span<const Change> changes,
                         int64_t now_unix_ms, absl::Span<ChangeResult> results,
                         const LeaseFence* fence) {
  for (ChangeResult& r : results) r = ChangeResult{};
  if (results.size() != changes.size()) return CodeOnly(absl::StatusCode::kInvalidArgument);
  constexpr size_t kMaxBytes = 256u << 20;  // far below bytea's 1 GiB, far above any reply
  for (const Change& c : changes) {
    if (c.key.empty() || c.key.size() > kMaxBytes || c.fingerprint.size() > kMaxBytes ||
        c.reply.size() > kMaxBytes) {
      return CodeOnly(absl::StatusCode::kInvalidArgument);
    }
  }
  if (changes.empty()) return absl::OkStatus();
  absl::MutexLock l(&impl.writer_mu);
  absl::Status status;
  for (int attempt = 0; attempt < 2; ++attempt) {
    const BatchEnd end = RunBatch(impl, impl.writer, changes, now_unix_ms, results, fence, &status);
    if (end == BatchEnd::kDone) return absl::OkStatus();
    for (ChangeResult& r : results) r = ChangeResult{};
    if (end == BatchEnd::kFail) break;
  }
  return status;
}

}  // namespace

absl::Status PostgresStore::Apply(absl::Span<const Change> changes, int64_t now_unix_ms,
                                  absl::Span<ChangeResult> results) {
  return ApplyFenced(*impl_, changes, now_unix_ms, results, nullptr);
}

absl::StatusOr<std::optional<Record>> PostgresStore::Lookup(absl::string_view key) {
  if (key.empty()) return CodeOnly(absl::StatusCode::kInvalidArgument);
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return CodeOnly(absl::StatusCode::kUnavailable);
  PgResult r;
  if (!c->ExecPrepared("og_lookup", {pg::EncodeBytea(key)}, &r).ok()) {
    return CodeOnly(absl::StatusCode::kUnavailable);
  }
  if (r.rows() == 0) return std::optional<Record>();
  Record rec;
  if (absl::Status s = ParseRecord(r, 0, &rec, nullptr); !s.ok()) return s;
  return std::optional<Record>(std::move(rec));
}

absl::StatusOr<std::string> PostgresStore::OwnerOf(absl::string_view key) {
  if (key.empty()) return CodeOnly(absl::StatusCode::kInvalidArgument);
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return CodeOnly(absl::StatusCode::kUnavailable);
  PgResult r;
  if (!c->ExecPrepared("og_lookup", {pg::EncodeBytea(key)}, &r).ok()) {
    return CodeOnly(absl::StatusCode::kUnavailable);
  }
  return r.rows() == 0 ? std::string() : r.Get(0, 4);
}

absl::StatusOr<std::vector<Record>> PostgresStore::ListInFlight() {
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return c.status();
  PgResult r;
  const std::string sql = absl::StrCat(
      "SELECT ", kRecordColumns, " FROM ordergate_records WHERE state IN (1, 4) ORDER BY key");
  if (!c->Exec(sql.c_str(), {}, &r).ok()) {
    return absl::UnavailableError(absl::StrCat("ListInFlight: ", c->last_error()));
  }
  std::vector<Record> out(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    if (!ParseRecord(r, i, &out[static_cast<size_t>(i)], nullptr).ok()) {
      return absl::DataLossError(absl::StrCat("ListInFlight: row ", i, " cannot be decoded"));
    }
  }
  return out;
}

StoreStats PostgresStore::Stats() {
  StoreStats st;
  PooledConnection c(impl_.get());
  if (!c.status().ok()) return st;
  PgResult r;
  if (!c->Exec("SELECT (SELECT coalesce(sum(greatest(c.reltuples, 0)), 0)::bigint FROM pg_inherits "
               "i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = "
               "'ordergate_records'::regclass), (SELECT count(*) FROM ordergate_records WHERE "
               "state IN (1, 4))",
               {}, &r)
           .ok() ||
      r.rows() != 1) {
    return st;
  }
  int64_t records = 0, in_flight = 0;
  if (pg::ParseInt(r.Get(0, 0), &records) && pg::ParseInt(r.Get(0, 1), &in_flight)) {
    st.in_flight = static_cast<uint64_t>(in_flight);
    st.records = static_cast<uint64_t>(std::max(records, in_flight));
  }
  return st;
}

namespace {

// RecoverGateway and RecoverOwnPreviousRuns: every RESERVED record of fence.gateway_id to UNKNOWN,
// in batches of 256, each batch fenced on the lease row. kFailedPrecondition (with *moved what
// moved before) when the fence fails.
absl::Status RecoverFenced(PostgresStore::Impl& impl, const LeaseFence& fence, int64_t now_unix_ms,
                           uint64_t* moved) {
  std::vector<std::string> keys;
  {
    PooledConnection c(&impl);
    if (!c.status().ok()) return c.status();
    PgResult r;
    if (!c->Exec("SELECT key FROM ordergate_records WHERE state IN (1, 4) AND state = 1 AND "
                 "gateway_id = $1 ORDER BY key",
                 {fence.gateway_id}, &r)
             .ok()) {
      return absl::UnavailableError(absl::StrCat("RecoverGateway: ", c->last_error()));
    }
    keys.resize(static_cast<size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) {
      if (!pg::DecodeBytea(r.Get(i, 0), &keys[static_cast<size_t>(i)])) {
        return absl::DataLossError("RecoverGateway: a key cannot be decoded");
      }
    }
  }
  // The keys were listed before the first batch's fence: a batch whose fence holds knows that no
  // new incarnation began since (AcquireLease would have changed the row), so none of these keys
  // is a new run's.
  constexpr size_t kBatch = 256;
  for (size_t start = 0; start < keys.size(); start += kBatch) {
    const size_t n = std::min(kBatch, keys.size() - start);
    std::vector<Change> changes;
    changes.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      changes.push_back(Change::Event(RecordEvent::kRecovered, keys[start + i]));
    }
    std::vector<ChangeResult> results(n);
    if (absl::Status s = ApplyFenced(impl, changes, now_unix_ms, absl::MakeSpan(results), &fence);
        !s.ok()) {
      if (s.code() == absl::StatusCode::kFailedPrecondition) {
        return absl::FailedPreconditionError(
            absl::StrCat("RecoverGateway: the lease of '", fence.gateway_id, "' no longer holds ",
                         "incarnation ", fence.incarnation, fence.must_be_expired ? " expired" : "",
                         ": nothing more moved"));
      }
      return absl::Status(s.code(), "RecoverGateway: a batch failed");
    }
    // A record that moved on meanwhile (an outcome arrived) is kIllegal here, and rightly left.
    for (const ChangeResult& r : results) *moved += r.outcome == ChangeOutcome::kApplied ? 1 : 0;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<uint64_t> PostgresStore::RecoverGateway(absl::string_view gateway_id,
                                                       int64_t expired_incarnation,
                                                       int64_t now_unix_ms) {
  const LeaseFence fence{std::string(gateway_id), expired_incarnation, /*must_be_expired=*/true};
  uint64_t moved = 0;
  absl::Status s = RecoverFenced(*impl_, fence, now_unix_ms, &moved);
  // The gateway came back under a new incarnation (or its row changed): its records are its new
  // run's to settle, not an expired one's. Not a failure of the sweep.
  if (s.ok() || s.code() == absl::StatusCode::kFailedPrecondition) return moved;
  return s;
}

absl::StatusOr<uint64_t> PostgresStore::RecoverOwnPreviousRuns(int64_t held_incarnation,
                                                               int64_t now_unix_ms) {
  const LeaseFence fence{impl_->options.gateway_id, held_incarnation, /*must_be_expired=*/false};
  uint64_t moved = 0;
  if (absl::Status s = RecoverFenced(*impl_, fence, now_unix_ms, &moved); !s.ok()) return s;
  return moved;
}

}  // namespace ordergate::idempotency
