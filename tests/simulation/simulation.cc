#include "simulation.h"

#include <simdjson.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/gateway.h"
#include "sim_bridge.h"
#include "sim_core.h"
#include "sim_store.h"
#include "transport/codec.h"

namespace ordergate::sim {
namespace {

using gateway::EmbeddedSubmission;
using gateway::Gateway;
using gateway::GatewayConfig;

constexpr int kWindow = 4;                    // uuids a client keeps in progress
constexpr int64_t kClientGiveUpUs = 3000000;  // no reply by then: the submission is lost
constexpr int64_t kResolveUs = 120000000;     // after the faults: time for every UNKNOWN

GatewayConfig SimConfig() {
  GatewayConfig c;
  c.bridge_signature_ttl_ms = 1000;
  c.bridge_exec_margin_ms = 200;
  c.bridge_timeout_ms = 1500;
  c.client_timeout_ms = 1000;
  c.unknown_query_interval_ms = 1000;
  c.late_reply_window_ms = 5000;
  c.metrics_listen = "";
  c.max_batch = 64;
  return c;
}

uint64_t Fnv(uint64_t h, std::string_view s) {
  for (unsigned char ch : s) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  return h;
}

class World : public gateway::EmbeddedSink {
 public:
  explicit World(const SimOptions& opt)
      : opt_(opt),
        core_(opt.seed),
        net_(&core_, SimConfig().bridge_signature_ttl_ms, [this] { Wake(); }),
        cfg_(SimConfig()) {
    disk_.rng = &core_.rng;
    net_.faults_on = opt.faults;
  }

  SimResult Run();

  // EmbeddedSink: called inside Gateway::Turn(); only records and schedules.
  void Deliver(uint64_t id, absl::string_view reply_object, bool duplicate, bool recorded,
               int64_t gateway_us) override;
  void Resolved(absl::string_view uuid, absl::string_view reply_object) override {
    (void)uuid;
    (void)reply_object;
  }

 private:
  struct Client {
    int id = 0;
    uint64_t next_n = 0;
    std::vector<std::string> window;  // uuids in progress
    std::vector<std::string> done;    // the last uuids it saw settle, re-asked now and then
  };
  struct Submission {
    int client;
    std::string uuid;
    char kind;
    uint64_t incarnation;
  };
  struct Progress {  // a client's view of one of its uuids
    int tries = 0;
    bool recorded = false;  // it has a record (so a conflicting body is a conflict)
    bool done = false;
  };

  void StartGateway();
  void CrashGateway();
  void Wake();
  void DoTurn(uint64_t incarnation);
  void ArmTimer();
  void ClientAct(int c);
  void Submit(int c, const std::string& uuid, double volume, char kind);
  void Retry(int c, const std::string& uuid, int64_t after_us);
  void Leave(int c, const std::string& uuid);
  void ScheduleFaults();

  const SimOptions opt_;
  Core core_;
  SimDisk disk_;
  SimNet net_;
  GatewayConfig cfg_;
  std::unique_ptr<Gateway> gw_;
  uint64_t incarnation_ = 0;
  bool turn_pending_ = false;
  int64_t timer_at_us_ = -1;
  uint64_t timer_gen_ = 0;
  bool write_pending_ = false;
  bool faults_on_ = true;
  bool clients_on_ = true;

