// Reliability: the nemesis run (issue 3, docs/RELIABILITY.md). Jepsen's shape on one machine:
// real ordergated and ordergate-bridge-sim processes, client threads that submit, retry, conflict
// and query, a nemesis that injects faults at seeded random moments, and a checker that reads the
// simulator's journal (every execution) and every reply any client received.
//
//   reliability_nemesis --duration-s 170              # the CI run (ctest label "long")
//   reliability_nemesis --duration-s 3600 --seed 42   # the hour run; --seed replays a schedule
//
// Faults, one at a time from the nemesis (the simulator's own --fault-* draws run all along):
//   gateway_kill9       kill -9 of ordergated, restarted on the same data directory
//   gateway_pause       SIGSTOP / SIGCONT of ordergated (clients time out and retry)
//   bridge_kill9        kill -9 of the simulator, restarted on the same journal and port
//   bridge_restart      SIGTERM + restart of the simulator (its fault counters are read then)
//   bridge_latency      SIGSTOP of the simulator longer than --bridge-timeout-ms
//   disk_full           the data directory (a tmpfs) filled up, then freed
//   bridge_no_reply / bridge_late_reply / bridge_reject / bridge_crash: the simulator's draws
//
// Invariants checked at the end (any violation fails the run, printed with the seed):
//   1. at most once: no uuid appears twice in the journal; what ran is the order sent (volume);
//   2. no acknowledgement lost: a uuid some client saw FILLED / REJECTED answers the same outcome
//      (same ticket) to ORDER_STATUS and to a resend once the faults stopped, and never anything
//      else after it was acknowledged;
//   3. every UNKNOWN resolves, FILLED iff executed, with the journal's ticket;
//   4. an order refused STORE_UNAVAILABLE (every send answered, only refusals) never executed;
//   5. ordergated never exited on its own (every exit is one of our kill -9s, the last a clean
//      SIGTERM with status 0), and no sanitizer report in any child's stderr.
// Plus: the simulator answers ORDER_STATUS for every uuid it executed, across its restarts.
#define CATCH_CONFIG_RUNNER
#include <fcntl.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "e2e_util.h"

using namespace e2e;

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  int duration_s = 60;
  uint64_t seed = 0;  // 0: drawn from the clock, and printed
  int clients = 4;
  int tmpfs_mb = 48;
  std::string durability = "sync";
  bool allow_missing_faults = false;
};
Options g_opt;

const Clock::time_point g_t0 = Clock::now();
int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - g_t0).count();
}

int64_t UnixUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void Say(const std::string& s) {
  std::printf("[nemesis %7.1fs] %s\n", static_cast<double>(NowMs()) / 1000.0, s.c_str());
  std::fflush(stdout);
}

// Gateway settings: short timeouts so that many faults fit in a few minutes, aligned as
// ValidateConfig demands (bridge_timeout_ms > ttl + exec margin).
constexpr int64_t kTtlMs = 1000;
constexpr int64_t kExecMarginMs = 200;
constexpr int64_t kBridgeTimeoutMs = 1500;
constexpr int64_t kClientTimeoutMs = 1000;                 // timeout_ms every order carries
constexpr int64_t kLostAfterMs = kClientTimeoutMs + 1500;  // no reply by then: the send is lost
constexpr int kWindow = 5;                                 // uuids each client has in progress

bool NotRecordedRefusal(const std::string& status, const std::string& code) {
  return (status == "REJECTED" && (code == "GATEWAY_BUSY" || code == "BRIDGE_DOWN")) ||
         (status == "error" && code == "STORE_UNAVAILABLE");
}
bool Terminal(const std::string& status, const std::string& code) {
  return status == "FILLED" ||
         (status == "REJECTED" && code != "GATEWAY_BUSY" && code != "BRIDGE_DOWN" &&
          code != "IDEMPOTENCY_CONFLICT" && code != "RISK_LIMIT");
}

// One reply a client (or the final pass) received.
struct ReplyRec {
  std::string uuid;
  char kind = 'o';  // o: OPEN, c: conflicting OPEN, q: ORDER_STATUS, f: final ORDER_STATUS,
                    // r: final resend of the OPEN
  std::string status, code;
  int64_t ticket = 0;
  std::optional<bool> duplicate;
  int64_t t_ms = 0;
  std::string raw;
};

ReplyRec ToRec(const Json& j, char kind) {
  ReplyRec r;
  r.uuid = j.S("uuid");
  r.kind = kind;
  r.status = j.S("status");
  r.code = j.S("error_code");
  r.ticket = j.Int("ticket").value_or(0);
  r.duplicate = j.Bool("duplicate");
  r.t_ms = NowMs();
  r.raw = j.raw();
  return r;
}

struct OrderState {
  std::string uuid;
  double volume = 0;
  int sends = 0;
  int replies = 0;
  std::deque<int64_t> outstanding;  // send times of OPENs not answered yet (FIFO)
  bool lost_any = false;            // a send went unanswered past kLostAfterMs
  bool only_refusals = true;        // every reply so far was GATEWAY_BUSY/BRIDGE_DOWN/STORE_...
  bool store_refused = false;       // STORE_UNAVAILABLE with every send answered, only refusals
  bool terminal = false;
  bool unknown = false;
  bool abandoned = false;  // STORE_UNAVAILABLE: never sent again
  bool active = false;     // holds a window slot
  bool resend_scheduled = false;
  int followups = 0;
};

