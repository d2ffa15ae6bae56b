#include "sim_bridge.h"

#include <simdjson.h>

#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "transport/iso_time.h"

namespace ordergate::sim {
namespace {

std::string Quote(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string ErrorReply(std::string_view uuid, std::string_view status, std::string_view code,
                       std::string_view msg) {
  return "{\"uuid\":" + Quote(uuid) + ",\"status\":" + Quote(status) +
         ",\"error_code\":" + Quote(code) + ",\"error_msg\":" + Quote(msg) + "}";
}

}  // namespace

SimNet::SimNet(Core* core, int64_t signature_ttl_ms, std::function<void()> wake)
    : core_(core), ttl_us_(signature_ttl_ms * 1000), wake_(std::move(wake)) {}

int64_t SimNet::NetDelayUs() {
  if (faults_on && core_->Chance(faults.slow)) return core_->Uniform(1000, 60000);
  return core_->Uniform(20, 500);
}

void SimNet::Attach(SimBridgePort* port) {
  // One gateway at a time: a connection left by an earlier one is gone with its process.
  if (port_ != nullptr && port_ != port) Detach(port_);
  port_ = port;
  ConnectSoon(core_->Uniform(100, 5000));
}

void SimNet::Detach(SimBridgePort* port) {
  if (port_ != port) return;
  port_ = nullptr;
  // The process is gone: its connection drops at the bridge, which discards what it queued.
  epoch_ = 0;
  queue_.clear();
}

void SimNet::ConnectSoon(int64_t delay_us) {
  SimBridgePort* const port = port_;
  core_->After(delay_us, [this, port] {
    if (port_ != port || port_ == nullptr || epoch_ != 0) return;
    if (!bridge_up_) return;  // the bridge's restart connects again
    epoch_ = next_epoch_++;
    ++counters.connections;
    port_->OnConnected(epoch_);
    wake_();
  });
}

void SimNet::Disconnect() {
  epoch_ = 0;
  queue_.clear();  // a REP drops what a dead connection queued; the one in service still runs
  if (port_ != nullptr) {
    port_->OnDisconnected();
    wake_();
  }
}

void SimNet::Partition() {
  if (epoch_ == 0) return;
  ++counters.partitions;
  Disconnect();
  ConnectSoon(core_->Uniform(50000, 1000000));
}

void SimNet::ToBridge(uint64_t epoch, std::string body) {
  if (faults_on && core_->Chance(faults.drop_request)) {
    ++counters.dropped_requests;
    return;
  }
  core_->After(NetDelayUs(), [this, epoch, body = std::move(body)]() mutable {
    if (epoch != epoch_ || !bridge_up_) return;  // the connection it travelled on is gone
    queue_.push_back(Queued{epoch, std::move(body)});
    if (!busy_) ServeNext();
  });
}

void SimNet::ServeNext() {
  if (queue_.empty() || !bridge_up_) {
    busy_ = false;
    return;
  }
  busy_ = true;
  Queued q = std::move(queue_.front());
  queue_.pop_front();
  int64_t service_us = core_->Uniform(100, 3000);
  if (faults_on && core_->Chance(faults.bridge_stall)) {
    ++counters.stalls;
    service_us = core_->Uniform(1600000, 4000000);
  }
  // The request is dequeued now: its signature's age is judged now (protocol.md: "at the moment
  // it handles the request"); the execution happens at the end of the service time.
  const int64_t dequeued_us = core_->clock.UnixUs();
  const uint64_t life = life_;
  core_->After(service_us, [this, q = std::move(q), dequeued_us, life] {
    if (life != life_) return;  // crashed meanwhile: what it was serving died with it
    bool reply_lost = false, crash = false;
    std::string reply = Handle(q.body, dequeued_us, &reply_lost, &crash);
    if (crash) {
      ++counters.crashes;
      bridge_up_ = false;
      ++life_;
      Disconnect();
      core_->After(core_->Uniform(200000, 2000000), [this] {
        bridge_up_ = true;
        busy_ = false;
        ConnectSoon(core_->Uniform(100, 100000));
      });
      return;
    }
    if (!reply_lost) ToGateway(q.epoch, std::move(reply));
    ServeNext();
  });
}

std::string SimNet::Handle(const std::string& body, int64_t dequeued_unix_us, bool* reply_lost,
                           bool* crash) {
  ++counters.requests;
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(body).get(obj) != simdjson::SUCCESS) {
    return ErrorReply("", "error", "INVALID_JSON", "Invalid JSON");
  }
  std::string_view action, uuid;
  (void)!obj["action"].get(action);
  (void)!obj["uuid"].get(uuid);
  if (action == "ORDER_STATUS") {
    ++counters.queries;
    auto it = records_.find(std::string(uuid));
    if (it != records_.end()) return it->second;
    return ErrorReply(uuid, "error", "NOT_FOUND", "No order with this uuid seen by the bridge");
  }
  if (action != "OPEN") return ErrorReply(uuid, "error", "UNKNOWN_ACTION", "Unknown action");
  double volume = 0;
  (void)!obj["volume"].get(volume);
  std::string_view sig;
  (void)!obj["risk_signature"].get(sig);
  std::vector<absl::string_view> parts =
      absl::StrSplit(absl::string_view(sig.data(), sig.size()), ':');
  int64_t signed_us = 0;
  if (parts.size() != 3 || !ParseIsoTimestamp(parts[2], &signed_us)) {
    return ErrorReply(uuid, "REJECTED", "RISK_SIGNATURE_INVALID", "Malformed risk_signature");
  }
  const std::string key(uuid);
  if (dequeued_unix_us - signed_us > ttl_us_) {
    ++counters.expired;
    std::string r = ErrorReply(uuid, "REJECTED", "RISK_SIGNATURE_INVALID", "Signature expired");
    records_[key] = r;
    return r;
  }
  const bool faulty = faults_on;
  if (faulty && core_->Chance(faults.bridge_reject)) {
    ++counters.rejected;
    std::string r = ErrorReply(uuid, "REJECTED", "MT5_ORDER_FAILED", "order_send failed (drawn)");
    records_[key] = r;
    return r;
  }
  const bool odd = faulty && core_->Chance(faults.bridge_odd_reply);
  const bool no_reply = !odd && faulty && core_->Chance(faults.bridge_no_reply);
  const bool dies = !odd && !no_reply && faulty && core_->Chance(faults.bridge_crash);
  // An odd reply, a lost one or a crash may come before or after MT5 placed the order.
  const bool execute = !(odd || no_reply || dies) || core_->Chance(0.5);
  std::string filled;
  if (execute) {
    const int64_t ticket = next_ticket_++;
    journal[key].push_back(Execution{ticket, volume, core_->now_us()});
    ++counters.executed;
    filled = absl::StrCat("{\"uuid\":", Quote(uuid), ",\"status\":\"FILLED\",\"ticket\":", ticket,
                          ",\"symbol\":\"EURUSD\",\"volume\":", volume,
                          ",\"price\":1.1,\"execution_time\":\"2026-01-01T00:00:00Z\"}");
    records_[key] = filled;
  }
  if (dies) {
    *crash = true;
    return {};
  }
  if (no_reply) {
    ++counters.no_reply;
    *reply_lost = true;
    return {};
  }
  if (odd) {
    ++counters.odd;
    switch (core_->Uniform(0, 4)) {
      case 0:
        return absl::StrCat("{\"uuid\":", Quote(uuid), ",\"status\":\"PENDING\"}");
      case 1:
        return absl::StrCat("{\"uuid\":", Quote(uuid), ",\"status\":\"ok\"}");
      case 2:
        return absl::StrCat("{\"uuid\":", Quote(uuid), ",\"status\":\"FILLED\",\"ticket\":-5}");
      case 3:
        return ErrorReply(uuid, "error", "SERVER_ERROR", "exception in order_send");
      default:
        return absl::StrCat("{\"uuid\":", Quote(uuid), ",\"ticket\":12.5}");
    }
  }
  return filled;
}

void SimNet::ToGateway(uint64_t epoch, std::string reply) {
  if (epoch != epoch_) return;  // a REP never answers on another connection
  if (faults_on && core_->Chance(faults.drop_reply)) {
    ++counters.dropped_replies;
    return;
  }
  const int copies = faults_on && core_->Chance(faults.duplicate_reply) ? 2 : 1;
  if (copies == 2) ++counters.duplicated_replies;
  for (int i = 0; i < copies; ++i) {
    core_->After(NetDelayUs(), [this, epoch, reply] {
      if (port_ == nullptr || port_->epoch() != epoch || epoch != epoch_) return;
      port_->OnReply(epoch, reply);
      wake_();
    });
  }
}

SimBridgePort::SimBridgePort(SimNet* net, const gateway::Clock* clock, int64_t late_reply_window_ns)
    : net_(net), clock_(clock), correlator_(late_reply_window_ns) {
  net_->Attach(this);
}

SimBridgePort::~SimBridgePort() { net_->Detach(this); }

absl::Status SimBridgePort::Send(uint64_t token, absl::string_view uuid, absl::string_view body,
                                 int64_t deadline_ns) {
  if (!up_) return absl::Status(absl::StatusCode::kUnavailable, "");
  correlator_.OnSent(token, uuid, deadline_ns, clock_->SteadyNs());
  net_->ToBridge(epoch_, std::string(body));
  return absl::OkStatus();
}

void SimBridgePort::Poll(int64_t now_ns, std::vector<transport::BridgeEvent>* out) {
  for (const std::string& body : arrived_) correlator_.OnReply(body, out);
  arrived_.clear();
  correlator_.FireDeadlines(now_ns, out);
}

void SimBridgePort::OnDisconnected() {
  up_ = false;
  epoch_ = 0;
  // As BridgeLink: replies of the dropped connection not yet read are never matched.
  arrived_.clear();
  correlator_.OnDisconnected();
}

void SimBridgePort::OnReply(uint64_t epoch, std::string body) {
  if (epoch == epoch_ && up_) arrived_.push_back(std::move(body));
}

}  // namespace ordergate::sim
