// End to end against a scripted bridge that is a real REP socket (as the MT5-CRS bridge is, with
// libzmq's default receive HWM of 1000): replies that settle nothing, relays whose replies come
// late, uuids outside the order charset, a backlog behind a slow MT5 call, and a flood of relays.
// Each case is a finding of the outside probe (issue 9) and failed before its fix.
#include <time.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "e2e_util.h"

using namespace e2e;

namespace {

// The MT5 bridge's shape: a REP that handles one request at a time, in arrival order. `handler`
// runs on the bridge's thread and may sleep (an MT5 call); it returns the reply body.
class RepBridge {
 public:
  using Handler = std::function<std::string(const Json& request)>;

  RepBridge(zmq::context_t& ctx, Handler handler)
      : handler_(std::move(handler)), sock_(ctx, zmq::socket_type::rep) {
    sock_.set(zmq::sockopt::linger, 0);
    sock_.bind("tcp://127.0.0.1:*");
    endpoint_ = sock_.get(zmq::sockopt::last_endpoint);
    thread_ = std::thread([this] { Loop(); });
  }
  ~RepBridge() {
    stop_ = true;
    thread_.join();
    sock_.close();
  }
  const std::string& endpoint() const { return endpoint_; }
  int Count(const std::string& action, const std::string& uuid) {
    std::lock_guard<std::mutex> l(mu_);
    return seen_[action + "|" + uuid];
  }
  std::vector<std::string> Uuids(const std::string& action) {
    std::lock_guard<std::mutex> l(mu_);
    std::vector<std::string> out;
    for (const auto& [k, n] : seen_) {
      if (k.rfind(action + "|", 0) == 0) out.push_back(k.substr(action.size() + 1));
    }
    return out;
  }

 private:
  void Loop() {
    while (!stop_) {
      zmq::pollitem_t item{sock_.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, Ms(20));
      if ((item.revents & ZMQ_POLLIN) == 0) continue;
      zmq::message_t m;
      if (!sock_.recv(m, zmq::recv_flags::none)) continue;
      const std::string body = m.to_string();
      auto req = Json::Parse(body);
      std::string reply = R"({"status":"error","error_code":"INVALID_JSON"})";
      if (req) {
        {
          std::lock_guard<std::mutex> l(mu_);
          ++seen_[req->S("action") + "|" + req->S("uuid")];
        }
        reply = handler_(*req);
      }
      sock_.send(zmq::buffer(reply), zmq::send_flags::none);
    }
  }

  Handler handler_;
  zmq::socket_t sock_;
  std::string endpoint_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, int> seen_;
};

std::string Echo(const Json& req, const std::string& members) {
  std::string uuid = "null";
  if (auto u = req.Str("uuid")) {
    uuid.clear();
    uuid += '"';
    for (char ch : *u) {
      if (ch == '"' || ch == '\\') uuid += '\\';
      uuid += ch;
    }
    uuid += '"';
  }
  return R"({"uuid":)" + uuid + "," + members + "}";
}

std::string Filled(const Json& req, int64_t ticket) {
  return Echo(req, R"("status":"FILLED","ticket":)" + std::to_string(ticket) +
                       R"(,"symbol":"EURUSD","volume":0.1,"price":1.1,"latency_ms":1)");
}

// Whether an OPEN's risk_signature (RISK_PASS:<checksum>:<YYYYMMDDTHHMMSS.ffffffZ>) is younger
// than `ttl_ms`, as the real bridge checks when it dequeues the request.
bool SignatureFresh(const Json& req, int64_t ttl_ms) {
  const std::string sig = req.S("risk_signature");
  const size_t colon = sig.rfind(':');
  if (colon == std::string::npos) return false;
  struct tm t {};
  int micros = 0;
  if (std::sscanf(sig.c_str() + colon + 1, "%4d%2d%2dT%2d%2d%2d.%6dZ", &t.tm_year, &t.tm_mon,
                  &t.tm_mday, &t.tm_hour, &t.tm_min, &t.tm_sec, &micros) != 7) {
    return false;
  }
  t.tm_year -= 1900;
  t.tm_mon -= 1;
  const int64_t signed_us = static_cast<int64_t>(timegm(&t)) * 1000000 + micros;
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  return now_us - signed_us <= ttl_ms * 1000;
}

std::string NoOrderStatus(const Json& req) {
  return Echo(req,
              R"("status":"error","error_code":"UNKNOWN_ACTION","error_msg":"Unknown action")");
}

void Sleep(int ms) { std::this_thread::sleep_for(Ms(ms)); }

}  // namespace

