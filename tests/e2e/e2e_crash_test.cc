// End to end, the gateway dies: kill -9 while orders are in flight (durability sync and async),
// a clean SIGTERM, and a second ordergated on the same data. The journal of the bridge simulator
// is the truth: no uuid may be executed twice, and every outcome a client saw must survive the
// restart.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;

namespace {

using Clock = std::chrono::steady_clock;

struct Outcome {
  std::string status;
  std::string code;
  int64_t ticket = 0;
  int phase = 0;  // how many times ordergated had been killed when the reply came
};

// Every reply any client saw, per uuid, in arrival order.
class Ledger {
 public:
  void Add(const Json& r) {
    Outcome o{r.S("status"), r.S("error_code"), r.Int("ticket").value_or(0), 0};
    std::lock_guard<std::mutex> l(mu_);
    o.phase = phase_;
    if (o.status == "FILLED") ++filled_;
    seen_[r.S("uuid")].push_back(std::move(o));
  }
  void NextPhase() {
    std::lock_guard<std::mutex> l(mu_);
    ++phase_;
  }
  int filled() {
    std::lock_guard<std::mutex> l(mu_);
    return filled_;
  }
  std::map<std::string, std::vector<Outcome>> Snapshot() {
    std::lock_guard<std::mutex> l(mu_);
    return seen_;
  }

