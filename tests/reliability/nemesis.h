// The nemesis (see nemesis_test.cc): injects one fault at a time at seeded random moments and
// restarts what it stopped; records violations it can see on the spot (a child that exited on its
// own, a gateway stuck after the odd bridge, a damaged store that replays a wrong outcome).
// This class is the run on the embedded guard (one ordergated on RocksDB); nemesis_pg.h derives the
// run on the shared PostgreSQL guard (two gateways, a database that crashes, fails over and goes
// away) from it, keeping the simulator and its faults.
#pragma once

#include <signal.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "data_damage.h"
#include "nemesis_client.h"
#include "nemesis_env.h"

namespace nemesis {

// The odd bridge's stalled MT5 call: as long as the probe's (finding 4), far past the gateway's
// bridge_timeout_ms here.
constexpr int64_t kStallMs = 4000;
// After the odd bridge, orders must fill again within this.
constexpr int64_t kLivenessMs = 15000;

class Nemesis {
 public:
  Nemesis(World& w, TmpfsMount& fs, Live& live, uint64_t seed, int sim_port, int gw_port)
      : w_(w), fs_(fs), live_(live), rng_(seed ^ 0x6e656d65736973ULL) {
    sim_bind_ = "tcp://127.0.0.1:" + std::to_string(sim_port);
    gw_args_ = {"--listen",
                "tcp://127.0.0.1:" + std::to_string(gw_port),
                "--durability",
                g_opt.durability,
                "--bridge-signature-ttl-ms",
                std::to_string(kTtlMs),
                "--bridge-exec-margin-ms",
                std::to_string(kExecMarginMs),
                "--bridge-timeout-ms",
                std::to_string(kBridgeTimeoutMs),
                "--unknown-query-interval-ms",
                "300",
                "--client-timeout-ms",
                std::to_string(kClientTimeoutMs),
                "--bridge-max-in-flight",
                "48",
                "--log-level",
                "warn"};
    seed_ = seed;
  }

  // `odd`: an incarnation like the real bridge (serial, libzmq's default HWM of 1000) that answers
  // some orders with the replies of issue 9 finding 2 and stalls some MT5 calls like finding 4.
  void StartSim(bool odd = false) {
    const uint64_t sim_seed = seed_ * 7919 + static_cast<uint64_t>(w_.sim_starts);
    std::vector<std::string> args = {"--signature-ttl-ms", std::to_string(kTtlMs), "--seed",
                                     std::to_string(sim_seed),
                                     // Small, so ORDER_STATUS must fall back to the journal for
                                     // older uuids.
                                     "--order-status-capacity", "500"};
    if (odd) {
      args.insert(args.end(),
                  {"--workers", "1", "--socket-hwm", "1000", "--latency", "uniform:1:10",
                   "--fault-odd-reply", "0.04", "--fault-stall", "0.01", "--fault-stall-ms",
                   std::to_string(kStallMs), "--fault-reject", "0.02"});
    } else {
      // The late reply arrives after the gateway gave up (UNKNOWN, resolved by the late reply) or
      // before it, drawn per incarnation.
      const int64_t late_ms = std::uniform_int_distribution<int64_t>(300, 2500)(rng_);
      args.insert(args.end(),
                  {"--workers", "4", "--latency", "uniform:1:40", "--fault-no-reply", "0.01",
                   "--fault-late", "0.01", "--fault-late-ms", std::to_string(late_ms),
                   "--fault-reject", "0.02", "--fault-crash", "0.002"});
    }
    w_.StartSim(args, sim_bind_);
    sim_start_unix_us_ = UnixUs();
    sim_down_ = false;
  }

  virtual ~Nemesis() = default;
  Nemesis(const Nemesis&) = delete;
  Nemesis& operator=(const Nemesis&) = delete;