TEST_CASE(
    "Bridge replies that settle nothing make the order UNKNOWN at its bridge deadline, free its "
    "in-flight slot and are never resent",
    "[e2e]") {
  const std::map<std::string, std::string> odd = {
      {"server-error", R"("status":"error","error_code":"SERVER_ERROR","error_msg":"boom")"},
      {"no-status", R"("ticket":5)"},
      {"ok", R"("status":"ok")"},
      {"pending", R"("status":"PENDING")"},
      {"ticket-neg", R"("status":"FILLED","ticket":-5)"},
      {"ticket-frac", R"("status":"FILLED","ticket":12.5)"},
  };
  World w;
  std::atomic<int64_t> next_ticket{100};
  RepBridge bridge(w.ctx, [&](const Json& req) {
    if (req.S("action") != "OPEN") return NoOrderStatus(req);
    const std::string uuid = req.S("uuid");
    for (const auto& [tag, members] : odd) {
      if (uuid.find(tag) != std::string::npos) return Echo(req, members);
    }
    return Filled(req, next_ticket++);
  });
  w.StartGateway(
      {"--bridge-signature-ttl-ms", "1000", "--bridge-exec-margin-ms", "200", "--bridge-timeout-ms",
       "1500", "--client-timeout-ms", "5000", "--bridge-max-in-flight", "3"},
      bridge.endpoint());
  REQUIRE(w.WaitBridge("up"));

  std::vector<std::string> odd_uuids;
  for (const auto& [tag, members] : odd) odd_uuids.push_back(UniqueId(tag));
  // Two waves of three: with the bug, the first wave held all three slots for ever.
  DealerClient d(w.ctx, w.gw_endpoint);
  for (size_t wave = 0; wave < 2; ++wave) {
    const auto start = std::chrono::steady_clock::now();
    for (size_t i = 0; i < 3; ++i) d.Send(OpenBody(odd_uuids[wave * 3 + i]));
    for (size_t i = 0; i < 3; ++i) {
      auto r = d.RecvJson(Ms(8000));
      REQUIRE(r);
      INFO("reply: " << r->raw());
      CHECK(r->S("status") == "UNKNOWN");
      CHECK(r->S("error_code") == "BRIDGE_TIMEOUT");
    }
    // At the bridge deadline (1.5 s), not at the client's (5 s).
    CHECK(std::chrono::steady_clock::now() - start < Ms(4000));
  }
  ReqClient c(w.ctx, w.gw_endpoint);
  for (const std::string& uuid : odd_uuids) {
    INFO("uuid " << uuid);
    auto status = c.CallJson(StatusBody(uuid));
    REQUIRE(status);
    CHECK(status->S("status") == "UNKNOWN");
    auto resend = c.CallJson(OpenBody(uuid));
    REQUIRE(resend);
    CHECK(resend->S("status") == "UNKNOWN");
    CHECK(bridge.Count("OPEN", uuid) == 1);
  }
  // Every slot is free again.
  for (int i = 0; i < 3; ++i) d.Send(OpenBody(UniqueId("after")));
  for (int i = 0; i < 3; ++i) {
    auto r = d.RecvJson(Ms(5000));
    REQUIRE(r);
    INFO("reply: " << r->raw());
    CHECK(r->S("status") == "FILLED");
  }
}