// Counters the nemesis reads while clients run.
struct Live {
  std::atomic<int64_t> last_fresh_fill_ms{-1};  // FILLED duplicate:false: a store write succeeded
  std::atomic<int64_t> store_unavailable{0};
  std::atomic<int64_t> replies{0};
};

class Client {
 public:
  Client(int id, uint64_t seed, zmq::context_t& ctx, std::string endpoint, Live& live)
      : id_(id), rng_(seed), ctx_(ctx), endpoint_(std::move(endpoint)), live_(live) {}

  void Run(const std::atomic<bool>& stop_new, const std::atomic<bool>& stop_all) {
    DealerClient orders(ctx_, endpoint_);
    DealerClient conflicts(ctx_, endpoint_);
    DealerClient queries(ctx_, endpoint_);
    next_new_ms_ = NowMs();
    while (!stop_all.load()) {
      const int64_t now = NowMs();
      if (!stop_new.load() && active_ < kWindow && now >= next_new_ms_) {
        NewOrder(orders, now);
        next_new_ms_ = std::max(next_new_ms_, now + U(0, 25));
      }
      while (!schedule_.empty() && schedule_.begin()->first <= now) {
        auto [due, action] = *schedule_.begin();
        schedule_.erase(schedule_.begin());
        OrderState& o = orders_[action.second];
        if (action.first == 'o') {
          o.resend_scheduled = false;
          if (!o.abandoned) SendOpen(orders, o, now);
        } else if (action.first == 'c') {
          conflicts.Send(OpenBody(o.uuid, o.volume + 0.5, Extra()));
          ++conflicts_sent;
        } else {
          queries.Send(StatusBody(o.uuid));
          ++queries_sent;
        }
      }
      for (int i = 0; i < 64; ++i) {
        auto r = orders.RecvJson(Ms(i == 0 ? 3 : 0));
        if (!r) break;
        OnOrderReply(*r);
      }
      for (auto* s : {&conflicts, &queries}) {
        for (int i = 0; i < 64; ++i) {
          auto r = s->RecvJson(Ms(0));
          if (!r) break;
          replies.push_back(ToRec(*r, s == &conflicts ? 'c' : 'q'));
          live_.replies.fetch_add(1);
        }
      }
      CheckLost(now);
    }
  }

  // Results, read after the thread joined.
  std::vector<OrderState> orders_;
  std::vector<ReplyRec> replies;
  std::vector<int64_t> latency_us;
  int64_t sends = 0, conflicts_sent = 0, queries_sent = 0, lost_sends = 0;