  std::vector<Client> clients_;
  std::map<std::string, OrderHistory> orders_;
  std::map<std::string, Progress> progress_;
  std::map<uint64_t, Submission> pending_;
  uint64_t next_id_ = 1;
  uint64_t hash_ = 1469598103934665603ULL;
  SimResult res_;
};

void World::StartGateway() {
  auto store = std::make_unique<SimStore>(&disk_);
  auto port =
      std::make_unique<SimBridgePort>(&net_, &core_.clock, cfg_.late_reply_window_ms * 1000000);
  auto gw = Gateway::StartSimulated(cfg_, std::move(store), this, core_.clock, std::move(port));
  ++incarnation_;
  if (!gw.ok()) {
    res_.violations.push_back("the gateway failed to start: " + gw.status().ToString());
    return;
  }
  ++res_.gateway_starts;
  gw_ = std::move(*gw);
  write_pending_ = false;
  turn_pending_ = false;
  timer_at_us_ = -1;
  Wake();
}

void World::CrashGateway() {
  if (gw_ == nullptr) return;
  ++res_.gateway_crashes;
  // The batch being written may have reached the disk before the process died, or not.
  if (write_pending_ && core_.Chance(0.5)) gw_->WriteJournal();
  gw_.reset();  // no Stop(), no Finish(): nothing more is answered, sent or written
  ++incarnation_;
  for (auto& [id, s] : pending_) {
    if (s.incarnation + 1 == incarnation_) s.incarnation = 0;  // lost: the client times out
  }
  core_.After(core_.Uniform(10000, 300000), [this] { StartGateway(); });
}

void World::Wake() {
  if (gw_ == nullptr || turn_pending_) return;
  turn_pending_ = true;
  const uint64_t inc = incarnation_;
  core_.After(1, [this, inc] { DoTurn(inc); });
}

void World::DoTurn(uint64_t incarnation) {
  if (incarnation != incarnation_ || gw_ == nullptr) return;
  turn_pending_ = false;
  if (gw_->Turn()) {  // stopped cleanly: everyone was answered
    gw_.reset();
    ++incarnation_;
    core_.After(core_.Uniform(10000, 200000), [this] { StartGateway(); });
    return;
  }
  if (gw_->JournalBusy() && !write_pending_) {
    write_pending_ = true;
    // An fsync: usually under 2 ms, now and then a slow one.
    const int64_t disk_us =
        faults_on_ && core_.Chance(0.01) ? core_.Uniform(10000, 80000) : core_.Uniform(50, 2000);
    const uint64_t inc = incarnation_;
    core_.After(disk_us, [this, inc] {
      if (inc != incarnation_ || gw_ == nullptr) return;
      write_pending_ = false;
      gw_->WriteJournal();
      Wake();
    });
  }
  ArmTimer();
}

void World::ArmTimer() {
  const int64_t at_us = (gw_->NextTurnNs() - core_.clock.SteadyNs()) / 1000 + core_.now_us();
  if (timer_at_us_ >= 0 && timer_at_us_ <= at_us) return;
  timer_at_us_ = at_us;
  const uint64_t gen = ++timer_gen_;
  const uint64_t inc = incarnation_;
  core_.At(at_us + 1, [this, gen, inc] {
    if (gen != timer_gen_ || inc != incarnation_) return;
    timer_at_us_ = -1;
    Wake();
  });
}

void World::Deliver(uint64_t id, absl::string_view reply_object, bool duplicate, bool recorded,
                    int64_t gateway_us) {
  (void)gateway_us;
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Submission s = it->second;
  pending_.erase(it);
  SeenReply r;
  r.kind = s.kind == 'l' ? 'o' : s.kind;
  r.duplicate = duplicate;
  r.recorded = recorded;
  r.at_us = core_.now_us();
  r.raw = std::string(reply_object);
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(r.raw).get(obj) == simdjson::SUCCESS) {
    std::string_view sv;
    if (obj["status"].get(sv) == simdjson::SUCCESS) r.status = std::string(sv);
    if (obj["error_code"].get(sv) == simdjson::SUCCESS) r.code = std::string(sv);
    int64_t t = 0;
    if (obj["ticket"].get(t) == simdjson::SUCCESS) r.ticket = t;
  }
  hash_ = Fnv(Fnv(hash_, s.uuid), r.raw.substr(0, r.raw.find("\"timestamp\"")));
  if (!recorded) ++res_.refusals[r.status + "/" + r.code];
  orders_[s.uuid].replies.push_back(r);
  if (s.kind == 'r' || s.client < 0) return;
  Progress& p = progress_[s.uuid];
  if (recorded) p.recorded = true;
  if (s.kind == 'c' || p.done) return;
  const bool terminal = recorded && (r.status == "FILLED" || r.status == "REJECTED");
  if (terminal) {
    p.done = true;
    Leave(s.client, s.uuid);
    auto& done = clients_[static_cast<size_t>(s.client)].done;
    if (done.size() >= 16) done.erase(done.begin());
    done.push_back(s.uuid);
  } else if (r.status == "UNKNOWN") {
    // Never a new uuid for it: ask about the same one later, a few times, then give up on it.
    if (++p.tries > 4) {
      Leave(s.client, s.uuid);
    } else {
      Retry(s.client, s.uuid, core_.Uniform(300000, 3000000));
    }
  } else if (++p.tries > 8) {
    Leave(s.client, s.uuid);  // refused again and again: the strategy gives up on it
  } else {
    Retry(s.client, s.uuid, core_.Uniform(5000, 200000));  // a refusal that records nothing
  }
}

void World::Leave(int c, const std::string& uuid) {
  auto& w = clients_[static_cast<size_t>(c)].window;
  for (size_t i = 0; i < w.size(); ++i) {
    if (w[i] == uuid) {
      w.erase(w.begin() + static_cast<std::ptrdiff_t>(i));
      return;
    }
  }
}

void World::Retry(int c, const std::string& uuid, int64_t after_us) {
  core_.After(after_us, [this, c, uuid] {
    if (!clients_on_ || progress_[uuid].done) return;
    Submit(c, uuid, orders_[uuid].volume, 'o');
  });
}

void World::Submit(int c, const std::string& uuid, double volume, char kind) {
  OrderHistory& h = orders_[uuid];
  if (kind != 'c') ++h.submissions;
  ++res_.submissions;
  const std::string body =
      absl::StrCat("{\"action\":\"OPEN\",\"uuid\":\"", uuid,
                   "\",\"symbol\":\"EURUSD\",\"type\":\"BUY\",\"volume\":", volume, "}");
  EmbeddedSubmission s;
  DecodeLimits limits;
  if (DecodeRequest(body, limits, core_.clock.UnixUs(), &s.request) != ErrorCode::kOk) {
    res_.violations.push_back(uuid + ": the simulation built a request the decoder refuses");
    return;
  }
  s.id = next_id_++;
  s.received_ns = core_.clock.SteadyNs();
  if (gw_ == nullptr || !gw_->SubmitEmbedded(s)) {
    // The gateway is down: the client tries again shortly (nothing was received).
    if (kind == 'o' && c >= 0) Retry(c, uuid, core_.Uniform(20000, 200000));
    return;
  }
  pending_[s.id] = Submission{c, uuid, kind, incarnation_};
  Wake();
  const uint64_t id = s.id;
  core_.After(kClientGiveUpUs, [this, id, c, uuid, kind] {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    const bool lost = it->second.incarnation != incarnation_;
    if (!lost) return;  // still waiting on a live gateway: an in-process call always ends
    pending_.erase(it);
    ++res_.lost_replies;
    ++orders_[uuid].unanswered;
    if (kind == 'o' && c >= 0 && clients_on_) Retry(c, uuid, 1);
  });
}

void World::ClientAct(int c) {
  if (!clients_on_) return;
  Client& cl = clients_[static_cast<size_t>(c)];
  if (!cl.done.empty() && core_.Chance(0.1)) {
    // A strategy that replays its own log after a restart: an order it saw settle is sent again
    // and must be answered the same, from the store, without reaching the bridge.
    const std::string& uuid =
        cl.done[static_cast<size_t>(core_.Uniform(0, static_cast<int64_t>(cl.done.size()) - 1))];
    Submit(c, uuid, orders_[uuid].volume, 'o');
  } else if (static_cast<int>(cl.window.size()) < kWindow) {
    char buf[48];
    std::snprintf(buf, sizeof buf, "c%d-%06" PRIu64, c, cl.next_n++);
    const std::string uuid(buf);
    const double volume = static_cast<double>(core_.Uniform(1, 100)) / 100.0;
    orders_[uuid].volume = volume;
    cl.window.push_back(uuid);
    Submit(c, uuid, volume, 'o');
  } else {
    const std::string uuid = cl.window[static_cast<size_t>(
        core_.Uniform(0, static_cast<int64_t>(cl.window.size()) - 1))];
    if (progress_[uuid].recorded && core_.Chance(0.2)) {
      Submit(c, uuid, orders_[uuid].volume + 0.5, 'c');  // the same uuid, another order: refused
    } else if (core_.Chance(0.3)) {
      Submit(c, uuid, orders_[uuid].volume, 'o');  // an impatient retry: joins or replays
    } else if (core_.Chance(0.05)) {
      Leave(c, uuid);  // gives up on it (its history is still checked)
    }
  }
  core_.After(core_.Uniform(1, 2 * opt_.client_pause_us), [this, c] { ClientAct(c); });
}

void World::ScheduleFaults() {
  auto every = [this](int64_t mean_us) { return core_.Uniform(mean_us / 4, mean_us * 7 / 4); };
  // Each kind re-arms itself while the faults are on.
  struct Rearm {
    static void Crash(World* w, std::function<int64_t(int64_t)> ev) {
      w->core_.After(ev(w->opt_.gateway_crash_every_us), [w, ev] {
        if (!w->faults_on_) return;
        w->CrashGateway();
        Crash(w, ev);
      });
    }
    static void Restart(World* w, std::function<int64_t(int64_t)> ev) {
      w->core_.After(ev(w->opt_.gateway_restart_every_us), [w, ev] {
        if (!w->faults_on_) return;
        if (w->gw_ != nullptr) {
          ++w->res_.clean_restarts;
          w->gw_->Stop();
          w->Wake();
        }
        Restart(w, ev);
      });
    }
    static void Outage(World* w, std::function<int64_t(int64_t)> ev) {
      w->core_.After(ev(w->opt_.store_outage_every_us), [w, ev] {
        if (!w->faults_on_) return;
        ++w->res_.store_outages;
        w->disk_.failing = true;
        w->core_.After(w->core_.Uniform(20000, 400000), [w] { w->disk_.failing = false; });
        Outage(w, ev);
      });
    }
    static void Partition(World* w, std::function<int64_t(int64_t)> ev) {
      w->core_.After(ev(w->opt_.partition_every_us), [w, ev] {
        if (!w->faults_on_) return;
        w->net_.Partition();
        Partition(w, ev);
      });
    }
  };
  std::function<int64_t(int64_t)> ev = every;
  Rearm::Crash(this, ev);
  Rearm::Restart(this, ev);
  Rearm::Outage(this, ev);
  Rearm::Partition(this, ev);
}

SimResult World::Run() {
  const auto wall0 = std::chrono::steady_clock::now();
  res_.seed = opt_.seed;
  faults_on_ = opt_.faults;
  clients_.resize(static_cast<size_t>(opt_.clients));
  for (int c = 0; c < opt_.clients; ++c) {
    clients_[static_cast<size_t>(c)].id = c;
    core_.After(core_.Uniform(0, opt_.client_pause_us), [this, c] { ClientAct(c); });
  }
  StartGateway();
  if (faults_on_) ScheduleFaults();
  if (opt_.simulated_s > 0) {
    const int64_t until_us = opt_.simulated_s * 1000000;
    while (core_.now_us() < until_us && core_.Step()) {
    }
  } else {
    while (core_.events < opt_.events && core_.Step()) {
    }
  }
  // The faults stop; the clients stop sending new orders. Heal, and give every UNKNOWN time.
  faults_on_ = false;
  clients_on_ = false;
  net_.faults_on = false;
  disk_.failing = false;
  if (gw_ == nullptr) StartGateway();
  const int64_t faults_end = core_.now_us();
  const int64_t heal_until = faults_end + kResolveUs;
  auto in_flight = [this] {
    for (const auto& [k, rec] : disk_.records) {
      if (rec.state == idempotency::RecordState::kReserved ||
          rec.state == idempotency::RecordState::kUnknown) {
        return true;
      }
    }
    return !pending_.empty();
  };
  // At least 5 s (late replies, restarts), then until nothing is in flight.
  while (core_.now_us() < heal_until && (in_flight() || core_.now_us() < faults_end + 5000000)) {
    if (!core_.Step()) break;
  }
  // Liveness: fresh orders fill.
  for (int i = 0; i < 8; ++i) {
    const std::string uuid = absl::StrCat("live-", i);
    orders_[uuid].volume = 0.1;
    orders_[uuid].liveness = true;
    Submit(-1, uuid, 0.1, 'l');
  }
  for (const int64_t until = core_.now_us() + 10000000;
       core_.now_us() < until && !pending_.empty() && core_.Step();) {
  }
  // The final resend of every acknowledged order: it must replay, duplicate.
  for (const auto& [uuid, h] : orders_) {
    for (const SeenReply& r : h.replies) {
      if (r.kind != 'c' && r.recorded && (r.status == "FILLED" || r.status == "REJECTED")) {
        Submit(-1, uuid, h.volume, 'r');
        break;
      }
    }
  }
  for (const int64_t until = core_.now_us() + 10000000;
       core_.now_us() < until && !pending_.empty() && core_.Step();) {
  }
  std::map<std::string, FinalRecord> finals;
  for (const auto& [key, rec] : disk_.records) {
    FinalRecord f;
    f.state = std::string(idempotency::StateName(rec.state));
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (!rec.reply.empty() && parser.parse(rec.reply).get(obj) == simdjson::SUCCESS) {
      int64_t t = 0;
      if (obj["ticket"].get(t) == simdjson::SUCCESS) f.ticket = t;
      std::string_view code;
      if (obj["error_code"].get(code) == simdjson::SUCCESS) f.code = std::string(code);
    }
    finals[key] = f;
  }
  res_.violations = CheckHistory(orders_, net_.journal, finals, &res_.counts);
  if (!pending_.empty()) {
    res_.violations.push_back(
        absl::StrCat(pending_.size(), " submission(s) to a live gateway never answered"));
  }
  res_.events = core_.events;
  res_.simulated_us = core_.now_us();
  res_.bridge = net_.counters;
  res_.failed_applies = disk_.failed_applies;
  res_.torn_applied = disk_.torn_applied;
  res_.recovered = disk_.recovered;
  res_.history_hash = hash_;
  gw_.reset();
  res_.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  return res_;
}

}  // namespace