TEST_CASE(
    "A relay's late reply is never taken as the reply to an order or to another client's relay, "
    "whatever uuids they share",
    "[e2e]") {
  World w;
  RepBridge bridge(w.ctx, [&](const Json& req) {
    const std::string action = req.S("action");
    if (action == "GET_ACCOUNT") {
      Sleep(2600);  // past the client's 2 s deadline: the relay gets BRIDGE_TIMEOUT first
      return Echo(req, R"("status":"ok","balance":1000.5,"currency":"USD")");
    }
    if (action == "GET_POSITIONS") return Echo(req, R"("status":"ok","positions":[])");
    if (action == "OPEN") return Filled(req, 4242);
    return NoOrderStatus(req);
  });
  w.StartGateway({}, bridge.endpoint());
  REQUIRE(w.WaitBridge("up"));

  SECTION("an order named like a timed-out relay gets its own reply") {
    const std::string x = UniqueId("x");
    DealerClient b(w.ctx, w.gw_endpoint);
    b.Send(R"({"action":"GET_ACCOUNT","uuid":")" + x + R"("})");
    auto timed_out = b.RecvJson(Ms(5000));
    REQUIRE(timed_out);
    INFO("relay reply: " << timed_out->raw());
    CHECK(timed_out->S("error_code") == "BRIDGE_TIMEOUT");
    CHECK(timed_out->S("uuid") == x);
    ReqClient a(w.ctx, w.gw_endpoint);
    auto open = a.CallJson(OpenBody(x, 0.1, R"("timeout_ms":5000)"), Ms(6000));
    REQUIRE(open);
    INFO("OPEN reply: " << open->raw());
    CHECK(open->S("status") == "FILLED");
    CHECK(open->Int("ticket") == 4242);
    CHECK_FALSE(open->Has("balance"));
    CHECK(bridge.Count("OPEN", x) == 1);
  }
  for (const std::string& shared : {std::string(R"("uuid":"acct",)"), std::string()}) {
    DYNAMIC_SECTION("another client's relay " << (shared.empty() ? "without a uuid"
                                                                 : "sharing a "
                                                                   "uuid")
                                              << " gets its own reply") {
      DealerClient b(w.ctx, w.gw_endpoint);
      DealerClient c(w.ctx, w.gw_endpoint);
      b.Send("{" + shared + R"("action":"GET_ACCOUNT"})");
      auto timed_out = b.RecvJson(Ms(5000));
      REQUIRE(timed_out);
      CHECK(timed_out->S("error_code") == "BRIDGE_TIMEOUT");
      c.Send("{" + shared + R"("action":"GET_POSITIONS"})");
      auto positions = c.RecvJson(Ms(5000));
      REQUIRE(positions);
      INFO("GET_POSITIONS reply: " << positions->raw());
      CHECK(positions->S("status") == "ok");
      CHECK(positions->Has("positions"));
      CHECK_FALSE(positions->Has("balance"));
      if (shared.empty()) {
        CHECK_FALSE(positions->Str("uuid").has_value());
      } else {
        CHECK(positions->S("uuid") == "acct");
      }
      // b never receives c's reply either.
      CHECK_FALSE(b.Recv(Ms(1500)).has_value());
    }
  }
}

TEST_CASE("Relays and PING with a uuid outside the order charset are answered at once and echo it",
          "[e2e]") {
  World w;
  RepBridge bridge(w.ctx, [&](const Json& req) {
    if (req.S("action") == "GET_ACCOUNT") return Echo(req, R"("status":"ok","balance":1)");
    if (req.S("action") == "GET_POSITIONS") return Echo(req, R"("status":"ok","positions":[])");
    return NoOrderStatus(req);
  });
  w.StartGateway({}, bridge.endpoint());
  REQUIRE(w.WaitBridge("up"));
  ReqClient c(w.ctx, w.gw_endpoint);
  const std::vector<std::string> uuids = {std::string(65, 'u'), "a/b", "\xc3\xa4", "two words"};
  for (const std::string& uuid : uuids) {
    for (const std::string& action :
         std::vector<std::string>{"GET_ACCOUNT", "GET_POSITIONS", "PING"}) {
      INFO(action << " uuid " << uuid);
      const auto start = std::chrono::steady_clock::now();
      auto r = c.CallJson(R"({"action":")" + action + R"(","uuid":")" + uuid + R"("})");
      REQUIRE(r);
      INFO("reply: " << r->raw());
      CHECK(r->S("status") == "ok");
      CHECK(r->S("uuid") == uuid);
      CHECK(std::chrono::steady_clock::now() - start < Ms(1000));
    }
  }
}

