// The nemesis on the shared PostgreSQL guard (issue 16; `reliability_nemesis --guard postgres`):
// two ordergated, gw-a and gw-b, on one database (deploy/postgres/cluster.sh: a primary and a
// synchronous standby on loopback, started for the run) and one simulator; clients with a home
// gateway that retry, conflict and query through either. The gateways reach the database through a
// loopback TCP proxy with a fixed address (what a virtual IP or HAProxy gives a real deployment),
// so the run can cut them off, black-hole them and move them to the promoted standby.
//
// Faults, one at a time (the simulator's and its own bridge faults as in the embedded run):
//   gateway_kill9     kill -9 of one gateway, down 0-3 s (its lease of 1.2 s expires meanwhile or
//                     not): the other serves its clients' retries and adopts its in-flight orders
//                     as UNKNOWN; restarted under the same gateway_id once the lease lets it
//   gateway_pause     SIGSTOP of one gateway for 0.3-2.5 s: past its lease it must find the lease
//                     LOST and send nothing it reserved before (the other adopted those)
//   db_unreachable    every connection to the database closed and new ones refused, 0.2-2.5 s
//   db_silent         the database a black hole (nothing relayed, nothing closed), 0.2-2.5 s
//   db_crash          kill -9 of the primary's postmaster and its backends, restarted after 0-1.5 s
//                     (crash recovery; the standby reconnects)
//   db_failover       once per run: the primary stopped at once (immediate mode: no shutdown
//                     checkpoint, as a crash) and the synchronous standby promoted; the proxy
//                     points at it and closes every connection to the old one
//   bridge_kill9, bridge_restart, bridge_latency, bridge_odd_stall: as in the embedded run
// A gateway whose lease the database saw expire (a pause or an outage longer than the lease) is
// fenced: it admits nothing more, drains and exits 75; the nemesis starts it again, as its
// supervisor (systemd's Restart=on-failure) would: counted, not a violation. Any other exit of a
// gateway on its own is one.
#pragma once

#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "nemesis.h"
#include "tests/idempotency/postgres_test_util.h"
#include "tests/support/clock.h"

namespace nemesis {

// Below kBridgeTimeoutMs (1500), as the configuration check demands: a dead gateway's orders are
// UNKNOWN within about a bridge deadline.
constexpr int64_t kLeaseMs = 1200;

// One ordergated on the shared guard, on a fixed endpoint so that clients reconnect to it.
struct PgGateway {
  std::string id;        // gateway_id
  std::string endpoint;  // tcp://127.0.0.1:PORT
  std::string data_dir;
  std::unique_ptr<Process> proc;
  bool down = true;  // stopped by the nemesis, not restarted yet
  int starts = 0;
  int64_t next_exit_check_ms = 0;
};

class PgNemesis : public Nemesis {
 public:
  PgNemesis(World& w, TmpfsMount& fs, Live& live, uint64_t seed, int sim_port,
            const std::vector<int>& gw_ports)
      : Nemesis(w, fs, live, seed, sim_port, gw_ports.at(0)) {
    cluster_dir_ = w.dir.File("pg");
    ::chmod(w.dir.path().c_str(), 0755);  // the servers may run as another user (root -> postgres)
    const std::vector<std::string> ids = {"gw-a", "gw-b"};
    for (size_t i = 0; i < gw_ports.size() && i < ids.size(); ++i) {
      auto g = std::make_unique<PgGateway>();
      g->id = ids[i];
      g->endpoint = "tcp://127.0.0.1:" + std::to_string(gw_ports[i]);
      g->data_dir = w.dir.File("data-" + ids[i]);
      gws_.push_back(std::move(g));
    }
    failover_at_ms_ = 0;
  }
  ~PgNemesis() override {
    for (auto& g : gws_) {
      if (g->proc && g->proc->Running()) {
        g->proc->Signal(SIGKILL);
        (void)g->proc->Wait(Ms(10000));
      }
    }
    proxy_.reset();
    if (!cluster_dir_.empty()) {
      std::system(("'" + std::string(ORDERGATE_SOURCE_DIR) + "/deploy/postgres/cluster.sh' stop '" +
                   cluster_dir_ + "' >/dev/null 2>&1")
                      .c_str());
    }
  }