std::string SimResult::Report() const {
  std::ostringstream o;
  o << "==== simulation (seed " << seed << "): " << events << " events, "
    << static_cast<double>(simulated_us) / 1e6 << " s simulated in " << wall_s << " s\n";
  o << "orders " << counts.orders << ", submissions " << submissions << " (replies lost with a "
    << "crashed gateway " << lost_replies << "), conflicts " << counts.conflicts << "\n";
  o << "bridge: requests " << bridge.requests << ", executed " << bridge.executed << ", rejected "
    << bridge.rejected << ", expired " << bridge.expired << ", odd replies " << bridge.odd
    << ", lost replies " << bridge.no_reply << ", stalls " << bridge.stalls << ", crashes "
    << bridge.crashes << ", ORDER_STATUS " << bridge.queries << "\n";
  o << "network: dropped requests " << bridge.dropped_requests << ", dropped replies "
    << bridge.dropped_replies << ", duplicated replies " << bridge.duplicated_replies
    << ", partitions " << bridge.partitions << ", connections " << bridge.connections << "\n";
  o << "gateway: starts " << gateway_starts << ", crashes " << gateway_crashes
    << ", clean restarts " << clean_restarts << "; store outages " << store_outages
    << " (failed writes " << failed_applies << ", of them reached the disk " << torn_applied
    << "), RESERVED recovered as UNKNOWN " << recovered << "\n";
  o << "outcomes: FILLED " << counts.filled << ", REJECTED " << counts.rejected
    << ", never recorded " << counts.absent << "; acknowledged " << counts.acknowledged
    << "; UNKNOWN seen " << counts.unknown_seen << ", resolved " << counts.unknown_resolved
    << "; only refused " << counts.refused_only << "; executions " << counts.executed
    << ", duplicates " << counts.duplicates << "; fresh orders after the faults " << counts.liveness
    << "\n";
  o << "refusals that record nothing:";
  for (const auto& [k, n] : refusals) o << " " << k << "=" << n;
  o << "\n";
  o << "history hash " << history_hash << "\nviolations: " << violations.size() << "\n";
  for (size_t i = 0; i < violations.size() && i < 30; ++i) o << "  " << violations[i] << "\n";
  if (!violations.empty()) {
    o << "FAILED with seed " << seed << ": replay with ordergate_simulation --seed " << seed
      << " --events "
      << "<the same budget>\n";
  }
  return o.str();
}

SimResult RunSimulation(const SimOptions& opt) {
  spdlog::set_level(spdlog::level::off);  // the gateway's logs: millions of lines otherwise
  World w(opt);
  return w.Run();
}

}  // namespace ordergate::sim