TEST_CASE(
    "A backlog behind a slow MT5 call keeps the bridge link, refuses at once what the bridge "
    "cannot serve within the signature TTL, and settles every order it admitted",
    "[e2e]") {
  World w;
  std::mutex mu;
  std::map<std::string, int64_t> executed;  // uuid -> ticket
  int64_t next_ticket = 1;
  std::atomic<bool> stall_next{false};
  RepBridge bridge(w.ctx, [&](const Json& req) {
    if (req.S("action") != "OPEN") return NoOrderStatus(req);
    if (stall_next.exchange(false)) Sleep(4000);  // one slow MT5 call
    if (!SignatureFresh(req, 5000)) {
      return Echo(
          req,
          R"("status":"REJECTED","error_code":"RISK_SIGNATURE_INVALID","error_msg":"Signature expired")");
    }
    Sleep(60);  // the real bridge's ~60 ms per order
    std::lock_guard<std::mutex> l(mu);
    const int64_t ticket = next_ticket++;
    executed[req.S("uuid")] = ticket;
    return Filled(req, ticket);
  });
  w.StartGateway({}, bridge.endpoint());
  REQUIRE(w.WaitBridge("up"));

  // The gateway learns the bridge's pace from ordinary traffic first.
  ReqClient warm(w.ctx, w.gw_endpoint);
  for (int i = 0; i < 30; ++i) {
    auto r = warm.CallJson(OpenBody(UniqueId("warm")));
    REQUIRE(r);
    REQUIRE(r->S("status") == "FILLED");
  }
  stall_next = true;
  DealerClient d(w.ctx, w.gw_endpoint);
  constexpr int kOrders = 1024;
  std::vector<std::string> uuids;
  for (int i = 0; i < kOrders; ++i) uuids.push_back(UniqueId("backlog"));
  const auto sent_at = std::chrono::steady_clock::now();
  for (const std::string& uuid : uuids) d.Send(OpenBody(uuid, 0.1, R"("timeout_ms":15000)"));

  std::map<std::string, Json> final_reply;
  int busy = 0, busy_late = 0;
  while (final_reply.size() < uuids.size()) {
    auto r = d.RecvJson(Ms(16000));
    REQUIRE(r);
    const std::string status = r->S("status");
    if (status == "REJECTED" && r->S("error_code") == "GATEWAY_BUSY") {
      ++busy;
      if (std::chrono::steady_clock::now() - sent_at > Ms(1000)) ++busy_late;
    }
    final_reply.emplace(r->S("uuid"), *r);
  }
  INFO("GATEWAY_BUSY: " << busy);
  CHECK(busy >= kOrders - 150);
  CHECK(busy_late == 0);  // refused at once, not after waiting
  // Every admitted order is settled: FILLED, or rejected by the bridge as expired. None UNKNOWN:
  // the link was not cut, so every reply came back.
  int filled = 0, expired = 0;
  for (const auto& [uuid, r] : final_reply) {
    const std::string status = r.S("status");
    INFO("reply: " << r.raw());
    CHECK(status != "UNKNOWN");
    CHECK(status != "PENDING");
    if (status == "FILLED") {
      ++filled;
      std::lock_guard<std::mutex> l(mu);
      CHECK(r.Int("ticket") == executed[uuid]);
    } else if (r.S("error_code") == "RISK_SIGNATURE_INVALID") {
      ++expired;
    }
  }
  WARN("backlog: " << filled << " filled, " << expired << " expired at the bridge, " << busy
                   << " GATEWAY_BUSY at once");
  CHECK(filled >= 1);
  {
    std::lock_guard<std::mutex> l(mu);
    int executed_backlog = 0;
    for (const std::string& uuid : uuids) executed_backlog += executed.count(uuid) ? 1 : 0;
    CHECK(executed_backlog == filled);
  }
  for (const std::string& uuid : uuids) CHECK(bridge.Count("OPEN", uuid) <= 1);
  // The link is up and the gateway serves new orders at the bridge's pace.
  auto after = warm.CallJson(OpenBody(UniqueId("after")));
  REQUIRE(after);
  CHECK(after->S("status") == "FILLED");
}