  // The simulator and the gateway(s) up, the bridge link up.
  virtual void Begin() {
    StartSim();
    StartGateway();
    REQUIRE(w_.WaitBridge("up"));
  }
  // Where clients send: one endpoint per gateway, each fixed across restarts.
  virtual std::vector<std::string> Endpoints() const { return {w_.gw_endpoint}; }
  // Where the final resolution asks (ORDER_STATUS, the resends).
  virtual std::string ResolveEndpoint() const { return w_.gw_endpoint; }
  // The final clean stop of the gateway(s): each must exit 0 on SIGTERM; violations appended.
  virtual void FinalStop(std::vector<std::string>* v) {
    MarkDown();
    final_exit_ = w_.StopGateway(SIGTERM, Ms(20000));
    if (!final_exit_ || *final_exit_ != 0) {
      v->push_back("ordergated did not exit 0 on the final SIGTERM (" +
                   (final_exit_ ? std::to_string(*final_exit_) : std::string("timeout")) +
                   "); stderr tail: " + Tail(w_.gw->Stderr()));
    }
  }
  // The fault kinds a run must have injected (a run that injected nothing proves nothing).
  virtual std::vector<std::string> RequiredFaults() const {
    return {"gateway_kill9",    "gateway_pause", "bridge_kill9",    "bridge_restart",
            "bridge_latency",   "disk_full",     "bridge_no_reply", "bridge_late_reply",
            "bridge_reject",    "bridge_crash",  "data_damage",     "bridge_odd_stall",
            "bridge_odd_reply", "bridge_stall"};
  }
  // The report's lines about this kind of run's own faults and the gateway(s).
  virtual std::string Report() const {
    std::ostringstream rep;
    rep << "disk_full: " << disk_full_self_recovered << " recovered by themselves, "
        << disk_full_restarts << " needed a restart of ordergated; "
        << store_unavailable_during_full << " STORE_UNAVAILABLE replies"
        << (fs_.error().empty() ? "" : " (SKIPPED: " + fs_.error() + ")") << "\n";
    rep << "data_damage:";
    for (const auto& [k, n] : damage) rep << " " << k << "=" << n;
    rep << "; refused to start:";
    for (const auto& [k, n] : damage_refused) rep << " " << k << "=" << n;
    rep << "; started:";
    for (const auto& [k, n] : damage_started) rep << " " << k << "=" << n;
    rep << "; acknowledged orders resent to a damaged start: " << damage_resent << "\n";
    rep << "ordergated: " << w_.gw_starts << " starts, " << gateway_exits
        << " kill -9 exits checked, " << gateway_clean_stops
        << " SIGTERM stops before damage, final SIGTERM exit "
        << (final_exit_ ? std::to_string(*final_exit_) : std::string("none")) << "\n";
    return rep.str();
  }

  void StartGateway() {
    w_.StartGateway(gw_args_, sim_bind_);
    gw_down_ = false;
  }

  // Checks both children between steps: a simulator that crashed by --fault-crash (exit 3) is
  // restarted; any other exit of either is a violation.
  virtual void Tick() {
    if (w_.sim && !sim_down_ && !w_.sim->Running()) {
      const int st = Process::Decode(w_.sim->ExitStatus().value_or(-1));
      if (st == 3) {
        ++faults["bridge_crash"];
        Say("simulator crashed by --fault-crash; restarting it");
      } else {
        violations.push_back("simulator exited on its own with status " + std::to_string(st));
      }
      StartSim();
    }
    if (w_.gw && !gw_down_ && !w_.gw->Running()) {
      const int st = Process::Decode(w_.gw->ExitStatus().value_or(-1));
      violations.push_back("ordergated exited on its own with status " + std::to_string(st) +
                           "; stderr tail: " + Tail(w_.gw->Stderr()));
      StartGateway();
    }
  }

  void Idle(int64_t ms) {
    const int64_t until = NowMs() + ms;
    while (NowMs() < until) {
      Tick();
      std::this_thread::sleep_for(Ms(std::min<int64_t>(20, std::max<int64_t>(1, until - NowMs()))));
    }
  }

  // Runs faults until `end_ms`, in rounds that hold every kind once, in a seeded order.
  virtual void Run(int64_t end_ms) {
    std::vector<std::string> kinds = {"gateway_kill9",  "gateway_pause",  "bridge_kill9",
                                      "bridge_restart", "bridge_latency", "bridge_odd_stall",
                                      "data_damage",    "disk_full"};
    if (!fs_.mounted()) kinds.pop_back();
    Idle(1500);
    while (NowMs() < end_ms) {
      std::shuffle(kinds.begin(), kinds.end(), rng_);
      for (const auto& k : kinds) {
        if (NowMs() >= end_ms) break;
        Inject(k);
        Idle(R(300, 2500));
      }
    }
  }