  void Begin() override {
    namespace pgtest = ordergate::idempotency::pgtest;
    const std::string primary = pgtest::ClusterScript("start " + cluster_dir_);
    Say("PostgreSQL primary and synchronous standby up: " + primary);
    proxy_ = std::make_unique<pgtest::TcpProxy>(pgtest::PortOf(primary));
    dsn_ = pgtest::WithPort(primary, proxy_->port());
    StartSim();
    for (auto& g : gws_) StartPg(*g);
    for (auto& g : gws_) {
      ReqClient c(w_.ctx, g->endpoint);
      const bool up = ordergate::test_support::WaitUntil(
          [&] {
            auto r = c.CallJson(PingBody(), Ms(3000));
            return r && r->S("gateway.bridge") == "up";
          },
          Ms(10000), Ms(50));
      REQUIRE(up);
    }
  }

  std::vector<std::string> Endpoints() const override {
    std::vector<std::string> out;
    for (const auto& g : gws_) out.push_back(g->endpoint);
    return out;
  }
  std::string ResolveEndpoint() const override { return gws_.front()->endpoint; }

  void FinalStop(std::vector<std::string>* v) override {
    CheckExitsNow();  // one that exited 75 just now is restarted first
    MarkDown();
    for (auto& g : gws_) g->down = true;
    for (auto& g : gws_) {
      if (!g->proc) continue;
      g->proc->Signal(SIGTERM);
      const auto st = g->proc->Wait(Ms(20000));
      const int decoded = st ? Process::Decode(*st) : -1000;
      final_exits_ += g->id + "=" + (st ? std::to_string(decoded) : "timeout") + " ";
      if (decoded != 0) {
        v->push_back(g->id + " did not exit 0 on the final SIGTERM (" +
                     (st ? std::to_string(decoded) : std::string("timeout")) +
                     "); stderr tail: " + Tail(g->proc->Stderr()));
      }
    }
  }

  std::vector<std::string> RequiredFaults() const override {
    return {"gateway_kill9",  "gateway_pause",    "db_unreachable",    "db_silent",
            "db_crash",       "db_failover",      "bridge_kill9",      "bridge_restart",
            "bridge_latency", "bridge_no_reply",  "bridge_late_reply", "bridge_reject",
            "bridge_crash",   "bridge_odd_stall", "bridge_odd_reply",  "bridge_stall"};
  }

  std::string Report() const override {
    std::ostringstream rep;
    rep << "shared guard: PostgreSQL primary + synchronous standby, "
        << (failed_over_ ? "failed over to the standby" : "no failover") << "; lease " << kLeaseMs
        << " ms; gateways";
    for (const auto& g : gws_) rep << " " << g->id << " (" << g->starts << " starts)";
    rep << "; kill -9 exits checked " << gateway_exits << "; leases found LOST and restarted "
        << lease_lost_restarts << "; restarts that waited for the old lease "
        << restarts_waited_for_lease << "; final SIGTERM exits " << final_exits_ << "\n";
    rep << "database: " << db_crash_restarts << " crashes restarted, " << db_outage_ms
        << " ms unreachable or silent in all\n";
    return rep.str();
  }

  void Tick() override {
    Nemesis::Tick();  // the simulator
    // While the database is down by our hand a restart could not start: after it.
    if (db_fault_) return;
    for (auto& g : gws_) {
      if (g->down || !g->proc) continue;
      if (NowMs() < g->next_exit_check_ms) continue;
      g->next_exit_check_ms = NowMs() + 20;
      if (!g->proc->Running()) {
        const int st = Process::Decode(g->proc->ExitStatus().value_or(-1));
        const std::string err = g->proc->Stderr();
        // A fenced gateway drains and exits 75 (EX_TEMPFAIL): its supervisor starts a new one.
        if (st == 75 && err.find(") is LOST (") != std::string::npos) {
          ++lease_lost_restarts;
          Say(g->id + " found its lease LOST, drained and exited 75; restarting it");
        } else {
          violations.push_back(g->id + " exited on its own with status " + std::to_string(st) +
                               "; stderr tail: " + Tail(err));
        }
        StartPg(*g);
      }
    }
  }