TEST_CASE("A flood of relays cannot make orders expire in the bridge's queue", "[e2e]") {
  World w;
  std::atomic<int> relays_served{0};
  RepBridge bridge(w.ctx, [&](const Json& req) {
    const std::string action = req.S("action");
    if (action == "GET_ACCOUNT") {
      Sleep(1);
      ++relays_served;
      return Echo(req, R"("status":"ok","balance":1)");
    }
    if (action != "OPEN") return NoOrderStatus(req);
    if (!SignatureFresh(req, 5000)) {
      return Echo(req, R"("status":"REJECTED","error_code":"RISK_SIGNATURE_INVALID")");
    }
    static std::atomic<int64_t> ticket{1};
    return Filled(req, ticket++);
  });
  w.StartGateway({}, bridge.endpoint());
  REQUIRE(w.WaitBridge("up"));

  // 8 100 relays: 8 s of the bridge's time at 1 ms each. Nine clients with 900 each outstanding:
  // below the front end's per-connection reply bound (1 000), so every reply is delivered however
  // slowly a client reads (a client past it loses replies by design: another test's subject).
  constexpr int kClients = 9;
  constexpr int kPerClient = 900;
  constexpr int kRelays = kClients * kPerClient;
  std::atomic<int> busy{0}, answered{0};
  std::vector<std::thread> flooders;
  struct JoinAll {  // also when a REQUIRE below ends the test early
    std::vector<std::thread>& threads;
    ~JoinAll() {
      for (std::thread& t : threads) {
        if (t.joinable()) t.join();
      }
    }
  } join_all{flooders};
  for (int c = 0; c < kClients; ++c) {
    flooders.emplace_back([&] {
      DealerClient flood(w.ctx, w.gw_endpoint);
      for (int i = 0; i < kPerClient; ++i) {
        flood.Send(R"({"action":"GET_ACCOUNT","uuid":"acct"})");
      }
      for (int i = 0; i < kPerClient; ++i) {
        auto r = flood.RecvJson(Ms(15000));
        if (!r) break;
        if (r->S("error_code") == "GATEWAY_BUSY") ++busy;
        if (r->S("status") == "ok") ++answered;
      }
    });
  }
  Sleep(200);
  // The orders, sent into the flood as a strategy would: GATEWAY_BUSY (the bridge's queue holds
  // what it can serve within the TTL; under a loaded CI box its service time can reach ms per
  // relay) is a refusal at once and is retried under the same uuid. What must never happen is an
  // order admitted and then expired in the queue (RISK_SIGNATURE_INVALID), or one executed twice.
  DealerClient d(w.ctx, w.gw_endpoint);
  std::vector<std::string> uuids;
  for (int i = 0; i < 30; ++i) uuids.push_back(UniqueId("flooded"));
  std::vector<std::string> pending = uuids;
  int filled = 0, refused_busy = 0, rounds = 0;
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!pending.empty() && std::chrono::steady_clock::now() < give_up) {
    ++rounds;
    for (const std::string& uuid : pending) d.Send(OpenBody(uuid, 0.1, R"("timeout_ms":10000)"));
    std::vector<std::string> again;
    for (size_t i = 0; i < pending.size(); ++i) {
      auto r = d.RecvJson(Ms(12000));
      REQUIRE(r);
      INFO("reply: " << r->raw());
      CHECK(r->S("error_code") != "RISK_SIGNATURE_INVALID");
      if (r->S("status") == "FILLED") {
        ++filled;
      } else {
        REQUIRE(r->S("error_code") == "GATEWAY_BUSY");
        ++refused_busy;
        again.push_back(r->S("uuid"));
      }
    }
    pending = std::move(again);
    if (!pending.empty()) Sleep(50);
  }
  CHECK(filled == 30);
  for (const std::string& uuid : uuids) CHECK(bridge.Count("OPEN", uuid) == 1);
  WARN("orders: " << filled << " filled in " << rounds << " rounds, " << refused_busy
                  << " GATEWAY_BUSY refusals retried");
  for (std::thread& t : flooders) t.join();
  WARN("relays: " << answered << " answered, " << busy << " GATEWAY_BUSY");
  CHECK(busy > 0);
  CHECK(answered + busy == kRelays);
}