  void Inject(const std::string& kind) {
    ++faults[kind];
    if (kind == "gateway_kill9") {
      KillGateway("kill -9");
      Idle(R(0, 400));
      StartGateway();
    } else if (kind == "gateway_pause") {
      const int64_t ms = R(300, 2500);
      Say("SIGSTOP ordergated for " + std::to_string(ms) + " ms");
      w_.gw->Signal(SIGSTOP);
      Idle(ms);
      w_.gw->Signal(SIGCONT);
    } else if (kind == "bridge_kill9") {
      Say("kill -9 of the simulator");
      sim_down_ = true;
      w_.sim->Signal(SIGKILL);
      (void)w_.sim->Wait(Ms(10000));
      Idle(R(0, 800));
      StartSim();
    } else if (kind == "bridge_restart") {
      Say("SIGTERM + restart of the simulator");
      sim_down_ = true;
      w_.sim->Signal(SIGTERM);
      auto st = w_.sim->Wait(Ms(10000));
      if (!st) {
        violations.push_back("simulator did not stop within 10 s of SIGTERM");
      } else if (Process::Decode(*st) == 3) {
        ++faults["bridge_crash"];  // its --fault-crash came first
      }
      StartSim();
    } else if (kind == "bridge_latency") {
      const int64_t ms = kBridgeTimeoutMs + R(200, 1500);
      Say("SIGSTOP the simulator for " + std::to_string(ms) + " ms (bridge_timeout_ms " +
          std::to_string(kBridgeTimeoutMs) + ")");
      w_.sim->Signal(SIGSTOP);
      Idle(ms);
      w_.sim->Signal(SIGCONT);
    } else if (kind == "disk_full") {
      DiskFull();
    } else if (kind == "bridge_odd_stall") {
      OddStallBridge();
    } else if (kind == "data_damage") {
      DataDamage();
    }
  }

  // Stops the simulator with SIGTERM (its counters go to its stderr) and starts it again.
  void RestartSim(bool odd) {
    sim_down_ = true;
    w_.sim->Signal(SIGTERM);
    auto st = w_.sim->Wait(Ms(10000));
    if (!st) {
      violations.push_back("simulator did not stop within 10 s of SIGTERM");
    } else if (Process::Decode(*st) == 3) {
      ++faults["bridge_crash"];  // its --fault-crash came first
    }
    StartSim(odd);
  }

  // Issue 9, findings 2 and 4: a while of a serial bridge that answers some orders with replies
  // that settle nothing and stalls some MT5 calls for kStallMs, then the usual bridge again. The
  // gateway must come out of it able to serve: a fresh FILLED within kLivenessMs. (Orders it left
  // PENDING for ever fail the final resolution; odd replies passed through or taken as fills fail
  // the checker.)
  void OddStallBridge() {
    const int64_t hold = R(5000, 9000);
    Say("simulator restarted serial with odd replies and " + std::to_string(kStallMs) +
        "-ms stalls for " + std::to_string(hold) + " ms");
    RestartSim(/*odd=*/true);
    Idle(hold);
    Say("simulator restarted as usual");
    RestartSim(/*odd=*/false);
    const int64_t back_ms = NowMs();
    while (NowMs() - back_ms < kLivenessMs && live_.last_fresh_fill_ms.load() <= back_ms + 100) {
      Idle(50);
    }
    if (live_.last_fresh_fill_ms.load() > back_ms + 100) {
      ++odd_stall_recovered;
      Say("orders fill again " + std::to_string(NowMs() - back_ms) +
          " ms after the bridge's return");
    } else {
      violations.push_back(
          "ordergated stuck after the odd-reply/stall bridge: no order FILLED within " +
          std::to_string(kLivenessMs) + " ms of the usual bridge's return");
    }
  }

  // Issue 9, finding 1: the stopped gateway's data directory damaged as the probe did. Accepted:
  // it refuses to start (non-zero exit, a message on stderr), and then the operator's backup is
  // restored; or it starts and every stored outcome is intact: a sample of acknowledged orders
  // resent at once must replay their outcome (duplicate:true), and the checker's at-most-once and
  // no-lost-acknowledgement rules judge the rest.
  void DataDamage() {
    const bool clean = R(0, 1) == 0;
    const auto kind = static_cast<DamageKind>(R(0, kDamageKinds - 1));
    const std::string how =
        std::string(DamageName(kind)) + (clean ? " after SIGTERM" : " after kill -9");
    if (clean) {
      StopGatewayClean();
    } else {
      KillGateway("kill -9 before data-dir damage");
    }
    const std::string backup = w_.dir.File("backup");
    std::string err;
    if (!BackUpDir(w_.data_dir(), backup, &err)) {
      violations.push_back("data_damage: backup failed: " + err);
      StartGateway();
      return;
    }
    const std::string done = DamageDataDir(w_.data_dir(), kind);
    Say("data-dir damage " + how + ": " + done);
    if (done.rfind("cannot", 0) == 0) {
      violations.push_back("data_damage: " + done);
      StartGateway();
      return;
    }
    ++damage[how];
    auto outcome = TryStartGateway();
    if (outcome == StartOutcome::kReady) {
      ++damage_started[DamageName(kind)];
      ResendAcknowledged(how);
      return;
    }
    if (outcome == StartOutcome::kRefused) {
      ++damage_refused[DamageName(kind)];
      Say("ordergated refused to start (" + Tail(w_.gw->Stderr(), 300) + "); restoring the backup");
    }
    if (!RestoreDir(backup, w_.data_dir(), &err)) {
      violations.push_back("data_damage: restore failed: " + err);
    }
    StartGateway();
  }