 private:
  int64_t U(int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng_); }
  bool P(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  static std::string Extra() { return "\"timeout_ms\":" + std::to_string(kClientTimeoutMs); }

  void Schedule(int64_t at, char what, size_t idx) {
    schedule_.emplace(at, std::make_pair(what, idx));
  }

  void NewOrder(DealerClient& sock, int64_t now) {
    OrderState o;
    o.uuid = "n" + std::to_string(g_opt.seed) + "-c" + std::to_string(id_) + "-" +
             std::to_string(orders_.size());
    o.volume = static_cast<double>(U(1, 50)) / 100.0;
    o.active = true;
    ++active_;
    by_uuid_[o.uuid] = orders_.size();
    orders_.push_back(o);
    const size_t idx = orders_.size() - 1;
    SendOpen(sock, orders_[idx], now);
    // A strategy that retries while the first send is still in flight.
    if (P(0.12)) {
      orders_[idx].resend_scheduled = true;
      Schedule(now + U(0, 120), 'o', idx);
    }
  }

  void SendOpen(DealerClient& sock, OrderState& o, int64_t now) {
    sock.Send(OpenBody(o.uuid, o.volume, Extra()));
    o.outstanding.push_back(now);
    ++o.sends;
    ++sends;
  }

  void Release(OrderState& o) {
    if (!o.active) return;
    o.active = false;
    --active_;
  }

  void Resend(size_t idx, int64_t at) {
    OrderState& o = orders_[idx];
    if (o.abandoned || o.resend_scheduled) return;
    o.resend_scheduled = true;
    Schedule(at, 'o', idx);
  }

  void FollowUps(size_t idx, int64_t now) {
    OrderState& o = orders_[idx];
    if (o.followups >= 3) return;
    ++o.followups;
    if (P(0.25)) Resend(idx, now + U(20, 800));  // a retry after the reply
    if (P(0.08)) Schedule(now + U(0, 400), 'c', idx);
    if (P(0.15)) Schedule(now + U(0, 600), 'q', idx);
  }

  void OnOrderReply(const Json& j) {
    const int64_t now = NowMs();
    ReplyRec rec = ToRec(j, 'o');
    live_.replies.fetch_add(1);
    auto it = by_uuid_.find(rec.uuid);
    if (it == by_uuid_.end()) {
      replies.push_back(std::move(rec));
      return;
    }
    const size_t idx = it->second;
    OrderState& o = orders_[idx];
    ++o.replies;
    if (!o.outstanding.empty()) {
      latency_us.push_back((now - o.outstanding.front()) * 1000);
      o.outstanding.pop_front();
    }
    const std::string& s = rec.status;
    const std::string& c = rec.code;
    if (s == "FILLED" && rec.duplicate == false) live_.last_fresh_fill_ms.store(now);
    if (!NotRecordedRefusal(s, c)) o.only_refusals = false;
    if (s == "error" && c == "STORE_UNAVAILABLE") {
      live_.store_unavailable.fetch_add(1);
      // The contract: nothing recorded, nothing sent. This client does not send it again.
      if (o.only_refusals && !o.lost_any && o.outstanding.empty() && !o.terminal && !o.unknown) {
        o.store_refused = true;
      }
      o.abandoned = true;
      Release(o);
      next_new_ms_ = now + U(50, 300);  // a strategy backs off when ordergate cannot write
    } else if (Terminal(s, c)) {
      const bool first = !o.terminal;
      o.terminal = true;
      Release(o);
      if (first || o.followups < 3) FollowUps(idx, now);
    } else if (s == "UNKNOWN") {
      o.unknown = true;
      Release(o);
      // Never a new uuid: ask again later with the same one, and query.
      if (o.followups < 3) {
        ++o.followups;
        Resend(idx, now + U(300, 1500));
        Schedule(now + U(300, 1500), 'q', idx);
      }
    } else if (s == "PENDING") {
      if (o.outstanding.empty()) Resend(idx, now + U(0, 150));
    } else if (NotRecordedRefusal(s, c)) {
      if (o.outstanding.empty() && !o.terminal && !o.unknown) Resend(idx, now + U(20, 250));
    } else {
      Release(o);  // anything else is judged by the checker
    }
    replies.push_back(std::move(rec));
  }

  void CheckLost(int64_t now) {
    if (now - last_lost_scan_ms_ < 50) return;
    last_lost_scan_ms_ = now;
    for (size_t idx = first_live_; idx < orders_.size(); ++idx) {
      OrderState& o = orders_[idx];
      while (!o.outstanding.empty() && now - o.outstanding.front() > kLostAfterMs) {
        o.outstanding.pop_front();
        o.lost_any = true;
        ++lost_sends;
        if (!o.terminal && !o.unknown && !o.abandoned) Resend(idx, now + U(0, 200));
      }
    }
    while (first_live_ < orders_.size() && orders_[first_live_].outstanding.empty() &&
           !orders_[first_live_].active && !orders_[first_live_].resend_scheduled) {
      ++first_live_;
    }
  }

  int id_;
  std::mt19937_64 rng_;
  zmq::context_t& ctx_;
  std::string endpoint_;
  Live& live_;
  int active_ = 0;
  int64_t next_new_ms_ = 0;
  size_t first_live_ = 0;
  int64_t last_lost_scan_ms_ = 0;
  std::map<std::string, size_t> by_uuid_;
  std::multimap<int64_t, std::pair<char, size_t>> schedule_;
};

