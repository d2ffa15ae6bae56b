// PostgresStore (idempotency/postgres_store.h) between gateways and under faults, against real
// PostgreSQL processes: two stores racing for the same keys, a COMMIT whose answer is lost, the
// database unreachable, a statement timeout, leases, retention by partition, and a failover to the
// synchronous standby (deploy/postgres/cluster.sh promote).
#include <sys/stat.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "idempotency/postgres_store.h"
#include "tests/idempotency/postgres_test_util.h"
#include "tests/support/temp_dir.h"

namespace ordergate::idempotency {
namespace {

using pgtest::FreshSchemaDsn;
using pgtest::OpenOrDie;
using pgtest::Options;
using pgtest::SharedDsn;
using pgtest::Sql;

constexpr int64_t kDayMs = 86'400'000;

using Ms = std::chrono::milliseconds;

// A store behind `proxy` whose calls have a 1.5 s client deadline (500 ms statement timeout +
// 1 s connect timeout: pg::PgConnection::CallDeadlineMs).
PostgresStoreOptions SilenceOptions(const std::string& dsn, const pgtest::TcpProxy& proxy) {
  PostgresStoreOptions o = Options(pgtest::WithPort(dsn, proxy.port()), "gw-a");
  o.statement_timeout_ms = 500;
  o.connect_timeout_ms = 1'000;
  return o;
}
constexpr Ms kCallDeadline{1'500};

// A store behind a proxy that can go silent (SilenceOptions), holding the lease of gw-a for 60 s.
struct LeasedBehindProxy {
  std::string dsn = FreshSchemaDsn(SharedDsn());
  pgtest::TcpProxy proxy{pgtest::PortOf(dsn)};
  std::unique_ptr<PostgresStore> store = OpenOrDie(SilenceOptions(dsn, proxy));
  absl::StatusOr<LeaseGrant> lease = Acquired(*store);

  static absl::StatusOr<LeaseGrant> Acquired(PostgresStore& s) {
    absl::StatusOr<LeaseGrant> l = s.AcquireLease("gw-a", 60'000);
    REQUIRE(l.ok());
    return l;
  }
};

// Runs `call` on a thread while another session (not through the proxy) holds a row for 400 ms
// with `hold_sql`, so the call waits on the server; 150 ms into it the proxy goes silent, so its
// answer never comes back. Waits at most twice the deadline: a call still blocked then fails the
// test, and the silence is ended (its connections close) so that the thread can return. *took:
// how long the call blocked.
template <typename Call>
auto InFlightWhenSilenced(pgtest::TcpProxy& proxy, const std::string& dsn,
                          const std::string& hold_sql, Call call, Ms* took) {
  std::thread holder([&] { Sql(dsn, hold_sql); });
  // Until the holder sleeps with its row locked (bounded: 300 × 10 ms).
  std::string quoted;
  for (char ch : hold_sql) quoted += ch == '\'' ? std::string("''") : std::string(1, ch);
  const std::string sleeping = absl::StrCat(
      "SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query = '", quoted,
      "'");
  for (int i = 0; i < 300 && Sql(dsn, sleeping) != "1"; ++i) std::this_thread::sleep_for(Ms(10));
  const auto t0 = std::chrono::steady_clock::now();
  auto done = std::async(std::launch::async, [&] {
    auto result = call();
    *took = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0);
    return result;
  });
  std::this_thread::sleep_for(Ms(150));
  proxy.SetSilent(true);
  const bool in_time = done.wait_for(2 * kCallDeadline) == std::future_status::ready;
  CHECK(in_time);
  if (!in_time) proxy.SetSilent(false);  // releases the blocked call (the test already failed)
  auto result = done.get();
  holder.join();
  return result;
}

TEST_CASE(
    "Two PostgresStores of different gateways racing from two threads reserve each key "
    "exactly once",
    "[postgres]") {
  const std::string dsn = FreshSchemaDsn(SharedDsn());
  auto a = OpenOrDie(Options(dsn, "gw-a"));
  auto b = OpenOrDie(Options(dsn, "gw-b"));
  constexpr int kKeys = 600;
  constexpr int kBatch = 16;
  std::vector<std::string> keys;
  for (int i = 0; i < kKeys; ++i) keys.push_back(absl::StrCat("race-", i));
  // Each store walks the keys in its own order (b backwards), in batches of 16.
  auto run = [&](PostgresStore& store, bool backwards, std::vector<std::string>* won, int* errors) {
    for (int start = 0; start < kKeys; start += kBatch) {
      std::vector<Change> batch;
      for (int i = start; i < start + kBatch && i < kKeys; ++i) {
        const std::string& k = keys[static_cast<size_t>(backwards ? kKeys - 1 - i : i)];
        batch.push_back(Change::Reserve(k, store.gateway_id()));
      }
      std::vector<ChangeResult> r(batch.size());
      if (!store.Apply(batch, 1'000, absl::MakeSpan(r)).ok()) {
        ++*errors;
        continue;
      }
      for (size_t i = 0; i < batch.size(); ++i) {
        if (r[i].outcome == ChangeOutcome::kApplied) won->push_back(std::string(batch[i].key));
      }
    }
  };
  std::vector<std::string> won_a, won_b;
  int errors_a = 0, errors_b = 0;
  std::thread ta([&] { run(*a, false, &won_a, &errors_a); });
  std::thread tb([&] { run(*b, true, &won_b, &errors_b); });
  ta.join();
  tb.join();
  CHECK(errors_a == 0);
  CHECK(errors_b == 0);
  std::set<std::string> all(won_a.begin(), won_a.end());
  for (const std::string& k : won_b) CHECK(all.insert(k).second);  // never won by both
  CHECK(all.size() == static_cast<size_t>(kKeys));                 // every key won once
  CHECK_FALSE(won_a.empty());
  CHECK_FALSE(won_b.empty());
  for (const std::string& k : won_a) {
    std::optional<Record> rec = b->Lookup(k).value();
    REQUIRE(rec.has_value());
    CHECK(rec->fingerprint == "gw-a");  // the record is the winner's
  }
  CHECK(Sql(dsn, "SELECT count(*) FROM ordergate_records") == std::to_string(kKeys));
}

TEST_CASE(
    "A COMMIT whose answer is lost is read back from the writer mark: acknowledged once, "
    "written once",
    "[postgres]") {
  const std::string dsn = FreshSchemaDsn(SharedDsn());
  pgtest::TcpProxy proxy(pgtest::PortOf(dsn));
  auto store = OpenOrDie(Options(pgtest::WithPort(dsn, proxy.port()), "gw-a"));
  const std::vector<Change> batch = {Change::Reserve("lost-1", "fp"),
                                     Change::Reserve("lost-2", "fp")};
  std::vector<ChangeResult> r(batch.size());

  // The COMMIT reaches the server and commits; its answer never comes back.
  const int commits_before = proxy.commits_seen();
  proxy.LoseNextCommitAnswer();
  REQUIRE(store->Apply(batch, 2'000, absl::MakeSpan(r)).ok());
  CHECK(proxy.commits_seen() == commits_before + 1);  // not run a second time
  CHECK(r[0].outcome == ChangeOutcome::kApplied);
  CHECK(r[1].outcome == ChangeOutcome::kApplied);
  CHECK(Sql(dsn,
            "SELECT count(*) FROM ordergate_records WHERE key IN ('lost-1', 'lost-2') AND "
            "state = 1") == "2");

  // The COMMIT never reaches the server: rolled back there, so the batch runs once more.
  const std::vector<Change> outcome = {Change::Event(RecordEvent::kOutcomeFilled, "lost-1", "ok")};
  std::vector<ChangeResult> r2(1);
  proxy.DropNextCommit();
  REQUIRE(store->Apply(outcome, 3'000, absl::MakeSpan(r2)).ok());
  CHECK(r2[0].outcome == ChangeOutcome::kApplied);
  CHECK(store->Lookup("lost-1").value()->state == RecordState::kFilled);
  CHECK(store->Lookup("lost-1").value()->reply == "ok");
}

TEST_CASE(
    "PostgresStore fails closed with kUnavailable while the database is unreachable and "
    "recovers when it returns",
    "[postgres]") {
  const std::string dsn = FreshSchemaDsn(SharedDsn());
  pgtest::TcpProxy proxy(pgtest::PortOf(dsn));
  PostgresStoreOptions o = Options(pgtest::WithPort(dsn, proxy.port()), "gw-a");
  o.connect_timeout_ms = 1'000;
  auto store = OpenOrDie(o);
  std::vector<Change> c = {Change::Reserve("before", "fp")};
  std::vector<ChangeResult> r(1);
  REQUIRE(store->Apply(c, 1'000, absl::MakeSpan(r)).ok());

  proxy.SetDown(true);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  c = {Change::Reserve("during", "fp")};
  absl::Status s = store->Apply(c, 1'000, absl::MakeSpan(r));
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  CHECK(s.message().empty());                      // code-only on the request path
  CHECK(r[0].outcome == ChangeOutcome::kIllegal);  // reset: means nothing
  CHECK(store->Lookup("before").status().code() == absl::StatusCode::kUnavailable);
  CHECK(Sql(dsn, "SELECT count(*) FROM ordergate_records WHERE key = 'during'") == "0");

  proxy.SetDown(false);
  REQUIRE(store->Apply(c, 1'000, absl::MakeSpan(r)).ok());
  CHECK(r[0].outcome == ChangeOutcome::kApplied);
  CHECK(store->Lookup("before").value().has_value());
}

TEST_CASE(
    "An Apply in flight when the network goes silent fails closed with kUnavailable within its "
    "client deadline, acknowledges nothing, and the store works once the network is back",
    "[postgres]") {
  const std::string dsn = FreshSchemaDsn(SharedDsn());
  pgtest::TcpProxy proxy(pgtest::PortOf(dsn));
  auto store = OpenOrDie(SilenceOptions(dsn, proxy));
  std::vector<Change> c = {Change::Reserve("held", "fp")};
  std::vector<ChangeResult> r(1);
  REQUIRE(store->Apply(c, 1'000, absl::MakeSpan(r)).ok());

  // The batch's FOR UPDATE read waits for the holder; the server answers into the black hole.
  const std::vector<Change> batch = {Change::Reserve("fresh", "fp"),
                                     Change::Event(RecordEvent::kOutcomeFilled, "held", "late")};
  std::vector<ChangeResult> results(batch.size());
  Ms took{0};
  const absl::Status s = InFlightWhenSilenced(
      proxy, dsn,
      "WITH l AS (SELECT key FROM ordergate_records WHERE key = 'held' FOR UPDATE) "
      "SELECT pg_sleep(0.4) FROM l",
      [&] { return store->Apply(batch, 2'000, absl::MakeSpan(results)); }, &took);
  INFO("Apply blocked " << took.count() << " ms; deadline " << kCallDeadline.count() << " ms");
  CHECK(s.code() == absl::StatusCode::kUnavailable);
  CHECK(s.message().empty());              // code-only on the request path
  CHECK(took >= kCallDeadline - Ms(200));  // the deadline ended it, nothing else
  CHECK(took < 2 * kCallDeadline);
  CHECK(results[0].outcome == ChangeOutcome::kIllegal);  // reset: nothing acknowledged
  CHECK(results[1].outcome == ChangeOutcome::kIllegal);
  CHECK(Sql(dsn, "SELECT count(*) FROM ordergate_records WHERE key = 'fresh'") == "0");
  CHECK(Sql(dsn, "SELECT state FROM ordergate_records WHERE key = 'held'") == "1");

  proxy.SetSilent(false);
  std::vector<ChangeResult> again(batch.size());
  REQUIRE(store->Apply(batch, 3'000, absl::MakeSpan(again)).ok());
  CHECK(again[0].outcome == ChangeOutcome::kApplied);
  CHECK(again[1].outcome == ChangeOutcome::kApplied);
  CHECK(store->Lookup("held").value()->reply == "late");
}

TEST_CASE(
    "A RenewLease in flight when the network goes silent fails with kUnavailable within its "
    "client deadline, and renews once the network is back",
    "[postgres]") {
  LeasedBehindProxy f;
  const std::string& dsn = f.dsn;
  pgtest::TcpProxy& proxy = f.proxy;
  PostgresStore* store = f.store.get();
  const absl::StatusOr<LeaseGrant>& lease = f.lease;

  Ms took{0};
  const absl::StatusOr<LeaseGrant> renewed = InFlightWhenSilenced(
      proxy, dsn,
      "WITH l AS (SELECT gateway_id FROM ordergate_gateways WHERE gateway_id = 'gw-a' FOR "
      "UPDATE) SELECT pg_sleep(0.4) FROM l",
      [&] { return store->RenewLease("gw-a", lease->incarnation, 60'000); }, &took);
  INFO("RenewLease blocked " << took.count() << " ms; deadline " << kCallDeadline.count() << " ms");
  CHECK(renewed.status().code() == absl::StatusCode::kUnavailable);
  CHECK(took >= kCallDeadline - Ms(200));
  CHECK(took < 2 * kCallDeadline);

  proxy.SetSilent(false);
  absl::StatusOr<LeaseGrant> after = store->RenewLease("gw-a", lease->incarnation, 60'000);
  REQUIRE(after.ok());
  CHECK(after->incarnation == lease->incarnation);
}

TEST_CASE(
    "A RenewLease caught in a short silence ends when the silence does, not at its deadline, and "
    "the next one renews",
    "[postgres]") {
  LeasedBehindProxy f;
  const int64_t incarnation = f.lease->incarnation;
  REQUIRE(f.store->RenewLease("gw-a", incarnation, 60'000).ok());  // the lease connection
  f.proxy.SetSilent(true);
  const auto t0 = std::chrono::steady_clock::now();
  std::thread ender([&] {
    std::this_thread::sleep_for(Ms(200));
    f.proxy.SetSilent(false);
  });
  const absl::StatusOr<LeaseGrant> caught = f.store->RenewLease("gw-a", incarnation, 60'000);
  const Ms took = std::chrono::duration_cast<Ms>(std::chrono::steady_clock::now() - t0);
  ender.join();
  INFO("RenewLease in the silence took " << took.count() << " ms (" << caught.status().ToString()
                                         << "); deadline " << kCallDeadline.count() << " ms");
  CHECK(took < Ms(700));
  REQUIRE(f.store->RenewLease("gw-a", incarnation, 60'000).ok());
}

TEST_CASE("A statement timeout fails the batch with kUnavailable and writes nothing",
          "[postgres]") {
  const std::string dsn = FreshSchemaDsn(SharedDsn());
  PostgresStoreOptions o = Options(dsn, "gw-a");
  o.statement_timeout_ms = 300;
  auto store = OpenOrDie(o);
  std::vector<Change> c = {Change::Reserve("held", "fp")};
  std::vector<ChangeResult> r(1);
  REQUIRE(store->Apply(c, 1'000, absl::MakeSpan(r)).ok());
  // Another session holds the row for 2 s (longer than the timeout).
  std::thread holder([&] {
    Sql(dsn,
        "WITH l AS (SELECT key FROM ordergate_records WHERE key = 'held' FOR UPDATE) "
        "SELECT pg_sleep(2) FROM l");
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  c = {Change::Event(RecordEvent::kOutcomeFilled, "held", "late")};
  const auto t0 = std::chrono::steady_clock::now();
  CHECK(store->Apply(c, 2'000, absl::MakeSpan(r)).code() == absl::StatusCode::kUnavailable);
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1'500));
  holder.join();
  CHECK(store->Lookup("held").value()->state == RecordState::kReserved);
  REQUIRE(store->Apply(c, 3'000, absl::MakeSpan(r)).ok());  // same connection, next call works
  CHECK(r[0].outcome == ChangeOutcome::kApplied);
}

TEST_CASE(
    "Leases: a live holder is refused, renewal extends, an expired lease is listed and "
    "taken over with a new incarnation",
    "[postgres]") {
  auto store = OpenOrDie(Options(FreshSchemaDsn(SharedDsn()), "gw-a"));
  absl::StatusOr<LeaseGrant> a = store->AcquireLease("gw-a", 600);
  REQUIRE(a.ok());
  CHECK(a->incarnation == 1);
  CHECK(store->AcquireLease("gw-a", 600).status().code() == absl::StatusCode::kAlreadyExists);
  absl::StatusOr<LeaseGrant> renewed = store->RenewLease("gw-a", a->incarnation, 600);
  REQUIRE(renewed.ok());
  CHECK(renewed->expires_unix_ms >= a->expires_unix_ms);
  CHECK(store->RenewLease("gw-a", a->incarnation + 1, 600).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(store->ListExpiredLeases().value().empty());

  std::this_thread::sleep_for(std::chrono::milliseconds(900));  // let it expire
  std::vector<LeaseRow> expired = store->ListExpiredLeases().value();
  REQUIRE(expired.size() == 1);
  CHECK(expired[0].gateway_id == "gw-a");
  CHECK(expired[0].incarnation == 1);
  CHECK(store->RenewLease("gw-a", 1, 600).status().code() ==
        absl::StatusCode::kFailedPrecondition);  // too late: others may act on its orders
  absl::StatusOr<LeaseGrant> again = store->AcquireLease("gw-a", 60'000);
  REQUIRE(again.ok());
  CHECK(again->incarnation == 2);
  CHECK(store->ListExpiredLeases().value().empty());
  REQUIRE(store->ReleaseLease("gw-a", 2).ok());
  CHECK(store->ListExpiredLeases().value().size() == 1);
  absl::StatusOr<LeaseGrant> third = store->AcquireLease("gw-a", 60'000);
  REQUIRE(third.ok());
  CHECK(third->incarnation == 3);
}

TEST_CASE("Retention drops whole day partitions and carries in-flight records forward",
          "[postgres]") {
  const std::string dsn = FreshSchemaDsn(SharedDsn());
  PostgresStoreOptions o = Options(dsn, "gw-a");
  o.retention_days = 2;
  auto store = OpenOrDie(o);
  const int64_t day0 = 20'000 * kDayMs;  // reservations on day 20000, 20001 and 20003
  std::vector<ChangeResult> r(2);
  std::vector<Change> c = {Change::Reserve("old-filled", "fp"), Change::Reserve("old-open", "fp")};
  REQUIRE(store->Apply(c, day0 + 5, absl::MakeSpan(r)).ok());
  c = {Change::Event(RecordEvent::kOutcomeFilled, "old-filled", "done"),
       Change::Reserve("day1", "fp")};
  REQUIRE(store->Apply(c, day0 + kDayMs + 5, absl::MakeSpan(r)).ok());
  c = {Change::Reserve("day3", "fp"), Change::Event(RecordEvent::kOutcomeRejected, "day1", "no")};
  REQUIRE(store->Apply(c, day0 + 3 * kDayMs + 5, absl::MakeSpan(r)).ok());
  std::vector<int64_t> before = store->PartitionDays().value();
  CHECK(std::count(before.begin(), before.end(), 20'000) == 1);

  // Day 20003 with 2 days kept: day 20000 goes, 20001 stays.
  absl::StatusOr<std::vector<int64_t>> dropped = store->DropExpiredPartitions(day0 + 3 * kDayMs);
  REQUIRE(dropped.ok());
  CHECK(*dropped == std::vector<int64_t>{20'000});
  std::vector<int64_t> after = store->PartitionDays().value();
  CHECK(std::count(after.begin(), after.end(), 20'000) == 0);
  CHECK(std::count(after.begin(), after.end(), 20'001) == 1);
  CHECK_FALSE(store->Lookup("old-filled").value().has_value());    // expired with its day
  std::optional<Record> open = store->Lookup("old-open").value();  // in flight: carried forward
  REQUIRE(open.has_value());
  CHECK(open->state == RecordState::kReserved);
  CHECK(open->created_unix_ms == day0 + 5);
  CHECK(Sql(dsn, "SELECT day FROM ordergate_records WHERE key = 'old-open'") == "20003");
  CHECK(store->Lookup("day1").value()->state == RecordState::kRejected);
  // The carried record is still unique: a retry finds it, an outcome moves it.
  c = {Change::Reserve("old-open", "fp2"),
       Change::Event(RecordEvent::kOutcomeFilled, "old-open", "late")};
  REQUIRE(store->Apply(c, day0 + 3 * kDayMs + 9, absl::MakeSpan(r)).ok());
  CHECK(r[0].outcome == ChangeOutcome::kExists);
  CHECK(r[1].outcome == ChangeOutcome::kApplied);
  // A key reserved on an earlier day is still unique on a later one.
  c = {Change::Reserve("day1", "again"), Change::Reserve("fresh", "fp")};
  REQUIRE(store->Apply(c, day0 + 3 * kDayMs + 10, absl::MakeSpan(r)).ok());
  CHECK(r[0].outcome == ChangeOutcome::kExists);
  CHECK(r[1].outcome == ChangeOutcome::kApplied);
  // Dropping is idempotent.
  CHECK(store->DropExpiredPartitions(day0 + 3 * kDayMs).value().empty());
}

TEST_CASE("After a failover to the synchronous standby every acknowledged record is there",
          "[postgres]") {
  test_support::TempDir tmp("ordergate-pgfo-");
  ::chmod(tmp.path().c_str(), 0755);
  const std::string dir = tmp.File("cluster");
  struct Stop {
    std::string dir;
    ~Stop() { pgtest::ClusterScript("stop " + dir); }
  };
  const std::string primary = pgtest::ClusterScript("start " + dir);
  Stop stop{dir};
  std::vector<std::string> acknowledged;
  {
    auto store = OpenOrDie(Options(primary, "gw-a"));
    for (int b = 0; b < 20; ++b) {
      std::vector<Change> c;
      std::vector<std::string> keys;
      for (int i = 0; i < 16; ++i) keys.push_back(absl::StrCat("fo-", b, "-", i));
      for (const std::string& k : keys) c.push_back(Change::Reserve(k, "fp"));
      c.push_back(Change::Event(RecordEvent::kOutcomeFilled, keys[0], "filled"));
      std::vector<ChangeResult> r(c.size());
      REQUIRE(store->Apply(c, 1'000 + b, absl::MakeSpan(r)).ok());
      acknowledged.insert(acknowledged.end(), keys.begin(), keys.end());
    }
  }
  // promote fences the old primary (immediate stop: no clean shutdown) and promotes the standby.
  const std::string promoted = pgtest::ClusterScript("promote " + dir);
  CHECK(promoted != primary);
  auto store = OpenOrDie(Options(promoted, "gw-a"));
  for (const std::string& k : acknowledged) {
    std::optional<Record> rec = store->Lookup(k).value();
    INFO(k);
    REQUIRE(rec.has_value());
  }
  CHECK(store->Lookup("fo-7-0").value()->reply == "filled");
  // The new primary takes writes (no standby to wait for any more).
  std::vector<Change> c = {Change::Reserve("after", "fp"), Change::Reserve("fo-3-3", "fp")};
  std::vector<ChangeResult> r(2);
  REQUIRE(store->Apply(c, 9'000, absl::MakeSpan(r)).ok());
  CHECK(r[0].outcome == ChangeOutcome::kApplied);
  CHECK(r[1].outcome == ChangeOutcome::kExists);
}

}  // namespace
}  // namespace ordergate::idempotency
