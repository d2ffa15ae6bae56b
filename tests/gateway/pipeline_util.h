// Shared by the gateway suites that drive an in-process gateway: a scripted bridge (a ROUTER on
// loopback that records every request and answers as each test says), the real RocksDB store
// (wrapped where a test needs to watch it or make it fail), a DEALER strategy, and a gateway
// running on its own thread for the scope of a test.
#ifndef ORDERGATE_TESTS_GATEWAY_PIPELINE_UTIL_H_
#define ORDERGATE_TESTS_GATEWAY_PIPELINE_UTIL_H_

#include <simdjson.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "gateway/gateway.h"
#include "idempotency/rocksdb_store.h"

namespace og = ordergate;

namespace pipeline_util {

using og::gateway::Gateway;
using og::gateway::GatewayConfig;
using namespace std::chrono_literals;

inline std::string TempDir(const std::string& tag) {
  static std::atomic<int> n{0};
  auto p = std::filesystem::temp_directory_path() /
           ("og-pipe-" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

// A shared, ordered log of what the store and the bridge saw, to check "durable before sent".
struct EventLog {
  std::mutex mu;
  std::vector<std::string> lines;
  void Add(std::string s) {
    std::lock_guard<std::mutex> l(mu);
    lines.push_back(std::move(s));
  }
  std::vector<std::string> Snapshot() {
    std::lock_guard<std::mutex> l(mu);
    return lines;
  }
};

// The real store, watched (logs applied reservations) and breakable (fails every write or every
// read on demand, or holds writes: a database that went silent).
class WatchedStore : public og::idempotency::Store {
 public:
  WatchedStore(std::unique_ptr<og::idempotency::Store> inner, EventLog* log)
      : inner_(std::move(inner)), log_(log) {}
  std::atomic<bool> fail_writes{false};
  std::atomic<bool> fail_lookups{false};
  std::atomic<bool> hold_writes{false};  // Apply() waits (at most 10 s) while set
  std::atomic<int> lookup_delay_ms{0};   // each Lookup() takes this long first (a silent database)
  std::atomic<int> lookups{0};           // Lookup() calls made
  std::atomic<int> applies{0};
  std::atomic<int> held{0};  // Apply() calls waiting now

  absl::Status Apply(absl::Span<const og::idempotency::Change> changes, int64_t now_ms,
                     absl::Span<og::idempotency::ChangeResult> results) override {
    if (hold_writes.load()) {
      ++held;
      for (int i = 0; i < 1000 && hold_writes.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      --held;
    }
    if (fail_writes.load()) return absl::Status(absl::StatusCode::kUnavailable, "");
    absl::Status s = inner_->Apply(changes, now_ms, results);
    ++applies;
    if (s.ok() && log_ != nullptr) {
      for (size_t i = 0; i < changes.size(); ++i) {
        if (changes[i].event == og::idempotency::RecordEvent::kReserve &&
            results[i].outcome == og::idempotency::ChangeOutcome::kApplied) {
          log_->Add("durable:" + std::string(changes[i].key));
        }
      }
    }
    return s;
  }
  absl::StatusOr<std::optional<og::idempotency::Record>> Lookup(absl::string_view key) override {
    ++lookups;
    if (const int ms = lookup_delay_ms.load(); ms > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    if (fail_lookups.load()) return absl::Status(absl::StatusCode::kUnavailable, "");
    return inner_->Lookup(key);
  }
  absl::StatusOr<std::vector<og::idempotency::Record>> ListInFlight() override {
    return inner_->ListInFlight();
  }
  og::idempotency::StoreStats Stats() override { return inner_->Stats(); }

 private:
  std::unique_ptr<og::idempotency::Store> inner_;
  EventLog* log_;
};

struct BridgeRequest {
  std::string action;
  std::string uuid;
  std::string body;
};

// A scripted MT5 bridge: a ROUTER that records requests and answers via `policy`. The policy
// returns the reply body, or nullopt to hold the request (answer later with ReplyLater()).
class ScriptedBridge {
 public:
  using Policy = std::function<std::optional<std::string>(const BridgeRequest&)>;

  explicit ScriptedBridge(Policy policy, EventLog* log = nullptr)
      : policy_(std::move(policy)), log_(log), sock_(ctx_, zmq::socket_type::router) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.bind("tcp://127.0.0.1:*");
    endpoint_ = sock_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Loop(); });
  }
  ~ScriptedBridge() {
    stop_ = true;
    thread_.join();
    sock_.close();
  }
  const std::string& endpoint() const { return endpoint_; }

  std::vector<BridgeRequest> Requests() {
    std::lock_guard<std::mutex> l(mu_);
    return requests_;
  }
  int Count(const std::string& action, const std::string& uuid) {
    int n = 0;
    for (const auto& r : Requests()) n += (r.action == action && r.uuid == uuid);
    return n;
  }
  // Answers the oldest held request (in arrival order) with `body`.
  void ReplyLater(std::string body) {
    std::lock_guard<std::mutex> l(mu_);
    outbox_.push_back(std::move(body));
  }

  static std::string Filled(const std::string& uuid, int64_t ticket) {
    return R"({"uuid":")" + uuid + R"(","status":"FILLED","ticket":)" + std::to_string(ticket) +
           R"(,"symbol":"EURUSD","volume":0.1,"price":1.1,"execution_time":"2026-11-25T10:00:00Z","latency_ms":1})";
  }
  static std::string Error(const std::string& uuid, const std::string& code) {
    return R"({"uuid":")" + uuid + R"(","status":"error","error_code":")" + code +
           R"(","error_msg":"x","timestamp":"2026-11-25T10:00:00Z"})";
  }

 private:
  void Loop() {
    simdjson::dom::parser parser;
    while (!stop_) {
      {
        std::lock_guard<std::mutex> l(mu_);
        while (!outbox_.empty() && !held_.empty()) {
          SendTo(held_.front(), outbox_.front());
          held_.pop_front();
          outbox_.pop_front();
        }
      }
      zmq::pollitem_t items[] = {{sock_.handle(), 0, ZMQ_POLLIN, 0}};
      zmq::poll(items, 1, 5ms);
      if (!(items[0].revents & ZMQ_POLLIN)) continue;
      std::vector<zmq::message_t> parts;
      (void)zmq::recv_multipart(sock_, std::back_inserter(parts));
      if (parts.size() < 2) continue;
      const std::string id = parts[0].to_string();
      const std::string body = parts.back().to_string();
      BridgeRequest req;
      req.body = body;
      simdjson::dom::element doc;
      if (parser.parse(body).get(doc) == simdjson::SUCCESS) {
        std::string_view v;
        if (doc["action"].get(v) == simdjson::SUCCESS) req.action = std::string(v);
        if (doc["uuid"].get(v) == simdjson::SUCCESS) req.uuid = std::string(v);
      }
      if (log_ != nullptr && req.action == "OPEN") log_->Add("received:" + req.uuid);
      std::optional<std::string> reply = policy_(req);
      std::lock_guard<std::mutex> l(mu_);
      requests_.push_back(req);
      if (reply) {
        SendTo(id, *reply);
      } else {
        held_.push_back(id);
      }
    }
  }
  void SendTo(const std::string& id, const std::string& body) {
    sock_.send(zmq::buffer(id), zmq::send_flags::sndmore);
    sock_.send(zmq::message_t(), zmq::send_flags::sndmore);
    sock_.send(zmq::buffer(body), zmq::send_flags::none);
  }

  Policy policy_;
  EventLog* log_;
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::vector<BridgeRequest> requests_;
  std::deque<std::string> held_;
  std::deque<std::string> outbox_;
};