// Client threads; stopped and joined on destruction (also when a REQUIRE unwinds).
class Fleet {
 public:
  Fleet(zmq::context_t& ctx, const std::string& endpoint, int n, uint64_t seed, Live& live) {
    for (int i = 0; i < n; ++i) {
      clients_.push_back(std::make_unique<Client>(i, seed * 1000003 + static_cast<uint64_t>(i), ctx,
                                                  endpoint, live));
    }
    for (auto& c : clients_) {
      Client* cp = c.get();
      threads_.emplace_back([this, cp] { cp->Run(stop_new_, stop_all_); });
    }
  }
  ~Fleet() { Join(); }
  void StopNew() { stop_new_.store(true); }
  void Join() {
    stop_new_.store(true);
    stop_all_.store(true);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  std::vector<std::unique_ptr<Client>>& clients() { return clients_; }

 private:
  std::atomic<bool> stop_new_{false};
  std::atomic<bool> stop_all_{false};
  std::vector<std::unique_ptr<Client>> clients_;
  std::vector<std::thread> threads_;
};

// The data directory on a tmpfs of its own; lazily unmounted whatever way the run ends.
class TmpfsMount {
 public:
  explicit TmpfsMount(std::string dir, int size_mb) : dir_(std::move(dir)) {
    std::filesystem::create_directories(dir_);
    const std::string opts = "size=" + std::to_string(size_mb) + "m";
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", 0, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~TmpfsMount() { Unmount(); }
  TmpfsMount(const TmpfsMount&) = delete;
  TmpfsMount& operator=(const TmpfsMount&) = delete;
  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }
  void Unmount() {
    if (!mounted_) return;
    Free();
    if (::umount2(dir_.c_str(), 0) != 0) ::umount2(dir_.c_str(), MNT_DETACH);
    mounted_ = false;
  }
  // Writes a filler file until the filesystem refuses; returns the bytes written.
  int64_t Fill() {
    const int fd = ::open(Filler().c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return 0;
    std::vector<char> buf(1 << 20, 'x');
    int64_t total = 0;
    for (;;) {
      const ssize_t n = ::write(fd, buf.data(), buf.size());
      if (n <= 0) break;
      total += n;
    }
    // Smaller writes take the last pages, so nothing at all is left.
    for (;;) {
      const ssize_t n = ::write(fd, buf.data(), 4096);
      if (n <= 0) break;
      total += n;
    }
    ::close(fd);
    return total;
  }
  void Free() { ::unlink(Filler().c_str()); }

 private:
  // RocksDB ignores files whose names it does not know.
  std::string Filler() const { return dir_ + "/nemesis-filler"; }
  std::string dir_;
  bool mounted_ = false;
  std::string error_;
};

// "key=value key=value" counters of the simulator's last stderr line.
std::map<std::string, int64_t> SimStats(const std::string& stderr_text) {
  std::map<std::string, int64_t> out;
  const std::string prefix = "ordergate-bridge-sim: requests=";
  const size_t pos = stderr_text.rfind(prefix);
  if (pos == std::string::npos) return out;
  std::istringstream in(stderr_text.substr(pos + std::strlen("ordergate-bridge-sim: ")));
  std::string tok;
  while (in >> tok) {
    const size_t eq = tok.find('=');
    if (eq == std::string::npos) break;
    out[tok.substr(0, eq)] = std::atoll(tok.c_str() + eq + 1);
  }
  return out;
}

double Percentile(std::vector<int64_t>& v, double q) {
  if (v.empty()) return 0;
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(k), v.end());
  return static_cast<double>(v[k]) / 1000.0;
}

struct JournalLine {
  int64_t ticket = 0;
  int64_t time_us = 0;
  double volume = 0;
};

// Sends `bodies` over one DEALER with up to `window` outstanding; returns the replies by uuid
// (the last one for each), waiting up to `budget` in all.
std::map<std::string, Json> Pipeline(zmq::context_t& ctx, const std::string& endpoint,
                                     const std::vector<std::pair<std::string, std::string>>& bodies,
                                     size_t window, Ms budget) {
  DealerClient d(ctx, endpoint);
  std::map<std::string, Json> got;
  size_t next = 0;
  size_t outstanding = 0;
  const auto deadline = Clock::now() + budget;
  while ((next < bodies.size() || outstanding > 0) && Clock::now() < deadline) {
    while (next < bodies.size() && outstanding < window) {
      d.Send(bodies[next].second);
      ++next;
      ++outstanding;
    }
    auto r = d.RecvJson(Ms(200));
    if (!r) continue;
    --outstanding;
    got.insert_or_assign(r->S("uuid"), *r);
  }
  return got;
}

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

  void StartSim() {
    const uint64_t sim_seed = seed_ * 7919 + static_cast<uint64_t>(w_.sim_starts);
    // The late reply arrives after the gateway gave up (UNKNOWN, resolved by the late reply) or
    // before it, drawn per incarnation.
    const int64_t late_ms = std::uniform_int_distribution<int64_t>(300, 2500)(rng_);
    w_.StartSim({"--workers", "4", "--signature-ttl-ms", std::to_string(kTtlMs), "--latency",
                 "uniform:1:40", "--seed", std::to_string(sim_seed), "--fault-no-reply", "0.01",
                 "--fault-late", "0.01", "--fault-late-ms", std::to_string(late_ms),
                 "--fault-reject", "0.02", "--fault-crash", "0.002",
                 // Small, so ORDER_STATUS must fall back to the journal for older uuids.
                 "--order-status-capacity", "500"},
                sim_bind_);
    sim_start_unix_us_ = UnixUs();
    sim_down_ = false;
  }

  void StartGateway() {
    w_.StartGateway(gw_args_, sim_bind_);
    gw_down_ = false;
  }