  enum class StartOutcome { kReady, kRefused, kBad };
  // Starts ordergated on a data directory that may be damaged: ready, refused (exited non-zero with
  // a message on stderr within 20 s), or anything else (a violation, recorded; the process is
  // gone).
  StartOutcome TryStartGateway() {
    std::vector<std::string> args = {
        "--listen",         "tcp://127.0.0.1:*", "--bridge",    sim_bind_,
        "--data-dir",       w_.data_dir(),       "--log-level", "warn",
        "--metrics-listen", "127.0.0.1:0",       "--retention", "7d"};
    args.insert(args.end(), gw_args_.begin(), gw_args_.end());  // later flags win
    ++w_.gw_starts;
    w_.gw =
        std::make_unique<Process>(BinDir() + "/ordergated", args,
                                  w_.dir.File("gw-" + std::to_string(w_.gw_starts) + ".stderr"));
    if (w_.gw->WaitForLine("ordergated ready ", Ms(20000))) {
      gw_down_ = false;
      return StartOutcome::kReady;
    }
    // No ready line: stdout closed (it is exiting, and may not be reapable for a moment yet) or
    // 20 s passed.
    if (!w_.gw->Wait(Ms(10000))) {
      violations.push_back("data_damage: ordergated neither ready nor exited within 20 s");
      w_.gw->Signal(SIGKILL);
      (void)w_.gw->Wait(Ms(10000));
      return StartOutcome::kBad;
    }
    const int st = Process::Decode(w_.gw->ExitStatus().value_or(-1));
    const std::string err = w_.gw->Stderr();
    if (st > 0 && err.find_first_not_of(" \t\r\n") != std::string::npos)
      return StartOutcome::kRefused;
    violations.push_back("data_damage: ordergated failed to start without a clean refusal (exit " +
                         std::to_string(st) + "); stderr tail: " + Tail(err));
    return StartOutcome::kBad;
  }

  // Resends a sample of the orders clients were told the outcome of, at once, to the gateway that
  // just started on a damaged directory: each must replay that outcome.
  void ResendAcknowledged(const std::string& how) {
    const std::vector<Acknowledged> sample = live_.SampleAcknowledged(300);
    std::vector<std::pair<std::string, std::string>> bodies;
    std::map<std::string, const Acknowledged*> by_uuid;
    for (const auto& a : sample) {
      bodies.emplace_back(a.uuid, OpenBody(a.uuid, a.volume, "\"timeout_ms\":5000"));
      by_uuid[a.uuid] = &a;
    }
    const auto got = Pipeline(w_.ctx, w_.gw_endpoint, bodies, 64, Ms(20000));
    int64_t wrong = 0;
    for (const auto& [u, a] : by_uuid) {
      auto g = got.find(u);
      if (g != got.end()) damage_replies.push_back(ToRec(g->second, 'r'));
      const bool same = g != got.end() && g->second.S("status") == a->status &&
                        g->second.S("error_code") == a->code &&
                        g->second.Int("ticket").value_or(0) == a->ticket &&
                        g->second.Bool("duplicate") == true;
      if (same) continue;
      // A store that refuses writes right after the start is not a lost outcome.
      if (g != got.end() && g->second.S("error_code") == "STORE_UNAVAILABLE") continue;
      ++wrong;
      if (wrong <= 10) {
        violations.push_back("data_damage (" + how + "): acknowledged " + u + " " + a->status +
                             (a->code.empty() ? "" : "/" + a->code) + "#" +
                             std::to_string(a->ticket) + ", resent after the restart: " +
                             (g == got.end() ? std::string("no answer") : g->second.raw()));
      }
    }
    damage_resent += static_cast<int64_t>(sample.size());
    Say("data-dir damage " + how + ": ordergated started; " + std::to_string(sample.size()) +
        " acknowledged orders resent, " + std::to_string(wrong) + " did not replay their outcome");
  }