// A DEALER strategy.
class Strategy {
 public:
  explicit Strategy(const std::string& endpoint) : sock_(ctx_, zmq::socket_type::dealer) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.connect(endpoint);
  }
  ~Strategy() { sock_.close(); }
  void Send(const std::string& body) {
    sock_.send(zmq::message_t(), zmq::send_flags::sndmore);
    sock_.send(zmq::buffer(body), zmq::send_flags::none);
  }
  // The next reply, parsed into a flat map of its top-level scalar members (as text).
  std::map<std::string, std::string> Receive(std::chrono::milliseconds timeout = 5000ms) {
    zmq::pollitem_t items[] = {{sock_.handle(), 0, ZMQ_POLLIN, 0}};
    zmq::poll(items, 1, timeout);
    if (!(items[0].revents & ZMQ_POLLIN)) return {{"timeout", "true"}};
    std::vector<zmq::message_t> parts;
    (void)zmq::recv_multipart(sock_, std::back_inserter(parts));
    std::map<std::string, std::string> out;
    simdjson::dom::element doc;
    if (parser_.parse(parts.back().to_string()).get(doc) != simdjson::SUCCESS)
      return {{"invalid", "true"}};
    simdjson::dom::object obj;
    if (doc.get(obj) != simdjson::SUCCESS) return {{"invalid", "true"}};
    for (auto field : obj) {
      std::string key(field.key);
      std::string_view s;
      int64_t i;
      bool b;
      if (field.value.get(s) == simdjson::SUCCESS) {
        out[key] = std::string(s);
      } else if (field.value.get(i) == simdjson::SUCCESS) {
        out[key] = std::to_string(i);
      } else if (field.value.get(b) == simdjson::SUCCESS) {
        out[key] = b ? "true" : "false";
      } else {
        out[key] = "?";
      }
    }
    return out;
  }
  std::map<std::string, std::string> Call(const std::string& body,
                                          std::chrono::milliseconds t = 5000ms) {
    Send(body);
    return Receive(t);
  }

 private:
  zmq::context_t ctx_;
  zmq::socket_t sock_;
  simdjson::dom::parser parser_;
};