  // Checks both children between steps: a simulator that crashed by --fault-crash (exit 3) is
  // restarted; any other exit of either is a violation.
  void Tick() {
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
  void Run(int64_t end_ms) {
    std::vector<std::string> kinds = {"gateway_kill9",  "gateway_pause",  "bridge_kill9",
                                      "bridge_restart", "bridge_latency", "disk_full"};
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
    Say(why + " of ordergated (pid " + std::to_string(w_.gw->pid()) + ")");
    gw_down_ = true;
    w_.gw->Signal(SIGKILL);
    auto st = w_.gw->Wait(Ms(10000));
    const int decoded = st ? Process::Decode(*st) : -1000;
    ++gateway_exits;
    if (decoded != -SIGKILL) {
      violations.push_back("ordergated exit status " + std::to_string(decoded) +
                           " where our kill -9 was expected");
    }
  }

  static std::string Tail(const std::string& s) {
    return s.size() > 1500 ? s.substr(s.size() - 1500) : s;
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

 private:
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
};

void RunNemesis() {
  const uint64_t seed = g_opt.seed;
  std::printf("reliability_nemesis: seed=%" PRIu64
              " duration_s=%d clients=%d durability=%s (rerun: reliability_nemesis --seed %" PRIu64
              " --duration-s %d --clients %d)\n",
              seed, g_opt.duration_s, g_opt.clients, g_opt.durability.c_str(), seed,
              g_opt.duration_s, g_opt.clients);
  std::fflush(stdout);

  World w;
  TmpfsMount fs(w.data_dir(), g_opt.tmpfs_mb);
  if (!fs.mounted()) {
    std::printf(
        "\n*** reliability_nemesis: FAULT SKIPPED: disk_full — cannot mount a tmpfs on %s (%s); "
        "the data directory is on the ordinary disk and no full disk is injected ***\n\n",
        w.data_dir().c_str(), fs.error().c_str());
    std::fflush(stdout);
  }
  const int sim_port = FreePort();
  int gw_port = FreePort();
  while (gw_port == sim_port) gw_port = FreePort();
  Live live;
  Nemesis nemesis(w, fs, live, seed, sim_port, gw_port);
  nemesis.StartSim();
  nemesis.StartGateway();
  REQUIRE(w.WaitBridge("up"));
  const int64_t start_ms = NowMs();
  const int64_t end_ms = start_ms + static_cast<int64_t>(g_opt.duration_s) * 1000;

  std::unique_ptr<Fleet> fleet =
      std::make_unique<Fleet>(w.ctx, w.gw_endpoint, g_opt.clients, seed, live);
  nemesis.Run(end_ms);
  Say("faults stop; clients finish what they have in progress");
  fleet->StopNew();
  nemesis.Idle(kLostAfterMs + 2000);
  fleet->Join();
  const int64_t run_ms = NowMs() - start_ms;

  // Gather what the clients saw.
  std::map<std::string, OrderState> orders;
  std::map<std::string, std::vector<ReplyRec>> seen;
  std::vector<int64_t> latency_us;
  int64_t sends = 0, conflicts_sent = 0, queries_sent = 0, lost_sends = 0, client_replies = 0;
  for (auto& c : fleet->clients()) {
    for (auto& o : c->orders_) orders[o.uuid] = o;
    for (auto& r : c->replies) seen[r.uuid].push_back(r);
    client_replies += static_cast<int64_t>(c->replies.size());
    latency_us.insert(latency_us.end(), c->latency_us.begin(), c->latency_us.end());
    sends += c->sends;
    conflicts_sent += c->conflicts_sent;
    queries_sent += c->queries_sent;
    lost_sends += c->lost_sends;
  }

  // Resolution: ORDER_STATUS for every uuid until it is FILLED/REJECTED (or NOT_FOUND, which is
  // judged below), within 60 s.
  Say("resolving " + std::to_string(orders.size()) + " uuids with ORDER_STATUS");
  std::map<std::string, Json> finals;
  {
    std::vector<std::pair<std::string, std::string>> todo;
    for (const auto& [u, o] : orders) todo.emplace_back(u, StatusBody(u));
    const int64_t deadline = NowMs() + 60000;
    while (!todo.empty() && NowMs() < deadline) {
      nemesis.Tick();
      auto got = Pipeline(w.ctx, w.gw_endpoint, todo, 64, Ms(30000));
      std::vector<std::pair<std::string, std::string>> still;
      for (const auto& t : todo) {
        auto g = got.find(t.first);
        if (g != got.end()) finals.insert_or_assign(t.first, g->second);
        const std::string s = g == got.end() ? "" : g->second.S("status");
        const std::string c = g == got.end() ? "" : g->second.S("error_code");
        if (!(s == "FILLED" || s == "REJECTED" || (s == "error" && c == "NOT_FOUND"))) {
          still.push_back(t);
        }
      }
      todo.swap(still);
      if (!todo.empty()) nemesis.Idle(300);
    }
  }
  // Resend the very same OPEN of every uuid that has an outcome: the same outcome must come back,
  // duplicate:true, and nothing may execute.
  std::map<std::string, Json> resent;
  {
    std::vector<std::pair<std::string, std::string>> bodies;
    for (const auto& [u, f] : finals) {
      const std::string s = f.S("status");
      if (s == "FILLED" || s == "REJECTED") {
        bodies.emplace_back(u, OpenBody(u, orders[u].volume, "\"timeout_ms\":5000"));
      }
    }
    Say("resending " + std::to_string(bodies.size()) + " orders that have an outcome");
    resent = Pipeline(w.ctx, w.gw_endpoint, bodies, 64, Ms(60000));
  }
  for (const auto& [u, f] : finals) seen[u].push_back(ToRec(f, 'f'));
  for (const auto& [u, r] : resent) seen[u].push_back(ToRec(r, 'r'));

  // Clean stop: ordergated must exit 0 on SIGTERM.
  Say("SIGTERM to ordergated and the simulator");
  nemesis.MarkDown();
  const auto gw_exit = w.StopGateway(SIGTERM, Ms(20000));
  const std::string last_gw_stderr = w.gw->Stderr();

  // The simulator remembers every uuid it executed, across its restarts (journal reload, and
  // the journal again once its ORDER_STATUS capacity is exceeded).
  const std::string journal_path = w.journal();
  std::map<std::string, std::vector<JournalLine>> journal;
  size_t journal_lines = 0, journal_unreadable = 0;
  {
    std::ifstream in(journal_path);
    std::string line;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      auto j = Json::Parse(line);
      if (!j) {
        ++journal_unreadable;
        continue;
      }
      ++journal_lines;
      journal[j->S("uuid")].push_back(JournalLine{j->Int("ticket").value_or(0),
                                                  j->Int("time_us").value_or(0),
                                                  j->Num("reply.volume").value_or(-1)});
    }
  }
  size_t sim_status_checked = 0, sim_status_before_restart = 0;
  std::vector<std::string> sim_status_bad;
  {
    std::vector<std::pair<std::string, std::string>> bodies;
    for (const auto& [u, v] : journal) bodies.emplace_back(u, StatusBody(u));
    auto got = Pipeline(w.ctx, w.sim_endpoint, bodies, 64, Ms(60000));
    for (const auto& [u, v] : journal) {
      ++sim_status_checked;
      if (v.front().time_us < nemesis.sim_start_unix_us()) ++sim_status_before_restart;
      auto g = got.find(u);
      if (g == got.end() || g->second.S("status") != "FILLED" ||
          g->second.Int("ticket").value_or(0) != v.front().ticket) {
        sim_status_bad.push_back(u + ": " + (g == got.end() ? "(no answer)" : g->second.raw()));
      }
    }
  }
  w.sim->Signal(SIGTERM);
  const auto sim_exit = w.sim->Wait(Ms(15000));
  fs.Unmount();

  // Faults the simulator drew itself: its counters, printed by each incarnation that exited
  // cleanly (a kill -9 or a crash takes its counters with it: these are lower bounds).
  std::map<std::string, int64_t> sim_faults;
  for (int i = 1; i <= w.sim_starts; ++i) {
    std::ifstream in(w.dir.File("sim-" + std::to_string(i) + ".stderr"));
    std::stringstream ss;
    ss << in.rdbuf();
    for (const auto& [k, v] : SimStats(ss.str())) sim_faults[k] += v;
  }
  std::map<std::string, int64_t> faults = nemesis.faults;
  faults["bridge_no_reply"] = sim_faults["fault_no_reply"];
  faults["bridge_late_reply"] = sim_faults["fault_late"];
  {
    // Injected rejections are visible to clients too ("(injected)" in error_msg).
    std::set<std::string> rejected;
    for (const auto& [u, v] : seen) {
      for (const auto& r : v) {
        if (r.code == "MT5_ORDER_FAILED") rejected.insert(u);
      }
    }
    faults["bridge_reject"] =
        std::max<int64_t>(sim_faults["fault_reject"], static_cast<int64_t>(rejected.size()));
  }
  faults["bridge_crash"] += 0;

  // ---------------------------------------------------------------- the checker
  std::vector<std::string> v = nemesis.violations;
  auto violate = [&](const std::string& u, const std::string& what) {
    std::string line = u + ": " + what;
    if (auto s = seen.find(u); s != seen.end()) {
      line += " | replies:";
      for (const auto& r : s->second) {
        line += " " + std::string(1, r.kind) + "@" + std::to_string(r.t_ms) + ":" + r.status +
                (r.code.empty() ? "" : "/" + r.code) +
                (r.ticket != 0 ? "#" + std::to_string(r.ticket) : "");
      }
    }
    auto j = journal.find(u);
    line += " | journal: " + std::to_string(j == journal.end() ? 0 : j->second.size());
    v.push_back(std::move(line));
  };

  size_t duplicates = 0;
  for (const auto& [u, lines] : journal) {
    if (lines.size() > 1) {
      ++duplicates;
      violate(u, "executed " + std::to_string(lines.size()) + " times at the bridge");
    }
    auto o = orders.find(u);
    if (o == orders.end()) {
      violate(u, "executed but no client ever sent it");
    } else if (std::fabs(lines.front().volume - o->second.volume) > 1e-9) {
      violate(u, "executed with volume " + std::to_string(lines.front().volume) +
                     ", the order's is " + std::to_string(o->second.volume));
    }
  }
  size_t unknown_seen = 0, unknown_resolved = 0, filled_final = 0, rejected_final = 0,
         not_found_final = 0, store_refused = 0, acknowledged = 0;
  std::vector<std::string> unresolved;
  for (const auto& [u, o] : orders) {
    const auto jt = journal.find(u);
    const bool executed = jt != journal.end();
    const int64_t jticket = executed ? jt->second.front().ticket : 0;
    const auto& rs = seen[u];
    const auto fit = finals.find(u);
    const std::string fs_status = fit == finals.end() ? "" : fit->second.S("status");
    const std::string fs_code = fit == finals.end() ? "" : fit->second.S("error_code");
    bool saw_unknown = false;
    int64_t first_terminal_ms = -1;
    std::string ack_status, ack_code;
    int64_t ack_ticket = 0;
    for (const auto& r : rs) {
      if (r.kind == 'c') {
        if (!(r.status == "REJECTED" && r.code == "IDEMPOTENCY_CONFLICT") &&
            !(r.status == "error" && r.code == "STORE_UNAVAILABLE")) {
          violate(u, "a conflicting body got " + r.raw);
        }
        continue;
      }
      if (r.status == "UNKNOWN") saw_unknown = true;
      if (r.kind == 'o' && r.status == "REJECTED" && r.code == "IDEMPOTENCY_CONFLICT") {
        violate(u, "its own body was refused as a conflict: " + r.raw);
      }
      if (r.status == "FILLED") {
        if (!executed) violate(u, "FILLED (" + r.raw + ") but not in the journal");
        if (r.ticket != jticket) {
          violate(u, "FILLED with ticket " + std::to_string(r.ticket) + ", the journal's is " +
                         std::to_string(jticket));
        }
      }
      if (Terminal(r.status, r.code)) {
        if (first_terminal_ms < 0) {
          first_terminal_ms = r.t_ms;
          ack_status = r.status;
          ack_code = r.code;
          ack_ticket = r.ticket;
        } else if (r.status != ack_status || r.code != ack_code || r.ticket != ack_ticket) {
          violate(u, "acknowledged " + ack_status + "/" + ack_code + " then answered " + r.raw);
        }
      } else if (first_terminal_ms >= 0 && r.t_ms > first_terminal_ms + 250 &&
                 !(r.status == "error" && r.code == "STORE_UNAVAILABLE")) {
        violate(u, "acknowledged " + ack_status + " then answered " + r.raw);
      }
    }
    if (first_terminal_ms >= 0) ++acknowledged;
    if (saw_unknown) ++unknown_seen;
    // (2) the acknowledged outcome replays, to ORDER_STATUS and to a resend.
    if (first_terminal_ms >= 0) {
      if (fs_status != ack_status || fit->second.Int("ticket").value_or(0) != ack_ticket) {
        violate(u, "acknowledged outcome lost at the end");
      }
      auto rr = resent.find(u);
      if (rr == resent.end()) {
        violate(u, "no answer to the final resend");
      } else if (rr->second.S("status") != ack_status ||
                 rr->second.Int("ticket").value_or(0) != ack_ticket ||
                 rr->second.Bool("duplicate") != true) {
        violate(u, "final resend answered " + rr->second.raw());
      }
    }
    // (3) every order with a record resolves, FILLED iff executed.
    if (fs_status == "FILLED") {
      ++filled_final;
      if (saw_unknown) ++unknown_resolved;
    } else if (fs_status == "REJECTED") {
      ++rejected_final;
      if (saw_unknown) ++unknown_resolved;
      if (executed) violate(u, "final REJECTED (" + fs_code + ") but executed at the bridge");
    } else if (fs_status == "error" && fs_code == "NOT_FOUND") {
      ++not_found_final;
      if (executed) violate(u, "final NOT_FOUND but executed at the bridge");
      if (first_terminal_ms >= 0 || saw_unknown) violate(u, "had a record, now NOT_FOUND");
    } else {
      unresolved.push_back(u + " (" + (fit == finals.end() ? "no answer" : fit->second.raw()) +
                           ")");
      violate(u, "not resolved after the faults stopped and 60 s of ORDER_STATUS");
    }
    // (4) refused STORE_UNAVAILABLE, never sent.
    if (o.store_refused) {
      ++store_refused;
      if (executed) violate(u, "refused STORE_UNAVAILABLE yet executed at the bridge");
    }
  }
  // (5) the gateway's exits and the sanitizers.
  if (!gw_exit || *gw_exit != 0) {
    v.push_back("ordergated did not exit 0 on the final SIGTERM (" +
                (gw_exit ? std::to_string(*gw_exit) : std::string("timeout")) +
                "); stderr tail: " + Nemesis::Tail(last_gw_stderr));
  }
  if (!sim_exit || Process::Decode(*sim_exit) != 0) {
    v.push_back("the simulator did not exit 0 on the final SIGTERM");
  }
  for (const auto& r : SanitizerReports(w.dir.path())) v.push_back("sanitizer: " + r);
  for (const auto& s : sim_status_bad) {
    v.push_back("simulator ORDER_STATUS does not know an executed uuid: " + s);
  }
  if (journal_unreadable > 0) {
    v.push_back(std::to_string(journal_unreadable) + " unreadable journal line(s)");
  }
  std::vector<std::string> missing;
  for (const char* k :
       {"gateway_kill9", "gateway_pause", "bridge_kill9", "bridge_restart", "bridge_latency",
        "disk_full", "bridge_no_reply", "bridge_late_reply", "bridge_reject", "bridge_crash"}) {
    if (std::string(k) == "disk_full" && !fs.mounted() && faults[k] == 0 && !fs.error().empty()) {
      continue;  // skipped loudly above
    }
    if (faults[k] == 0) missing.push_back(k);
  }
  if (!missing.empty() && !g_opt.allow_missing_faults) {
    std::string m = "fault kinds never injected (a run that injected nothing proves nothing):";
    for (const auto& k : missing) m += " " + k;
    v.push_back(m);
  }

  // ---------------------------------------------------------------- the report
  std::ostringstream rep;
  rep << "\n==== reliability_nemesis report (seed " << seed << ", " << g_opt.duration_s
      << " s of faults, " << g_opt.clients << " clients, durability " << g_opt.durability
      << ") ====\n";
  rep << "faults injected:";
  for (const auto& [k, n] : faults) rep << " " << k << "=" << n;
  rep << "\n";
  rep << "disk_full: " << nemesis.disk_full_self_recovered << " recovered by themselves, "
      << nemesis.disk_full_restarts << " needed a restart of ordergated; "
      << nemesis.store_unavailable_during_full << " STORE_UNAVAILABLE replies"
      << (fs.error().empty() ? "" : " (SKIPPED: " + fs.error() + ")") << "\n";
  rep << "orders (uuids): " << orders.size() << "; sends " << sends << " (lost " << lost_sends
      << "), conflicts " << conflicts_sent << ", ORDER_STATUS " << queries_sent
      << ", replies to clients " << client_replies << " in " << run_ms / 1000 << " s\n";
  const double dup_rate =
      journal_lines == 0 ? 0 : static_cast<double>(duplicates) / static_cast<double>(journal_lines);
  rep << "executions at the bridge: " << journal_lines
      << ", uuids executed more than once: " << duplicates << " (duplicate rate " << dup_rate
      << ")\n";
  rep << "final outcomes: FILLED " << filled_final << ", REJECTED " << rejected_final
      << ", NOT_FOUND (never recorded) " << not_found_final << ", unresolved " << unresolved.size()
      << "; success rate (FILLED / orders) "
      << (orders.empty()
              ? 0.0
              : 100.0 * static_cast<double>(filled_final) / static_cast<double>(orders.size()))
      << "%\n";
  rep << "acknowledged (a client saw FILLED/REJECTED): " << acknowledged
      << ", lost acknowledgements: "
      << std::count_if(v.begin(), v.end(),
                       [](const std::string& s) {
                         return s.find("acknowledged") != std::string::npos ||
                                s.find("final resend") != std::string::npos;
                       })
      << "\n";
  rep << "UNKNOWN seen by clients: " << unknown_seen << " uuids, resolved " << unknown_resolved
      << "\n";
  rep << "STORE_UNAVAILABLE refusals checked never sent: " << store_refused << "\n";
  rep << "simulator ORDER_STATUS checked for " << sim_status_checked << " executed uuids ("
      << sim_status_before_restart << " executed before its last restart), wrong "
      << sim_status_bad.size() << "\n";
  rep << "ordergated: " << w.gw_starts << " starts, " << nemesis.gateway_exits
      << " kill -9 exits checked, final SIGTERM exit "
      << (gw_exit ? std::to_string(*gw_exit) : std::string("none")) << "; simulator "
      << w.sim_starts << " starts\n";
  char lat[160];
  std::snprintf(lat, sizeof lat, "client round trip (ms): p50 %.1f p99 %.1f p999 %.1f over %zu\n",
                Percentile(latency_us, 0.50), Percentile(latency_us, 0.99),
                Percentile(latency_us, 0.999), latency_us.size());
  rep << lat;
  for (size_t i = 0; i < unresolved.size() && i < 20; ++i)
    rep << "unresolved: " << unresolved[i] << "\n";
  rep << "violations: " << v.size() << "\n";
  for (size_t i = 0; i < v.size() && i < 30; ++i) rep << "  " << v[i] << "\n";
  if (!v.empty()) {
    rep << "FAILED with seed " << seed << ": rerun with reliability_nemesis --seed " << seed
        << " --duration-s " << g_opt.duration_s << " --clients " << g_opt.clients << "\n";
  }
  std::printf("%s\n", rep.str().c_str());
  std::fflush(stdout);
  INFO("seed " << seed << "; " << v.size() << " violation(s); first: " << (v.empty() ? "" : v[0]));
  REQUIRE(v.empty());
}

}  // namespace

