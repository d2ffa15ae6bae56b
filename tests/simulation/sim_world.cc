// World (sim_world.h): the gateway's incarnations, their turns and journal writes, the faults, and
// the run's phases (faults, healing, liveness, the final resend, the check).
#include "sim_world.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/order_scope.h"

namespace ordergate::sim {
namespace {

constexpr int64_t kResolveUs = 120000000;  // after the faults: time for every UNKNOWN
constexpr int kLivenessOrders = 8;

}  // namespace

gateway::GatewayConfig SimGatewayConfig() {
  gateway::GatewayConfig c;
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

World::World(const SimOptions& opt)
    : opt_(opt),
      core_(opt.seed),
      net_(&core_, SimGatewayConfig().bridge_signature_ttl_ms, [this] { Wake(); }),
      cfg_(SimGatewayConfig()) {
  disk_.rng = &core_.rng;
  net_.faults_on = opt.faults;
}

void World::StartGateway() {
  if (gw_ != nullptr) return;  // already restarted (the heal phase starts one at once)
  auto store = std::make_unique<SimStore>(&disk_);
  auto port =
      std::make_unique<SimBridgePort>(&net_, &core_.clock, cfg_.late_reply_window_ms * 1000000);
  auto front = std::make_unique<SimFrontPort>([this](uint64_t id, std::string body) {
    // The reply travels back to the client: a few hundred µs, in order per client (one
    // connection, one TCP stream).
    auto it = pending_.find(id);
    const int client = it == pending_.end() ? -1 : it->second.client;
    int64_t& last = to_client_at_us_[client];
    last = std::max(core_.now_us() + core_.Uniform(20, 400), last);
    core_.At(last,
             [this, id, body = std::move(body)]() mutable { OnWireReply(id, std::move(body)); });
  });
  SimFrontPort* front_raw = front.get();
  auto gw = gateway::Gateway::StartSimulated(cfg_, std::move(store), this, core_.clock,
                                             std::move(port), std::move(front));
  ++incarnation_;
  if (!gw.ok()) {
    res_.violations.push_back("the gateway failed to start: " + gw.status().ToString());
    return;
  }
  ++res_.gateway_starts;
  gw_ = std::move(*gw);
  front_ = front_raw;
  write_pending_ = false;
  read_pending_ = false;
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
  front_ = nullptr;
  for (auto& [id, s] : pending_) {
    if (s.incarnation == incarnation_) s.incarnation = 0;  // lost: the client will time out
  }
  ++incarnation_;
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
    front_ = nullptr;
    for (auto& [id, s] : pending_) {
      if (s.incarnation == incarnation_) s.incarnation = 0;  // replies still on the way arrive
    }
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
  if (gw_->StoreReadsQueued() && !read_pending_) {
    read_pending_ = true;
    // A point read: usually in memory or the page cache, now and then the disk or a slow database.
    const int64_t read_us =
        faults_on_ && core_.Chance(0.02) ? core_.Uniform(5000, 60000) : core_.Uniform(5, 400);
    const uint64_t inc = incarnation_;
    core_.After(read_us, [this, inc] {
      if (inc != incarnation_ || gw_ == nullptr) return;
      read_pending_ = false;
      gw_->ReadStore();
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

void World::ScheduleFaults() {
  // Each kind re-arms itself while the faults are on, at a mean interval of its option.
  using Every = std::function<int64_t(int64_t)>;
  const Every every = [this](int64_t mean_us) {
    return core_.Uniform(mean_us / 4, mean_us * 7 / 4);
  };
  struct Rearm {
    static void Crash(World* w, const Every& ev) {
      w->core_.After(ev(w->opt_.gateway_crash_every_us), [w, ev] {
        if (!w->faults_on_) return;
        w->CrashGateway();
        Crash(w, ev);
      });
    }
    static void Restart(World* w, const Every& ev) {
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
    static void Outage(World* w, const Every& ev) {
      w->core_.After(ev(w->opt_.store_outage_every_us), [w, ev] {
        if (!w->faults_on_) return;
        ++w->res_.store_outages;
        w->disk_.failing = true;
        w->core_.After(w->core_.Uniform(20000, 400000), [w] { w->disk_.failing = false; });
        Outage(w, ev);
      });
    }
    static void Partition(World* w, const Every& ev) {
      w->core_.After(ev(w->opt_.partition_every_us), [w, ev] {
        if (!w->faults_on_) return;
        w->net_.Partition();
        Partition(w, ev);
      });
    }
  };
  Rearm::Crash(this, every);
  Rearm::Restart(this, every);
  Rearm::Outage(this, every);
  Rearm::Partition(this, every);
}

// The faults stop and the clients send nothing new; every UNKNOWN gets time to resolve.
void World::Heal() {
  faults_on_ = false;
  clients_on_ = false;
  net_.faults_on = false;
  disk_.failing = false;
  if (gw_ == nullptr) StartGateway();
  const int64_t faults_end = core_.now_us();
  auto in_flight = [this] { return !disk_.in_flight.empty() || !pending_.empty(); };
  // At least 5 s (late replies, restarts), then until nothing is in flight.
  while (core_.now_us() < faults_end + kResolveUs &&
         (in_flight() || core_.now_us() < faults_end + 5000000)) {
    if (!core_.Step()) break;
  }
}

std::map<std::string, FinalRecord> World::Finals() const {
  std::map<std::string, FinalRecord> finals;
  simdjson::dom::parser parser;
  for (const auto& [key, rec] : disk_.records) {
    FinalRecord f;
    f.state = std::string(idempotency::StateName(rec.state));
    simdjson::dom::object obj;
    if (!rec.reply.empty() && parser.parse(rec.reply).get(obj) == simdjson::SUCCESS) {
      int64_t t = 0;
      if (obj["ticket"].get(t) == simdjson::SUCCESS) f.ticket = t;
      std::string_view code;
      if (obj["error_code"].get(code) == simdjson::SUCCESS) f.code = std::string(code);
    }
    finals[OrderLabel(key)] = f;  // "identity/uuid" for a named client's order, as the world
  }
  return finals;
}

SimResult World::Run() {
  const auto wall0 = std::chrono::steady_clock::now();
  res_.seed = opt_.seed;
  faults_on_ = opt_.faults;
  clients_.resize(static_cast<size_t>(opt_.clients));
  for (int c = 0; c < opt_.clients; ++c) {
    clients_[static_cast<size_t>(c)].id = c;
    clients_[static_cast<size_t>(c)].wire = c % 2 == 1;  // half each door
    // Half the wire clients are CURVE clients with names of their own, sending the same uuids.
    if (c % 4 == 3) clients_[static_cast<size_t>(c)].identity = absl::StrCat("strategy-", c);
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
  Heal();
  // Liveness: fresh orders through both doors fill.
  liveness_open_ = kLivenessOrders;
  for (int i = 0; i < kLivenessOrders; ++i) {
    const std::string uuid = absl::StrCat("live-", i);
    orders_[uuid].volume = 0.1;
    orders_[uuid].liveness = true;
    if (i % 2 == 0) {
      Submit(-1, uuid, 0.1, 'l');
    } else {
      SubmitWire(-1, uuid, 0.1, 'l');
    }
  }
  for (const int64_t until = core_.now_us() + 10000000;
       core_.now_us() < until && liveness_open_ > 0 && core_.Step();) {
  }
  // The final resend of every acknowledged order: it must replay, duplicate.
  for (const auto& [uuid, h] : orders_) {
    for (const SeenReply& r : h.replies) {
      if (r.kind != 'c' && r.recorded && (r.status == "FILLED" || r.status == "REJECTED")) {
        if (uuid.find('/') != std::string::npos) {
          SubmitWire(-1, uuid, h.volume, 'r');  // a named client's order: only on the wire
        } else {
          Submit(-1, uuid, h.volume, 'r');
        }
        break;
      }
    }
  }
  for (const int64_t until = core_.now_us() + 10000000;
       core_.now_us() < until && !pending_.empty() && core_.Step();) {
  }
  // (4): an order known to have been only refused — every submission answered, none recorded
  // nor in flight (PENDING) — must never have executed.
  for (auto& [uuid, h] : orders_) {
    bool any_recorded = false, any_own = false;
    for (const SeenReply& r : h.replies) {
      if (r.kind == 'c' || r.kind == 'q' || r.kind == 'r') continue;
      any_own = true;
      if (r.recorded || r.status == "PENDING") any_recorded = true;
    }
    h.only_refused = any_own && !any_recorded && h.unanswered == 0;
  }
  // The bridge knows a named client's order by its bridge uuid: back to the world's label.
  std::map<std::string, std::string> label_of;
  std::map<std::string, int> clients_of_uuid;
  for (const auto& [label, h] : orders_) {
    const size_t slash = label.find('/');
    if (slash == std::string::npos) continue;
    ++res_.named_orders;
    if (++clients_of_uuid[label.substr(slash + 1)] == 2) ++res_.shared_uuids;
    std::string bridge_uuid;
    AppendBridgeUuid(absl::string_view(label).substr(0, slash),
                     absl::string_view(label).substr(slash + 1), &bridge_uuid);
    label_of[bridge_uuid] = label;
  }
  std::map<std::string, std::vector<Execution>> journal;
  for (const auto& [bridge_uuid, executions] : net_.journal) {
    auto named = label_of.find(bridge_uuid);
    journal[named == label_of.end() ? bridge_uuid : named->second] = executions;
  }
  res_.violations = check::CheckHistory(orders_, journal, Finals(), {}, &res_.counts);
  // The history of the first violating uuids, to read beside the replay.
  for (size_t i = 0; i < res_.violations.size() && i < 3; ++i) {
    const std::string uuid = res_.violations[i].substr(0, res_.violations[i].find(':'));
    auto it = orders_.find(uuid);
    if (it == orders_.end()) continue;
    res_.details += absl::StrCat("history of ", uuid, " (volume ", it->second.volume, "):\n");
    for (const SeenReply& r : it->second.replies) {
      res_.details += absl::StrCat("  t=", r.at_us, "us ", std::string(1, r.kind),
                                   r.wire ? " wire " : " in-process ", r.raw, "\n");
    }
    auto jt = journal.find(uuid);
    if (jt != journal.end()) {
      for (const Execution& e : jt->second) {
        res_.details += absl::StrCat("  executed t=", e.at_us, "us ticket ", e.ticket, "\n");
      }
    }
  }
  if (!pending_.empty()) {
    res_.violations.push_back(
        absl::StrCat(pending_.size(), " request(s) to a live gateway never answered"));
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

}  // namespace ordergate::sim
