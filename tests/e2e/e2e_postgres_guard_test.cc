// The shared guard on PostgreSQL end to end (guard = postgres, docs/POSTGRES_GUARD.md): real
// ordergated processes on one database (deploy/postgres/cluster.sh, a primary and a synchronous
// standby on loopback; ctest's fixture starts one per run, each test works in a schema of its own)
// and one ordergate-bridge-sim whose journal says what executed.
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"
#include "tests/idempotency/postgres_test_util.h"
#include "tests/support/clock.h"
#include "tests/support/temp_dir.h"

namespace {

using e2e::DealerClient;
using e2e::Json;
using e2e::Ms;
using e2e::OpenBody;
using e2e::Process;
using e2e::ReqClient;
using e2e::UniqueId;
using e2e::World;

// Short deadlines so that a dead gateway's orders are declared and resolved within seconds: the
// lease (900 ms) below the bridge deadline (4000 ms), which exceeds the TTL (3000) + margin (200).
const std::vector<std::string> kFastBridge = {
    "--bridge-signature-ttl-ms", "3000", "--bridge-exec-margin-ms",     "200",
    "--bridge-timeout-ms",       "4000", "--unknown-query-interval-ms", "300"};

std::vector<std::string> GuardArgs(const std::string& dsn, const std::string& id) {
  std::vector<std::string> a = {"--guard",      "postgres", "--guard-dsn",      dsn,
                                "--gateway-id", id,         "--guard-lease-ms", "900"};
  a.insert(a.end(), kFastBridge.begin(), kFastBridge.end());
  return a;
}

// A second ordergated beside the World's, in a data directory of its own, against its simulator.
struct Second {
  std::unique_ptr<Process> proc;
  std::string endpoint;
  int metrics_port = 0;
};

Second StartSecond(World& w, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {
      "--listen",           "tcp://127.0.0.1:*", "--bridge", w.sim_endpoint,     "--data-dir",
      w.dir.File("data-b"), "--log-level",       "warn",     "--metrics-listen", "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  Second s;
  s.proc =
      std::make_unique<Process>(e2e::BinDir() + "/ordergated", args, w.dir.File("gw-b.stderr"));
  auto line = s.proc->WaitForLine("ordergated ready ", Ms(20000));
  INFO("second ordergated stderr:\n" << s.proc->Stderr());
  REQUIRE(line.has_value());
  const size_t at = line->find("listen=");
  REQUIRE(at != std::string::npos);
  s.endpoint = line->substr(at + 7, line->find(' ', at) - at - 7);
  const size_t mp = line->find("metrics_port=");
  REQUIRE(mp != std::string::npos);
  s.metrics_port = std::atoi(line->c_str() + mp + 13);
  return s;
}

// Sends OPEN of `uuid` on `c` until a terminal answer (FILLED / REJECTED / UNKNOWN as `accept`
// says), at most `tries` times; the last reply.
std::optional<Json> UntilSettled(ReqClient& c, const std::string& uuid, int tries,
                                 const std::set<std::string>& accept) {
  std::optional<Json> last;
  for (int i = 0; i < tries; ++i) {
    last = c.CallJson(OpenBody(uuid), Ms(5000));
    if (last && accept.count(last->S("status")) > 0) return last;
    std::this_thread::sleep_for(Ms(100));
  }
  return last;
}

}  // namespace

TEST_CASE(
    "two gateways on one PostgreSQL guard, sent the same uuids at once, execute each order once "
    "and answer both clients with its one outcome",
    "[e2e][postgres]") {
  const std::string dsn =
      ordergate::idempotency::pgtest::FreshSchemaDsn(ordergate::idempotency::pgtest::SharedDsn());
  World w;
  w.StartSim({"--latency", "fixed:40"});
  w.StartGatewayLinked(GuardArgs(dsn, "gw-a"));
  Second b = StartSecond(w, GuardArgs(dsn, "gw-b"));
  DealerClient to_a(w.ctx, w.gw_endpoint);
  DealerClient to_b(w.ctx, b.endpoint);
  constexpr int kOrders = 40;
  std::vector<std::string> uuids;
  for (int i = 0; i < kOrders; ++i) uuids.push_back(UniqueId("pg-both-"));
  for (const std::string& u : uuids) {
    to_a.Send(OpenBody(u));
    to_b.Send(OpenBody(u));
  }
  std::map<std::string, int> first_replies;
  for (int i = 0; i < 2 * kOrders; ++i) {
    auto r = i % 2 == 0 ? to_a.RecvJson(Ms(10000)) : to_b.RecvJson(Ms(10000));
    REQUIRE(r.has_value());
    ++first_replies[r->S("status")];
  }
  INFO("first replies by status: FILLED " << first_replies["FILLED"] << ", PENDING "
                                          << first_replies["PENDING"]);
  // Every reply is an outcome or PENDING (a retry joined the other gateway's order): never a
  // refusal, never a second execution.
  CHECK(first_replies["FILLED"] + first_replies["PENDING"] == 2 * kOrders);
  ReqClient ra(w.ctx, w.gw_endpoint);
  ReqClient rb(w.ctx, b.endpoint);
  for (const std::string& u : uuids) {
    auto a = UntilSettled(ra, u, 30, {"FILLED", "REJECTED"});
    auto bb = UntilSettled(rb, u, 30, {"FILLED", "REJECTED"});
    REQUIRE(a.has_value());
    REQUIRE(bb.has_value());
    CHECK(a->S("status") == "FILLED");
    CHECK(a->Int("ticket") == bb->Int("ticket"));
  }
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  CHECK(j.Duplicates().empty());
  for (const std::string& u : uuids) CHECK(j.Count(u) == 1);
  // A clean stop releases the lease: the name may be taken again at once.
  CHECK(b.proc->Signal(SIGTERM));
  CHECK(b.proc->Wait(Ms(15000)).has_value());
  Second again = StartSecond(w, GuardArgs(dsn, "gw-b"));
  CHECK_FALSE(again.endpoint.empty());
}

TEST_CASE("a second ordergated under the gateway_id of a live one refuses to start, naming it",
          "[e2e][postgres]") {
  const std::string dsn =
      ordergate::idempotency::pgtest::FreshSchemaDsn(ordergate::idempotency::pgtest::SharedDsn());
  World w;
  w.StartSim({});
  w.StartGatewayLinked(GuardArgs(dsn, "gw-same"));
  std::vector<std::string> args = {"--listen",         "tcp://127.0.0.1:*", "--bridge",
                                   w.sim_endpoint,     "--data-dir",        w.dir.File("data-b"),
                                   "--metrics-listen", "127.0.0.1:0"};
  const std::vector<std::string> guard = GuardArgs(dsn, "gw-same");
  args.insert(args.end(), guard.begin(), guard.end());
  Process twin(e2e::BinDir() + "/ordergated", args, w.dir.File("twin.stderr"));
  auto st = twin.Wait(Ms(20000));
  REQUIRE(st.has_value());
  CHECK(Process::Decode(*st) != 0);
  CHECK_THAT(twin.Stderr(), Catch::Contains("gateway_id \"gw-same\" is held by another live "
                                            "gateway"));
}

TEST_CASE(
    "a gateway killed with kill -9 leaves its orders to the other: retries get the stored "
    "outcomes, its in-flight orders are reported UNKNOWN and then resolved through ORDER_STATUS, "
    "and nothing executes twice",
    "[e2e][postgres]") {
  const std::string dsn =
      ordergate::idempotency::pgtest::FreshSchemaDsn(ordergate::idempotency::pgtest::SharedDsn());
  World w;
  // 400 ms at the bridge, 8 orders at a time: orders sent just before the kill are all in flight
  // (and executed by the bridge after the gateway died).
  w.StartSim({"--latency", "fixed:400", "--workers", "8"});
  w.StartGatewayLinked(GuardArgs(dsn, "gw-a"));
  Second b = StartSecond(w, GuardArgs(dsn, "gw-b"));
  // Settled through A first.
  ReqClient ra(w.ctx, w.gw_endpoint);
  std::vector<std::string> done;
  for (int i = 0; i < 3; ++i) {
    done.push_back(UniqueId("pg-done-"));
    auto r = ra.CallJson(OpenBody(done.back()), Ms(5000));
    REQUIRE(r.has_value());
    REQUIRE(r->S("status") == "FILLED");
  }
  // In flight at A when it dies.
  DealerClient to_a(w.ctx, w.gw_endpoint);
  std::vector<std::string> flying;
  for (int i = 0; i < 5; ++i) {
    flying.push_back(UniqueId("pg-fly-"));
    to_a.Send(OpenBody(flying.back()));
  }
  std::this_thread::sleep_for(Ms(150));  // reserved and sent, the bridge still working on them
  w.KillGateway();

  ReqClient rb(w.ctx, b.endpoint);
  const e2e::Journal before = e2e::ReadJournal(w.journal());
  for (const std::string& u : done) {
    auto r = rb.CallJson(OpenBody(u), Ms(5000));
    REQUIRE(r.has_value());
    CHECK(r->S("status") == "FILLED");
    CHECK(r->Bool("duplicate") == true);
    CHECK(r->Int("ticket") == before.Ticket(u));
  }
  // A's in-flight orders: first reported UNKNOWN (A's lease expired, B's sweep moved them), never
  // resent; then B asks the bridge and they settle as what the bridge did.
  bool saw_unknown = false;
  for (const std::string& u : flying) {
    auto r = UntilSettled(rb, u, 60, {"UNKNOWN", "FILLED", "REJECTED"});
    REQUIRE(r.has_value());
    INFO(r->raw());
    if (r->S("status") == "UNKNOWN") saw_unknown = true;
    CHECK(r->Bool("duplicate") == true);
  }
  CHECK(saw_unknown);
  for (const std::string& u : flying) {
    auto r = UntilSettled(rb, u, 80, {"FILLED", "REJECTED"});
    REQUIRE(r.has_value());
    INFO(u << ": " << r->raw());
    const e2e::Journal j = e2e::ReadJournal(w.journal());
    if (r->S("status") == "FILLED") {
      CHECK(j.Count(u) == 1);
      CHECK(r->Int("ticket") == j.Ticket(u));
    } else {
      CHECK(j.Count(u) == 0);
    }
  }
  const e2e::Journal after = e2e::ReadJournal(w.journal());
  CHECK(after.Duplicates().empty());
  CHECK_THAT(b.proc->Stderr(), Catch::Contains("adopted"));
  const auto [code, metrics] = e2e::HttpGet(b.metrics_port, "/metrics");
  REQUIRE(code == 200);
  CHECK_THAT(metrics, Catch::Contains("ordergate_guard_lease_state{state=\"held\"} 1"));
  CHECK_THAT(metrics, Catch::Contains("ordergate_guard_foreign_joins_total "));
  CHECK_THAT(metrics, Catch::Contains("ordergate_guard_recovered_orders_total 5"));
  CHECK_THAT(metrics, Catch::Contains("ordergate_guard_adopted_unknown_total 5"));
}

namespace {

// Lease 5000 ms (renewed every 1667 ms, orders stop 3333 ms after the last renewal) under the
// default bridge deadline (6000 ms).
std::vector<std::string> SlowLeaseArgs(const std::string& dsn, const std::string& id) {
  return {"--guard",      "postgres", "--guard-dsn",      dsn,
          "--gateway-id", id,         "--guard-lease-ms", "5000"};
}

std::string Metrics(int port) {
  const auto [code, body] = e2e::HttpGet(port, "/metrics");
  REQUIRE(code == 200);
  return body;
}

}  // namespace

TEST_CASE(
    "the database unreachable fails orders closed with STORE_UNAVAILABLE, nothing sent, and a "
    "gateway whose lease outlived the outage takes orders again when it returns",
    "[e2e][postgres]") {
  namespace pgtest = ordergate::idempotency::pgtest;
  const std::string dsn = pgtest::FreshSchemaDsn(pgtest::SharedDsn());
  pgtest::TcpProxy proxy(pgtest::PortOf(dsn));
  World w;
  w.StartSim({});
  w.StartGatewayLinked(SlowLeaseArgs(pgtest::WithPort(dsn, proxy.port()), "gw-a"));
  ReqClient c(w.ctx, w.gw_endpoint);
  auto first = c.CallJson(OpenBody(UniqueId("pg-up-")), Ms(5000));
  REQUIRE(first.has_value());
  CHECK(first->S("status") == "FILLED");
  // The lease is renewed through the proxy before it goes down.
  CHECK(ordergate::test_support::WaitUntil(
      [&] {
        return Metrics(w.metrics_port).find("ordergate_guard_lease_renewals_total 0\n") ==
               std::string::npos;
      },
      Ms(4000), Ms(100)));

  proxy.SetDown(true);
  std::vector<std::string> refused;
  for (int i = 0; i < 3; ++i) {
    refused.push_back(UniqueId("pg-down-"));
    auto r = c.CallJson(OpenBody(refused.back(), 0.1, R"("timeout_ms":5000)"), Ms(6000));
    REQUIRE(r.has_value());
    INFO(r->raw());
    CHECK(r->S("error_code") == "STORE_UNAVAILABLE");
    CHECK(r->S("status") != "FILLED");
  }
  std::this_thread::sleep_for(Ms(2000));  // past a renewal (every 1667 ms): it fails
  proxy.SetDown(false);

  // Back within the lease: the same uuids (nothing was recorded) now execute, once each.
  for (const std::string& u : refused) {
    auto r = UntilSettled(c, u, 80, {"FILLED"});
    REQUIRE(r.has_value());
    INFO(r->raw());
    CHECK(r->S("status") == "FILLED");
  }
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  for (const std::string& u : refused) CHECK(j.Count(u) == 1);
  const std::string m = Metrics(w.metrics_port);
  CHECK_THAT(m, Catch::Contains("ordergate_guard_lease_state{state=\"held\"} 1"));
  CHECK_THAT(m, !Catch::Contains("ordergate_guard_lease_renew_failures_total 0\n"));
}

TEST_CASE(
    "a gateway whose lease the database saw expire has lost it for good: it takes no new order, "
    "drains and exits 75 for its supervisor, and another gateway recovers and serves its orders",
    "[e2e][postgres]") {
  namespace pgtest = ordergate::idempotency::pgtest;
  const std::string dsn = pgtest::FreshSchemaDsn(pgtest::SharedDsn());
  World w;
  w.StartSim({"--latency", "fixed:50"});
  w.StartGatewayLinked(GuardArgs(dsn, "gw-a"));
  Second b = StartSecond(w, GuardArgs(dsn, "gw-b"));
  ReqClient ca(w.ctx, w.gw_endpoint);
  auto first = ca.CallJson(OpenBody(UniqueId("pg-lost-")), Ms(5000));
  REQUIRE(first.has_value());
  CHECK(first->S("status") == "FILLED");
  // What a partition longer than the lease looks like from the database: the lease has expired.
  pgtest::Sql(dsn,
              "UPDATE ordergate_gateways SET lease_expires_unix_ms = 0 WHERE gateway_id = "
              "'gw-a'");
  // A lost lease is for good in that process: it drains (nothing in flight here) and exits with
  // EX_TEMPFAIL, which systemd's Restart=on-failure answers with a new process and a fresh lease.
  const auto st = w.gw->Wait(Ms(10000));
  REQUIRE(st.has_value());
  CHECK(Process::Decode(*st) == 75);
  CHECK_THAT(w.gw->Stderr(), Catch::Contains("is LOST"));
  CHECK_THAT(w.gw->Stderr(), Catch::Contains("exiting with status 75"));
  // B serves A's orders: the one A settled is replayed.
  ReqClient cb(w.ctx, b.endpoint);
  auto replay = cb.CallJson(OpenBody(first->S("uuid")), Ms(5000));
  REQUIRE(replay.has_value());
  CHECK(replay->S("status") == "FILLED");
  CHECK(replay->Int("ticket") == first->Int("ticket"));
  // And A, restarted under its name, takes orders again under a new incarnation.
  w.StartGatewayLinked(GuardArgs(dsn, "gw-a"));
  ReqClient again(w.ctx, w.gw_endpoint);
  auto fresh = again.CallJson(OpenBody(UniqueId("pg-lost-")), Ms(5000));
  REQUIRE(fresh.has_value());
  CHECK(fresh->S("status") == "FILLED");
}

TEST_CASE(
    "a gateway holding an order UNKNOWN answers a retry and ORDER_STATUS with the outcome another "
    "gateway recorded since, not with its own UNKNOWN",
    "[e2e][postgres]") {
  // Found by the nemesis on this guard: a client told REJECTED by one gateway, then UNKNOWN by
  // another that answered from the copy it held in memory.
  namespace pgtest = ordergate::idempotency::pgtest;
  const std::string dsn = pgtest::FreshSchemaDsn(pgtest::SharedDsn());
  World w;
  // Every order executes and is never answered: it goes UNKNOWN at its gateway's bridge deadline.
  w.StartSim({"--fault-no-reply", "1"});
  w.StartGatewayLinked(GuardArgs(dsn, "gw-b"));
  Second a = StartSecond(w, GuardArgs(dsn, "gw-a"));
  const std::string u = UniqueId("pg-held-");
  ReqClient ca(w.ctx, a.endpoint);
  (void)ca.CallJson(OpenBody(u, 0.1, R"("timeout_ms":500)"), Ms(2000));  // PENDING: in flight
  REQUIRE(ordergate::test_support::WaitUntil(
      [&] { return e2e::ReadJournal(w.journal()).Count(u) == 1; }, Ms(5000), Ms(20)));
  const int64_t ticket = e2e::ReadJournal(w.journal()).Ticket(u).value_or(-1);
  // The bridge stops answering anything: gw-a cannot settle the order by asking it.
  REQUIRE(w.sim->Signal(SIGSTOP));
  auto unknown = UntilSettled(ca, u, 80, {"UNKNOWN"});
  REQUIRE(unknown.has_value());
  REQUIRE(unknown->S("status") == "UNKNOWN");
  // The operator settles it through the other gateway.
  const e2e::CtlRun resolved = e2e::Ctl(w, {"resolve", u, "--filled", std::to_string(ticket)});
  INFO("resolve: " << resolved.out << resolved.err);
  REQUIRE(resolved.exit_code == 0);
  auto retry = ca.CallJson(OpenBody(u), Ms(5000));
  REQUIRE(retry.has_value());
  INFO(retry->raw());
  CHECK(retry->S("status") == "FILLED");
  CHECK(retry->Int("ticket") == ticket);
  CHECK(retry->Bool("duplicate") == true);
  auto status = ca.CallJson(e2e::StatusBody(u), Ms(5000));
  REQUIRE(status.has_value());
  CHECK(status->S("status") == "FILLED");
  CHECK(w.sim->Signal(SIGCONT));
  CHECK(e2e::ReadJournal(w.journal()).Count(u) == 1);
}

TEST_CASE(
    "the primary killed and the synchronous standby promoted under load: the gateway restarted "
    "on it replays every acknowledged outcome and nothing executes twice",
    "[e2e][postgres]") {
  namespace pgtest = ordergate::idempotency::pgtest;
  ordergate::test_support::TempDir tmp("ordergate-e2e-pgfo-");
  ::chmod(tmp.path().c_str(), 0755);  // the servers may run as another user (root -> postgres)
  const std::string cluster = tmp.File("cluster");
  struct Stop {
    std::string dir;
    ~Stop() { pgtest::ClusterScript("stop " + dir); }
  };
  const std::string primary = pgtest::ClusterScript("start " + cluster);
  Stop stop{cluster};
  World w;
  w.StartSim({"--latency", "fixed:20", "--workers", "4"});
  w.StartGatewayLinked(GuardArgs(primary, "gw-a"));

  // Load: one client sends fresh uuids one after another; an outcome it received is acknowledged.
  std::map<std::string, int64_t> acknowledged;
  std::vector<std::string> unsettled;
  std::atomic<bool> stop_load{false};
  std::thread load([&] {
    ReqClient c(w.ctx, w.gw_endpoint);
    for (int i = 0; i < 400 && !stop_load; ++i) {
      const std::string u = UniqueId("pg-fo-");
      auto r = c.CallJson(OpenBody(u), Ms(3000));
      if (r && r->S("status") == "FILLED") {
        acknowledged[u] = r->Int("ticket").value_or(-1);
      } else {
        unsettled.push_back(u);
      }
    }
  });
  std::this_thread::sleep_for(Ms(700));
  const std::string promoted = pgtest::ClusterScript("promote " + cluster);
  std::this_thread::sleep_for(Ms(500));
  stop_load = true;
  load.join();
  CHECK(promoted != primary);
  REQUIRE(acknowledged.size() > 5);

  // Restarted on the new primary under the same name, once its old lease has expired (900 ms).
  w.KillGateway();
  std::this_thread::sleep_for(Ms(1200));
  w.StartGatewayLinked(GuardArgs(promoted, "gw-a"));
  ReqClient c(w.ctx, w.gw_endpoint);
  for (const auto& [u, ticket] : acknowledged) {
    auto r = c.CallJson(OpenBody(u), Ms(5000));
    REQUIRE(r.has_value());
    INFO(u << ": " << r->raw());
    CHECK(r->S("status") == "FILLED");
    CHECK(r->Int("ticket") == ticket);
    CHECK(r->Bool("duplicate") == true);
  }
  // What was not acknowledged settles as what the bridge did: once at most.
  for (const std::string& u : unsettled) {
    auto r = UntilSettled(c, u, 80, {"FILLED", "REJECTED"});
    REQUIRE(r.has_value());
    INFO(u << ": " << r->raw());
    const e2e::Journal j = e2e::ReadJournal(w.journal());
    if (r->S("status") == "FILLED") CHECK(r->Int("ticket") == j.Ticket(u));
  }
  const e2e::Journal j = e2e::ReadJournal(w.journal());
  CHECK(j.Duplicates().empty());
  INFO("acknowledged " << acknowledged.size() << ", unsettled at the failover "
                       << unsettled.size());
  for (const auto& [u, ticket] : acknowledged) CHECK(j.Count(u) == 1);
}