TEST_CASE(
    "nemesis run: with the gateway killed and paused, the bridge crashing, stalling, dropping and "
    "delaying replies and the disk full, no order executes twice and no acknowledgement is lost",
    "[reliability]") {
  RunNemesis();
}

int main(int argc, char* argv[]) {
  Catch::Session session;
  using Catch::clara::Opt;
  auto cli = session.cli() |
             Opt(g_opt.duration_s, "seconds")["--duration-s"](
                 "how long faults are injected (CI: 170; the hour run: 3600)") |
             Opt(g_opt.seed, "n")["--seed"]("the schedule's seed (default: drawn and printed)") |
             Opt(g_opt.clients, "n")["--clients"]("client threads (default 4)") |
             Opt(g_opt.tmpfs_mb, "MiB")["--tmpfs-mb"]("size of the data directory's tmpfs (48)") |
             Opt(g_opt.durability, "sync|async")["--durability"]("ordergated --durability") |
             Opt(g_opt.allow_missing_faults)["--allow-missing-faults"](
                 "do not fail when a fault kind was never injected (short local runs)");
  session.cli(cli);
  if (const int rc = session.applyCommandLine(argc, argv); rc != 0) return rc;
  if (g_opt.seed == 0) {
    g_opt.seed =
        static_cast<uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) %
        1000000007ULL;
  }
  return session.run();
}