inline std::string Open(const std::string& uuid, double volume = 0.1, int timeout_ms = 0) {
  std::string s = R"({"action":"OPEN","uuid":")" + uuid +
                  R"(","symbol":"EURUSD","type":"BUY","volume":)" + std::to_string(volume);
  if (timeout_ms > 0) s += ",\"timeout_ms\":" + std::to_string(timeout_ms);
  return s + "}";
}
inline std::string Status(const std::string& uuid) {
  return R"({"action":"ORDER_STATUS","uuid":")" + uuid + R"("})";
}

inline GatewayConfig TestConfig(const std::string& bridge_endpoint, const std::string& dir) {
  GatewayConfig c;
  c.listen = "tcp://127.0.0.1:*";
  c.bridge = bridge_endpoint;
  c.data_dir = dir;
  c.durability = og::idempotency::Durability::kSync;
  c.client_timeout_ms = 3000;
  c.reply_margin_ms = 50;
  c.bridge_signature_ttl_ms = 200;
  c.bridge_exec_margin_ms = 50;
  c.bridge_timeout_ms = 400;
  c.unknown_query_interval_ms = 100;
  c.log_level = "warn";
  c.metrics_listen = "";
  return c;
}

inline std::unique_ptr<og::idempotency::Store> OpenStore(const std::string& dir) {
  og::idempotency::RocksDbStoreOptions o;
  o.path = dir;
  auto s = og::idempotency::RocksDbStore::Open(o);
  REQUIRE(s.ok());
  return std::move(*s);
}

// Runs a gateway on its own thread for the scope of a test.
class RunningGateway {
 public:
  // `clock`: the pipeline's time (gateway/clock.h); the system's when null.
  RunningGateway(const GatewayConfig& cfg, std::unique_ptr<og::idempotency::Store> store = nullptr,
                 const og::gateway::Clock* clock = nullptr) {
    auto gw = Gateway::Start(cfg, std::move(store),
                             clock != nullptr ? *clock : og::gateway::SystemClock());
    INFO(gw.status().ToString());
    REQUIRE(gw.ok());
    gw_ = std::move(*gw);
    thread_ = std::thread([this] { run_status_ = gw_->Run(); });
    for (int i = 0; i < 500 && !(gw_->ready() && gw_->bridge_up()); ++i)
      std::this_thread::sleep_for(10ms);
  }
  ~RunningGateway() { StopAndJoin(); }
  void StopAndJoin() {
    if (thread_.joinable()) {
      gw_->Stop();
      thread_.join();
    }
  }
  Gateway& operator*() { return *gw_; }
  Gateway* operator->() { return gw_.get(); }
  const std::string& endpoint() { return gw_->front_endpoint(); }

 private:
  std::unique_ptr<Gateway> gw_;
  std::thread thread_;
  absl::Status run_status_;
};

template <typename Pred>
bool Eventually(Pred pred, std::chrono::milliseconds limit = 10000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (pred()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred();
}

// For uuids PREFIX0..PREFIX(n-1): the store logged each reservation as durable before the bridge
// logged its arrival (both into `log`).
inline void CheckDurableBeforeReceived(EventLog& log, const std::string& prefix, int n) {
  const auto lines = log.Snapshot();
  for (int i = 0; i < n; ++i) {
    const std::string uuid = prefix + std::to_string(i);
    INFO(uuid);
    auto durable = std::find(lines.begin(), lines.end(), "durable:" + uuid);
    auto received = std::find(lines.begin(), lines.end(), "received:" + uuid);
    REQUIRE(durable != lines.end());
    REQUIRE(received != lines.end());
    CHECK(durable < received);
  }
}

// A bridge policy that holds every request: the test answers with ReplyLater().
inline std::optional<std::string> HoldAll(const BridgeRequest&) { return std::nullopt; }

// TestConfig with a bridge timeout and signature TTL long enough for a test to hold an order at
// the bridge and answer it later.
inline GatewayConfig PatientConfig(const std::string& bridge_endpoint, const std::string& dir) {
  GatewayConfig c = TestConfig(bridge_endpoint, dir);
  c.bridge_timeout_ms = 3000;
  c.bridge_signature_ttl_ms = 2000;
  return c;
}

// Sends OPEN `uuid` from `s` and REQUIREs it to reach the bridge.
inline void SendToBridge(Strategy& s, ScriptedBridge& bridge, const std::string& uuid) {
  s.Send(Open(uuid));
  REQUIRE(Eventually([&] { return bridge.Count("OPEN", uuid) == 1; }));
}

}  // namespace pipeline_util

#endif  // ORDERGATE_TESTS_GATEWAY_PIPELINE_UTIL_H_