 private:
  std::mutex mu_;
  int filled_ = 0;
  int phase_ = 0;
  std::map<std::string, std::vector<Outcome>> seen_;
};

struct Order {
  std::string uuid;
  double volume;
};

// One strategy: a DEALER with up to `window` orders outstanding. It resends an order after
// PENDING, GATEWAY_BUSY, BRIDGE_DOWN or silence (always the same uuid and fields), and is done
// with it on FILLED, REJECTED (other refusals) or UNKNOWN. Stops when `stop` is set.
void Strategy(zmq::context_t& ctx, const std::string& endpoint, std::vector<Order> orders,
              Ledger& ledger, const std::atomic<bool>& stop, Clock::time_point give_up) {
  constexpr size_t kWindow = 8;
  const std::string extra = R"("timeout_ms":1000)";
  DealerClient d(ctx, endpoint);
  std::map<std::string, double> volume;
  std::deque<std::string> todo;
  for (const Order& o : orders) {
    volume[o.uuid] = o.volume;
    todo.push_back(o.uuid);
  }
  std::set<std::string> outstanding;
  auto last_reply = Clock::now();
  while (!stop.load() && Clock::now() < give_up && (!todo.empty() || !outstanding.empty())) {
    while (outstanding.size() < kWindow && !todo.empty()) {
      const std::string u = todo.front();
      todo.pop_front();
      if (!outstanding.insert(u).second) continue;
      d.Send(OpenBody(u, volume[u], extra));
    }
    auto r = d.RecvJson(Ms(100));
    if (!r) {
      if (Clock::now() - last_reply > Ms(2500)) {
        // Silence past every deadline: treat as lost and send the same uuids again.
        for (const auto& u : outstanding) todo.push_back(u);
        outstanding.clear();
        last_reply = Clock::now();
      }
      continue;
    }
    last_reply = Clock::now();
    ledger.Add(*r);
    const std::string u = r->S("uuid");
    if (outstanding.erase(u) == 0) continue;  // the answer to an earlier copy
    const std::string s = r->S("status");
    const std::string code = r->S("error_code");
    if (s == "PENDING" || (s == "REJECTED" && (code == "GATEWAY_BUSY" || code == "BRIDGE_DOWN")) ||
        s == "error") {
      todo.push_back(u);
      if (s != "PENDING") std::this_thread::sleep_for(Ms(10));  // back off, don't spin
    }
  }
}

// Runs `threads` strategies over `orders` until done, `stop`, or `give_up`.
class Fleet {
 public:
  Fleet(zmq::context_t& ctx, const std::string& endpoint, const std::vector<Order>& orders,
        int threads, Ledger& ledger, Clock::time_point give_up) {
    std::vector<std::vector<Order>> slices(static_cast<size_t>(threads));
    for (size_t i = 0; i < orders.size(); ++i) slices[i % slices.size()].push_back(orders[i]);
    for (auto& s : slices) {
      running_.fetch_add(1);
      threads_.emplace_back([this, &ctx, endpoint, s, &ledger, give_up] {
        Strategy(ctx, endpoint, s, ledger, stop_, give_up);
        running_.fetch_sub(1);
      });
    }
  }
  ~Fleet() {
    Stop();
    Join();
  }
  bool Done() const { return running_.load() == 0; }
  void Stop() { stop_.store(true); }
  void Join() {
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<int> running_{0};
  std::vector<std::thread> threads_;
};

struct Final {
  std::string status;
  std::string code;
  int64_t ticket = 0;
  std::string raw;
};

// ORDER_STATUS of every uuid; those still UNKNOWN/PENDING are asked again until `budget` is spent.
std::map<std::string, Final> Resolve(World& w, const std::vector<Order>& orders, Ms budget) {
  ReqClient c(w.ctx, w.gw_endpoint);
  std::map<std::string, Final> out;
  std::vector<std::string> open;
  for (const auto& o : orders) open.push_back(o.uuid);
  const auto deadline = Clock::now() + budget;
  for (;;) {
    std::vector<std::string> still;
    for (const auto& u : open) {
      if (Clock::now() >= deadline + Ms(5000) || !w.gw->Running()) {
        out[u] = Final{"(no answer: ordergated gone or too slow)", "", 0, ""};
        still.push_back(u);
        continue;
      }
      auto r = c.CallJson(StatusBody(u), Ms(3000));
      Final f;
      if (r) f = Final{r->S("status"), r->S("error_code"), r->Int("ticket").value_or(0), r->raw()};
      out[u] = f;
      if (f.status != "FILLED" && f.status != "REJECTED") still.push_back(u);
    }
    open.swap(still);
    if (open.empty() || Clock::now() >= deadline) break;
    std::this_thread::sleep_for(Ms(250));
  }
  return out;
}

// The deadline every order of the restart tests carries: longer than anything they wait for.
const std::string kTimeout5s = R"("timeout_ms":5000)";

// Sends `n` OPENs over `d`, each under a new uuid made from `prefix`; returns the uuids in order.
std::vector<std::string> SendOpens(DealerClient& d, const std::string& prefix, int n) {
  std::vector<std::string> uuids;
  for (int i = 0; i < n; ++i) {
    uuids.push_back(UniqueId(prefix));
    d.Send(OpenBody(uuids.back(), 0.1, kTimeout5s));
  }
  return uuids;
}

struct CrashPlan {
  std::string durability;
  std::string latency;
  int orders;
  int kills;
};

void RunCrashScenario(const CrashPlan& plan) {
  World w;
  w.StartSim({"--latency", plan.latency, "--workers", "4", "--signature-ttl-ms", "1000"});
  const std::vector<std::string> gw_args = {
      "--durability", plan.durability, "--bridge-signature-ttl-ms", "1000",
      "--bridge-exec-margin-ms", "200", "--bridge-timeout-ms", "1500",
      "--unknown-query-interval-ms", "300", "--client-timeout-ms", "1000",
      // Bounded so that the queue at the bridge (4 workers, up to 200 ms each) stays well within
      // the 1 s signature TTL; beyond it clients get GATEWAY_BUSY and retry.
      "--bridge-max-in-flight", "12"};
  w.StartGatewayLinked(gw_args);

  std::vector<Order> orders;
  const std::string run = UniqueId("crash-" + plan.durability);
  for (int i = 0; i < plan.orders; ++i) {
    orders.push_back(Order{run + "-" + std::to_string(i), 0.01 * (1 + i % 9)});
  }

  Ledger ledger;
  std::set<std::string> sent_before_a_kill;
  size_t sent_upto = 0;
  std::vector<std::string> kill_notes;
  for (int k = 0; k < plan.kills; ++k) {
    // Each round resends everything sent so far (retries) plus a new slice.
    const size_t upto =
        orders.size() * static_cast<size_t>(k + 1) / static_cast<size_t>(plan.kills + 1);
    const std::vector<Order> batch(orders.begin(), orders.begin() + static_cast<long>(upto));
    const int new_orders = static_cast<int>(upto - sent_upto);
    const int filled_before = ledger.filled();
    {
      Fleet fleet(w.ctx, w.gw_endpoint, batch, 4, ledger, Clock::now() + Ms(30000));
      // Kill once about a third of this round's new orders are FILLED: the rest are in flight.
      const auto deadline = Clock::now() + Ms(15000);
      while (!fleet.Done() && Clock::now() < deadline &&
             ledger.filled() - filled_before < std::max(1, new_orders / 3)) {
        std::this_thread::sleep_for(Ms(2));
      }
      const bool busy = !fleet.Done();
      w.KillGateway();
      fleet.Stop();
      fleet.Join();
      ledger.NextPhase();
      std::ostringstream note;
      note << "kill " << (k + 1) << ": " << (ledger.filled() - filled_before)
           << " FILLED replies this round, clients " << (busy ? "still busy" : "already done");
      kill_notes.push_back(note.str());
    }
    for (const auto& o : batch) sent_before_a_kill.insert(o.uuid);
    sent_upto = upto;
    w.StartGatewayLinked(gw_args);  // same data dir, new port
  }

  // After the last restart: every uuid again, same fields, until each has an outcome.
  const Journal before_final = ReadJournal(w.journal());
  {
    Fleet fleet(w.ctx, w.gw_endpoint, orders, 4, ledger, Clock::now() + Ms(40000));
    while (!fleet.Done() && w.gw->Running()) std::this_thread::sleep_for(Ms(20));
    fleet.Stop();
    fleet.Join();
  }
  {
    INFO("ordergated stderr:\n" << w.gw->Stderr().substr(0, 4000));
    REQUIRE(w.gw->Running());  // it must not have died on its own
  }
  const auto finals = Resolve(w, orders, Ms(15000));
  const auto seen = ledger.Snapshot();
  const Journal j = ReadJournal(w.journal());

  for (const auto& n : kill_notes) WARN(n);
  size_t unknown_seen = 0;
  for (const auto& [u, v] : seen) {
    for (const auto& o : v) {
      if (o.status == "UNKNOWN") {
        ++unknown_seen;
        break;
      }
    }
  }
  std::map<std::string, int> final_kinds;
  for (const auto& [u, f] : finals) ++final_kinds[f.status + (f.code.empty() ? "" : "/" + f.code)];
  std::string kinds;
  for (const auto& [k, n] : final_kinds) kinds += " " + k + "=" + std::to_string(n);
  WARN(plan.durability << ": final outcomes:" << kinds);
  WARN(plan.durability << ": " << orders.size() << " orders, " << j.entries.size()
                       << " executions in the journal, " << unknown_seen
                       << " uuids seen UNKNOWN by a client, ordergated started " << w.gw_starts
                       << " times");

  size_t expired_fresh = 0;
  std::vector<std::string> violations;
  auto violate = [&](const std::string& u, const std::string& what) {
    std::string line = u + ": " + what;
    if (auto f = finals.find(u); f != finals.end()) line += " | final: " + f->second.raw;
    if (auto s = seen.find(u); s != seen.end()) {
      line += " | seen:";
      for (const auto& o : s->second)
        line += " " + o.status + "/" + o.code + "/" + std::to_string(o.ticket);
    }
    line += " | journal: " + std::to_string(j.Count(u));
    violations.push_back(std::move(line));
  };

  for (const auto& d : j.Duplicates()) violate(d, "executed more than once");
  for (const auto& o : orders) {
    const std::string& u = o.uuid;
    const Final& f = finals.at(u);
    const auto jt = j.Ticket(u);
    if (f.status != "FILLED" && f.status != "REJECTED") {
      violate(u, "not resolved after restart and 15 s of ORDER_STATUS");
    }
    if (auto s = seen.find(u); s != seen.end()) {
      for (const auto& so : s->second) {
        if (so.status == "FILLED" && (f.status != "FILLED" || f.ticket != so.ticket)) {
          violate(u, "a client saw FILLED ticket " + std::to_string(so.ticket) + ", now differs");
        }
      }
    }
    if (jt && (f.status != "FILLED" || f.ticket != *jt)) {
      violate(u,
              "executed at the bridge (ticket " + std::to_string(*jt) + ") but not FILLED with it");
    }
    if (f.status == "FILLED" && !jt) violate(u, "FILLED but no execution in the journal");
    if (const auto bt = before_final.Ticket(u); bt) {
      // Executed before the last restart: the first answer after it is that outcome or UNKNOWN.
      if (auto sv = seen.find(u); sv != seen.end()) {
        for (const auto& so : sv->second) {
          if (so.phase != plan.kills) continue;
          if (!(so.status == "UNKNOWN" || (so.status == "FILLED" && so.ticket == *bt))) {
            violate(u, "executed before the restart, first answer after it: " + so.status);
          }
          break;
        }
      }
    }
    if (f.status == "REJECTED" && jt) violate(u, "REJECTED but executed at the bridge");
    if (sent_before_a_kill.count(u) == 0) {
      if (f.status == "REJECTED" && f.code == "RISK_SIGNATURE_INVALID" && j.Count(u) == 0) {
        ++expired_fresh;  // the bridge's own refusal (queued past its TTL on a loaded machine)
      } else if (f.status != "FILLED" || j.Count(u) != 1) {
        violate(u, "never sent before a crash, yet not FILLED exactly once");
      }
    }
  }
  const size_t fresh = orders.size() - sent_before_a_kill.size();
  if (expired_fresh > 0) {
    WARN(expired_fresh << " of " << fresh
                       << " orders first sent after the last restart expired at the bridge");
  }
  if (expired_fresh * 4 > fresh) {
    violations.push_back("most orders sent after the last restart expired at the bridge (" +
                         std::to_string(expired_fresh) + " of " + std::to_string(fresh) + ")");
  }
  std::ostringstream report;
  for (size_t i = 0; i < violations.size() && i < 25; ++i) report << violations[i] << "\n";
  INFO(violations.size() << " violation(s); stderr of the last ordergated:\n"
                         << w.gw->Stderr().substr(0, 4000) << "\nfirst violations:\n"
                         << report.str());
  CHECK(j.unreadable_lines == 0);
  REQUIRE(violations.empty());
  RequireAtMostOnce(w);
}

}  // namespace

TEST_CASE(
    "kill -9 of ordergated with orders in flight (durability sync), twice, never executes "
    "an order twice and keeps every FILLED a client saw",
    "[e2e][crash]") {
  RunCrashScenario(CrashPlan{"sync", "uniform:20:200", 300, 2});
}

TEST_CASE(
    "kill -9 of ordergated with orders in flight (durability async) never executes an order "
    "twice and keeps every FILLED a client saw",
    "[e2e][crash]") {
  RunCrashScenario(CrashPlan{"async", "uniform:5:60", 200, 1});
}

TEST_CASE(
    "SIGTERM while orders are in flight answers every waiting client, exits 0, and the "
    "outcomes survive the restart",
    "[e2e]") {
  World w;
  w.Start({"--latency", "fixed:200"});

  DealerClient d(w.ctx, w.gw_endpoint);
  std::vector<std::string> uuids = SendOpens(d, "term", 8);
  // Also a REQ strategy blocked in its receive.
  const std::string req_uuid = UniqueId("term-req");
  std::optional<std::string> req_reply;
  std::jthread req_thread([&] {
    ReqClient c(w.ctx, w.gw_endpoint);
    req_reply = c.Call(OpenBody(req_uuid, 0.1, kTimeout5s), Ms(10000));
  });
  std::this_thread::sleep_for(Ms(450));  // two or so executed, the rest queued at the bridge

  REQUIRE(w.gw->Signal(SIGTERM));
  std::map<std::string, Json> got;
  const auto deadline = Clock::now() + Ms(10000);
  while (got.size() < uuids.size() && Clock::now() < deadline) {
    auto r = d.RecvJson(Ms(200));
    if (r) got.emplace(r->S("uuid"), *r);
  }
  req_thread.join();
  auto st = w.gw->Wait(Ms(15000));
  REQUIRE(st.has_value());
  INFO("ordergated stderr:\n" << w.gw->Stderr());
  CHECK(Process::Decode(*st) == 0);

  CHECK(got.size() == uuids.size());
  REQUIRE(req_reply.has_value());
  auto req_json = Json::Parse(*req_reply);
  REQUIRE(req_json);
  got.emplace(req_uuid, *req_json);
  uuids.push_back(req_uuid);
  std::map<std::string, int64_t> filled;
  std::map<std::string, int> kinds;
  for (const auto& [u, r] : got) ++kinds[r.S("status")];
  std::string summary;
  for (const auto& [k, n] : kinds) summary += " " + k + "=" + std::to_string(n);
  WARN("replies to clients waiting at SIGTERM:" << summary);
  for (const auto& [u, r] : got) {
    INFO("reply: " << r.raw());
    const std::string s = r.S("status");
    CHECK((s == "FILLED" || s == "PENDING" || s == "UNKNOWN"));
    if (s == "FILLED") filled[u] = r.Int("ticket").value_or(0);
  }

  // Restart on the same data: what was FILLED stays FILLED, the rest completes without a second
  // execution.
  w.StartGatewayLinked({});
  ReqClient c(w.ctx, w.gw_endpoint);
  for (const auto& u : uuids) {
    auto r = c.CallJson(OpenBody(u, 0.1, kTimeout5s), Ms(10000));
    REQUIRE(r);
    INFO("after restart: " << r->raw());
    if (auto f = filled.find(u); f != filled.end()) {
      CHECK(r->S("status") == "FILLED");
      CHECK(r->Int("ticket") == f->second);
      CHECK(r->Bool("duplicate") == true);
    } else {
      CHECK(IsOrderStatus(r->S("status")));
    }
  }
  const Journal j = RequireAtMostOnce(w);
  for (const auto& [u, t] : filled) CHECK(j.Ticket(u) == t);
}

TEST_CASE(
    "After kill -9, orders that were in flight come back UNKNOWN and are never resent, even "
    "when the bridge cannot be asked about them",
    "[e2e]") {
  World w;
  // The real MT5-CRS bridge has no ORDER_STATUS: nothing can resolve these but an operator.
  w.Start({"--latency", "fixed:400", "--no-order-status"});

  DealerClient d(w.ctx, w.gw_endpoint);
  const std::vector<std::string> uuids = SendOpens(d, "inflight", 4);
  // Wait until the bridge has the first one (it works one at a time), then kill the gateway.
  const auto deadline = Clock::now() + Ms(5000);
  while (ReadJournal(w.journal()).entries.empty() && Clock::now() < deadline) {
    std::this_thread::sleep_for(Ms(5));
  }
  w.KillGateway();
  const Journal at_kill = ReadJournal(w.journal());
  // The bridge goes on executing what it had (signatures are fresh), replying to a dead peer.
  std::this_thread::sleep_for(Ms(2000));
  const Journal before = RequireAtMostOnce(w);

  w.StartGatewayLinked({});
  ReqClient c(w.ctx, w.gw_endpoint);
  int unknown_expected = 0;
  int unknown_last_round = 0;  // nothing can settle them after it: the store holds that many
  for (int round = 0; round < 2; ++round) {
    for (const auto& u : uuids) {
      auto r = c.CallJson(OpenBody(u, 0.1, kTimeout5s), Ms(10000));
      REQUIRE(r);
      if (round == 1 && r->S("status") == "UNKNOWN") ++unknown_last_round;
      INFO("resend after restart: " << r->raw() << ", journal count " << before.Count(u));
      if (at_kill.Count(u) == 1) {
        // Executed before the kill: its reply may have been stored in time.
        CHECK((r->S("status") == "UNKNOWN" ||
               (r->S("status") == "FILLED" && r->Int("ticket") == at_kill.Ticket(u))));
      } else if (before.Count(u) == 1) {
        // Executed after the kill: ordergate cannot know, and must say so.
        ++unknown_expected;
        CHECK(r->S("status") == "UNKNOWN");
        CHECK(r->S("error_code") == "BRIDGE_TIMEOUT");
      } else {
        // Never reached the bridge: UNKNOWN if it was reserved, else executed now.
        CHECK((r->S("status") == "UNKNOWN" || r->S("status") == "FILLED"));
      }
    }
    std::this_thread::sleep_for(Ms(500));
  }
  CHECK(HttpGet(w.metrics_port, "/readyz").first == 200);
  const auto metrics = HttpGet(w.metrics_port, "/metrics");
  INFO("metrics:\n" << metrics.second);
  CHECK(MetricValue(metrics.second, "ordergate_recovered_unknown_orders") >= 1);
  CHECK(unknown_last_round >= 1);
  CHECK(MetricValue(metrics.second, "ordergate_unknown_orders") == unknown_last_round);
  const Journal after = RequireAtMostOnce(w);
  CHECK(before.entries.size() >= 1);
  CHECK(unknown_expected >= 2);  // both rounds saw the orders executed after the kill
  for (const auto& u : uuids) {
    if (before.Count(u) == 1) CHECK(after.Count(u) == 1);
  }
}

TEST_CASE(
    "A second ordergated on a data dir already in use refuses to start, and the first keeps "
    "its records",
    "[e2e]") {
  World w;
  w.Start();
  ReqClient c(w.ctx, w.gw_endpoint);
  const std::string uuid = UniqueId("twin");
  auto r = c.CallJson(OpenBody(uuid));
  REQUIRE(r);
  REQUIRE(r->S("status") == "FILLED");

  Process twin(BinDir() + "/ordergated",
               {"--listen", "tcp://127.0.0.1:*", "--bridge", w.sim_endpoint, "--data-dir",
                w.data_dir(), "--metrics-listen", "127.0.0.1:0", "--log-level", "warn"},
               w.dir.File("twin.stderr"));
  auto st = twin.Wait(Ms(15000));
  INFO("second ordergated stderr: " << twin.Stderr());
  REQUIRE(st.has_value());
  CHECK(Process::Decode(*st) != 0);
  CheckNeverReady(twin);

  auto again = c.CallJson(OpenBody(uuid));
  REQUIRE(again);
  CHECK(again->S("status") == "FILLED");
  CHECK(again->Bool("duplicate") == true);
  CHECK(RequireAtMostOnce(w).Count(uuid) == 1);
}