  void Run(int64_t end_ms) override {
    std::vector<std::string> kinds = {"gateway_kill9",  "gateway_pause",  "db_unreachable",
                                      "db_silent",      "db_crash",       "bridge_kill9",
                                      "bridge_restart", "bridge_latency", "bridge_odd_stall"};
    // The failover happens once, in the middle third of the run, between two faults.
    const int64_t now = NowMs();
    failover_at_ms_ = now + (end_ms - now) / 3 + R(0, std::max<int64_t>(1, (end_ms - now) / 3));
    Idle(1500);
    while (NowMs() < end_ms) {
      std::shuffle(kinds.begin(), kinds.end(), rng_);
      for (const auto& k : kinds) {
        if (NowMs() >= end_ms) break;
        if (!failed_over_ && NowMs() >= failover_at_ms_) {
          Inject("db_failover");
          Idle(R(300, 2500));
        }
        Inject(k);
        Idle(R(300, 2500));
      }
    }
  }

  // Hides Nemesis::Inject (not virtual: each run's Run calls its own).
  void Inject(const std::string& kind) {
    if (kind.rfind("bridge_", 0) == 0) {
      Nemesis::Inject(kind);
      return;
    }
    ++faults[kind];
    db_fault_ = kind.rfind("db_", 0) == 0;
    InjectOwn(kind);
    db_fault_ = false;
  }

  int64_t lease_lost_restarts = 0;
  int64_t restarts_waited_for_lease = 0;
  int64_t db_crash_restarts = 0;
  int64_t db_outage_ms = 0;

 private:
  void InjectOwn(const std::string& kind) {
    namespace pgtest = ordergate::idempotency::pgtest;
    if (kind == "gateway_kill9") {
      PgGateway& g = *gws_[static_cast<size_t>(R(0, static_cast<int64_t>(gws_.size()) - 1))];
      KillPg(g, "kill -9");
      Idle(R(0, 3000));
      StartPg(g);
    } else if (kind == "gateway_pause") {
      PgGateway& g = *gws_[static_cast<size_t>(R(0, static_cast<int64_t>(gws_.size()) - 1))];
      const int64_t ms = R(300, 2500);
      Say("SIGSTOP " + g.id + " for " + std::to_string(ms) + " ms (lease " +
          std::to_string(kLeaseMs) + " ms)");
      g.proc->Signal(SIGSTOP);
      Idle(ms);
      g.proc->Signal(SIGCONT);
    } else if (kind == "db_unreachable" || kind == "db_silent") {
      const int64_t ms = R(200, 2500);
      Say("database " + std::string(kind == "db_silent" ? "silent (black hole)" : "unreachable") +
          " for " + std::to_string(ms) + " ms");
      const int64_t from_ms = NowMs();
      if (kind == "db_silent") {
        proxy_->SetSilent(true);
      } else {
        proxy_->SetDown(true);
      }
      Idle(ms);
      if (kind == "db_silent") {
        proxy_->SetSilent(false);
      } else {
        proxy_->SetDown(false);
      }
      // Idle may have outlasted `ms` (a simulator restarted meanwhile): what counts is how long
      // the database was away.
      const int64_t lasted_ms = NowMs() - from_ms;
      if (lasted_ms > ms + 50) Say("the database was away " + std::to_string(lasted_ms) + " ms");
      db_outage_ms += lasted_ms;
    } else if (kind == "db_crash") {
      const std::string dir = cluster_dir_ + "/" + ClusterState("primary_dir");
      const int64_t hold = R(0, 1500);
      Say("kill -9 of the PostgreSQL primary (" + dir + ") and its backends; restart after " +
          std::to_string(hold) + " ms");
      KillPostmaster(dir);
      Idle(hold);
      const std::string dsn = pgtest::ClusterScript("start " + cluster_dir_);
      ++db_crash_restarts;
      Say("PostgreSQL primary restarted: " + dsn);
    } else if (kind == "db_failover") {
      Say("failover: the primary stopped at once, the synchronous standby promoted");
      const std::string promoted = pgtest::ClusterScript("promote " + cluster_dir_);
      proxy_->SetUpstream(pgtest::PortOf(promoted));
      failed_over_ = true;
      Say("the proxy points at the promoted standby: " + promoted);
    }
  }