  void StopGatewayClean() {
    if (!w_.gw->Running()) Tick();
    Say("SIGTERM of ordergated (pid " + std::to_string(w_.gw->pid()) + ")");
    gw_down_ = true;
    w_.gw->Signal(SIGTERM);
    auto st = w_.gw->Wait(Ms(20000));
    const int decoded = st ? Process::Decode(*st) : -1000;
    ++gateway_clean_stops;
    if (decoded != 0) {
      violations.push_back("ordergated exit status " + std::to_string(decoded) +
                           " on SIGTERM before data-dir damage (0 expected)");
      if (!st) {
        w_.gw->Signal(SIGKILL);
        (void)w_.gw->Wait(Ms(10000));
      }
    }
  }

  void DiskFull() {
    const int64_t filled = fs_.Fill();
    const int64_t hold = R(800, 3000);
    Say("disk full: " + std::to_string(filled >> 20) + " MiB filler, held " + std::to_string(hold) +
        " ms");
    const int64_t su_before = live_.store_unavailable.load();
    Idle(hold);
    fs_.Free();
    const int64_t freed_ms = NowMs();
    // Does the store come back by itself? Proof: a fresh FILLED (its outcome was written).
    while (NowMs() - freed_ms < 6000 && live_.last_fresh_fill_ms.load() <= freed_ms + 100) {
      Idle(50);
    }
    const int64_t su = live_.store_unavailable.load() - su_before;
    store_unavailable_during_full += su;
    if (live_.last_fresh_fill_ms.load() > freed_ms + 100) {
      ++disk_full_self_recovered;
      Say("disk freed; store wrote again after " + std::to_string(NowMs() - freed_ms) + " ms (" +
          std::to_string(su) + " STORE_UNAVAILABLE replies)");
      return;
    }
    ++disk_full_restarts;
    Say("disk freed; store still refusing writes after 6 s (" + std::to_string(su) +
        " STORE_UNAVAILABLE replies): restarting ordergated (see the report)");
    KillGateway("kill -9 after a full disk");
    StartGateway();
  }

  void KillGateway(const std::string& why) {
    if (!w_.gw->Running()) {
      Tick();  // it died on its own: recorded and restarted
    }
    gw_down_ = true;
    KillChecked(*w_.gw, "ordergated", why);
  }

  // kill -9 of a gateway process `name`, reaped; any exit but our SIGKILL is a violation.
  void KillChecked(Process& p, const std::string& name, const std::string& why) {
    Say(why + " of " + name + " (pid " + std::to_string(p.pid()) + ")");
    p.Signal(SIGKILL);
    const auto st = p.Wait(Ms(10000));
    const int decoded = st ? Process::Decode(*st) : -1000;
    ++gateway_exits;
    if (decoded != -SIGKILL) {
      violations.push_back(name + " exit status " + std::to_string(decoded) +
                           " where our kill -9 was expected; stderr tail: " + Tail(p.Stderr()));
    }
  }

  static std::string Tail(const std::string& s, size_t n = 1500) {
    return s.size() > n ? s.substr(s.size() - n) : s;
  }

  int64_t sim_start_unix_us() const { return sim_start_unix_us_; }
  // The final clean stop: exits from here on are ours.
  void MarkDown() {
    sim_down_ = true;
    gw_down_ = true;
  }

  std::map<std::string, int64_t> faults;
  std::vector<std::string> violations;
  int64_t disk_full_self_recovered = 0;
  int64_t disk_full_restarts = 0;
  int64_t store_unavailable_during_full = 0;
  int64_t gateway_exits = 0;
  int64_t gateway_clean_stops = 0;
  int64_t odd_stall_recovered = 0;
  std::map<std::string, int64_t> damage;  // by kind and how the gateway stopped
  std::map<std::string, int64_t> damage_refused, damage_started;  // by kind
  int64_t damage_resent = 0;
  std::vector<ReplyRec> damage_replies;  // the resends' replies, for the checker

 protected:
  int64_t R(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }

  World& w_;
  TmpfsMount& fs_;
  Live& live_;
  std::mt19937_64 rng_;
  uint64_t seed_ = 0;
  std::string sim_bind_;
  std::vector<std::string> gw_args_;
  int64_t sim_start_unix_us_ = 0;
  bool sim_down_ = false;  // killed or stopped by us, not restarted yet: not a crash
  bool gw_down_ = false;
  std::optional<int> final_exit_;
};

}  // namespace nemesis