  std::string ClusterState(const std::string& key) const {
    std::ifstream in(cluster_dir_ + "/cluster.env");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind(key + "=", 0) == 0) return line.substr(key.size() + 1);
    }
    return "";
  }

  // SIGKILL of the postmaster and of every process it started (its backends would otherwise keep
  // the shared memory and refuse the restart): the server's machine crashing.
  void KillPostmaster(const std::string& data_dir) {
    std::ifstream in(data_dir + "/postmaster.pid");
    pid_t pid = 0;
    in >> pid;
    if (pid <= 0) {
      violations.push_back("db_crash: no postmaster.pid in " + data_dir);
      return;
    }
    std::vector<pid_t> children;
    std::ifstream kids("/proc/" + std::to_string(pid) + "/task/" + std::to_string(pid) +
                       "/children");
    for (pid_t c = 0; kids >> c;) children.push_back(c);
    ::kill(pid, SIGKILL);
    for (pid_t c : children) ::kill(c, SIGKILL);
    for (int i = 0; i < 200 && ::kill(pid, 0) == 0; ++i) std::this_thread::sleep_for(Ms(10));
  }

  std::vector<std::string> PgArgs(const PgGateway& g) const {
    std::vector<std::string> args = {"--bridge",    sim_bind_, "--data-dir",       g.data_dir,
                                     "--log-level", "warn",    "--metrics-listen", "127.0.0.1:0"};
    args.insert(args.end(), gw_args_.begin(), gw_args_.end());
    // Later flags win: this gateway's endpoint over the embedded run's.
    args.insert(args.end(), {"--listen", g.endpoint, "--guard", "postgres", "--guard-dsn", dsn_,
                             "--gateway-id", g.id, "--guard-lease-ms", std::to_string(kLeaseMs)});
    return args;
  }

  // Starts `g` under its gateway_id, retrying while its previous incarnation's lease is still
  // live (a restart right after a kill -9 is refused until the lease expires, by design).
  void StartPg(PgGateway& g) {
    g.down = true;  // until ready: Tick (from Idle below) must not restart it a second time
    const int64_t give_up = NowMs() + 30000;
    bool waited = false;
    while (NowMs() < give_up) {
      ++g.starts;
      g.proc =
          std::make_unique<Process>(BinDir() + "/ordergated", PgArgs(g),
                                    w_.dir.File(g.id + "-" + std::to_string(g.starts) + ".stderr"));
      if (g.proc->WaitForLine("ordergated ready ", Ms(20000))) {
        g.down = false;
        if (waited) ++restarts_waited_for_lease;
        return;
      }
      if (!g.proc->Wait(Ms(10000))) {
        g.proc->Signal(SIGKILL);
        (void)g.proc->Wait(Ms(10000));
      }
      const std::string err = g.proc->Stderr();
      if (err.find("is held by another live gateway") != std::string::npos) {
        waited = true;
      } else {
        // The database may be restarting (a crash just before): a refusal with a message is
        // how it must fail; try again.
        Say(g.id + " did not start (" + Tail(err, 300) + "); retrying");
      }
      Idle(200);
    }
    violations.push_back(g.id + " could not be restarted within 30 s");
  }

  // Tick's check of the gateways' exits, not waiting for its next turn.
  void CheckExitsNow() {
    for (auto& g : gws_) g->next_exit_check_ms = 0;
    Tick();
  }

  void KillPg(PgGateway& g, const std::string& why) {
    if (!g.proc->Running()) CheckExitsNow();  // it exited by itself: judged and restarted first
    g.down = true;
    KillChecked(*g.proc, g.id, why);
  }

  std::vector<std::unique_ptr<PgGateway>> gws_;
  std::string cluster_dir_;
  std::string dsn_;  // through the proxy
  std::unique_ptr<ordergate::idempotency::pgtest::TcpProxy> proxy_;
  int64_t failover_at_ms_ = 0;
  bool failed_over_ = false;
  bool db_fault_ = false;  // a db_* fault in progress
  std::string final_exits_;
};

}  // namespace nemesis
