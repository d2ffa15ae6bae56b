// Issue 9, finding 6: clients must not exhaust ordergated's memory or descriptors. These run the
// gateway with its default front-end limits (FrontEndOptions in transport/front_end.h) and check
// them from outside, as the probe did: VmRSS of the real process, refused connections, and the
// bridge link reconnecting while the front end is full.
#include <sys/resource.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "e2e_util.h"

namespace e2e {
namespace {

// What 32 clients that never read may add to ordergated's memory (measured: +13 MB). Under ASan
// (the sanitizer pass builds ordergated with it too) the allocator pads every block and keeps freed
// memory in its quarantine (256 MiB by default), so the bound is scaled, not dropped: still far
// below the unbounded queues of before (+1.8 GB).
#if defined(__SANITIZE_ADDRESS__)
constexpr int64_t kRssBoundKib = 512 * 1024;
#else
constexpr int64_t kRssBoundKib = 64 * 1024;
#endif

// FrontEndOptions::max_connections, the default cap ordergated runs with.
constexpr int kDefaultMaxConnections = 512;

// VmRSS of `pid` in KiB; 0 when unreadable.
int64_t RssKib(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return 0;
}

// A counter from /metrics; nullopt when absent or the endpoint does not answer.
std::optional<uint64_t> Metric(int port, const std::string& name) {
  const auto [code, body] = HttpGet(port, "/metrics");
  if (code != 200) return std::nullopt;
  const std::string key = "\n" + name + " ";
  const size_t at = body.find(key);
  if (at == std::string::npos) return std::nullopt;
  return std::stoull(body.substr(at + key.size()));
}

// This test process opens hundreds of sockets (a TCP descriptor and a mailbox each).
void RaiseOwnDescriptorLimit() {
  rlimit lim{};
  REQUIRE(getrlimit(RLIMIT_NOFILE, &lim) == 0);
  lim.rlim_cur = lim.rlim_max;
  REQUIRE(setrlimit(RLIMIT_NOFILE, &lim) == 0);
  REQUIRE(lim.rlim_cur >= 4096);
}

zmq::socket_t Dealer(zmq::context_t& ctx, const std::string& endpoint) {
  zmq::socket_t s(ctx, zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint);
  return s;
}

std::optional<Json> OpenAndWait(DealerClient& client, const std::string& uuid) {
  client.Send(OpenBody(uuid));
  const auto deadline = std::chrono::steady_clock::now() + Ms(10000);
  while (std::chrono::steady_clock::now() < deadline) {
    auto reply = client.RecvJson(Ms(1000));
    if (reply && reply->S("uuid") == uuid) return reply;
  }
  return std::nullopt;
}

TEST_CASE(
    "32 DEALERs that send PINGs and never read leave ordergated's memory bounded, and it "
    "serves orders meanwhile and afterwards",
    "[e2e][limits]") {
  World w;
  w.Start();
  REQUIRE(w.metrics_port > 0);
  DealerClient orders(w.ctx, w.gw_endpoint);
  auto warm = OpenAndWait(orders, UniqueId("warm"));
  REQUIRE(warm);
  REQUIRE(warm->S("status") == "FILLED");
  const pid_t pid = w.gw->pid();
  const int64_t baseline_kib = RssKib(pid);
  REQUIRE(baseline_kib > 0);
  const uint64_t requests_before = Metric(w.metrics_port, "ordergate_requests_total").value_or(0);

  // Clients that read nothing and keep their own buffers small, so that what the gateway answers
  // stays on the gateway's side: 50 000 PINGs each (~230-byte replies, 11 MB per client). Before
  // the fix the gateway queued up to 100 000 replies per client: 25 -> 537 MB.
  constexpr int kClients = 32;
  constexpr int kPingsEach = 50000;
  std::vector<zmq::socket_t> flooders;
  for (int i = 0; i < kClients; ++i) {
    zmq::socket_t s(w.ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.set(zmq::sockopt::rcvbuf, 4096);
    s.set(zmq::sockopt::rcvhwm, 1);
    s.set(zmq::sockopt::sndtimeo, 2000);
    s.connect(w.gw_endpoint);
    flooders.push_back(std::move(s));
  }
  const std::string ping = PingBody();
  int64_t peak_kib = baseline_kib;
  int send_timeouts = 0;
  for (int n = 0; n < kPingsEach && send_timeouts == 0; ++n) {
    for (zmq::socket_t& s : flooders) {
      if (!s.send(zmq::str_buffer(""), zmq::send_flags::sndmore) ||
          !s.send(zmq::buffer(ping), zmq::send_flags::none)) {
        ++send_timeouts;
      }
    }
    if (n % 5000 == 0) peak_kib = std::max(peak_kib, RssKib(pid));
  }
  CHECK(send_timeouts == 0);  // the gateway kept reading
  // An order from a reading client is served while the flood is answered.
  auto during = OpenAndWait(orders, UniqueId("during"));
  REQUIRE(during);
  CHECK(during->S("status") == "FILLED");

  // Until the gateway has read every PING (bounded), watching its memory.
  const uint64_t want = requests_before + uint64_t{kClients} * kPingsEach;
  const auto deadline = std::chrono::steady_clock::now() + Ms(20000);
  uint64_t seen = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    peak_kib = std::max(peak_kib, RssKib(pid));
    seen = Metric(w.metrics_port, "ordergate_requests_total").value_or(0);
    if (seen >= want) break;
    std::this_thread::sleep_for(Ms(100));
  }
  CHECK(seen >= want);
  peak_kib = std::max(peak_kib, RssKib(pid));
  INFO("RSS baseline " << baseline_kib / 1024 << " MiB, peak " << peak_kib / 1024 << " MiB");
  // send_hwm (1000) replies per client of ~0.5 KB with the queue's overhead: ~16 MB for 32, and
  // fixed 64 KiB kernel buffers. Measured: +13 MB.
  CHECK(peak_kib - baseline_kib < kRssBoundKib);

  flooders.clear();
  std::this_thread::sleep_for(Ms(500));
  const int64_t after_kib = RssKib(pid);
  INFO("RSS after the clients left " << after_kib / 1024 << " MiB");
  CHECK(after_kib - baseline_kib < kRssBoundKib);
  auto after = OpenAndWait(orders, UniqueId("after"));
  REQUIRE(after);
  CHECK(after->S("status") == "FILLED");
}

TEST_CASE(
    "Connections beyond the default cap are refused while an existing client gets FILLED and "
    "the bridge link survives a bridge restart",
    "[e2e][limits]") {
  RaiseOwnDescriptorLimit();
  World w;
  w.Start();
  DealerClient existing(w.ctx, w.gw_endpoint);
  auto first = OpenAndWait(existing, UniqueId("first"));
  REQUIRE(first);
  REQUIRE(first->S("status") == "FILLED");

  // 100 more connections than the cap leaves, each sending one PING without waiting.
  constexpr int kExtra = 100;
  const int attempts = kDefaultMaxConnections - 1 + kExtra;
  std::vector<zmq::socket_t> clients;
  clients.reserve(static_cast<size_t>(attempts));
  for (int i = 0; i < attempts; ++i) {
    clients.push_back(Dealer(w.ctx, w.gw_endpoint));
    REQUIRE(clients.back().send(zmq::str_buffer(""), zmq::send_flags::sndmore));
    REQUIRE(clients.back().send(zmq::buffer(PingBody()), zmq::send_flags::none));
  }
  std::vector<bool> answered(clients.size(), false);
  int answered_count = 0;
  const auto deadline = std::chrono::steady_clock::now() + Ms(5000);
  std::vector<zmq::pollitem_t> items;
  for (auto& c : clients) items.push_back({c.handle(), 0, ZMQ_POLLIN, 0});
  while (std::chrono::steady_clock::now() < deadline && answered_count < attempts) {
    zmq::poll(items, std::chrono::milliseconds(100));
    for (size_t i = 0; i < clients.size(); ++i) {
      if (!(items[i].revents & ZMQ_POLLIN)) continue;
      zmq::message_t frame;
      while (clients[i].recv(frame, zmq::recv_flags::dontwait)) {
        if (!frame.more() && !answered[i]) {
          answered[i] = true;
          ++answered_count;
        }
      }
    }
  }
  INFO("answered " << answered_count << " of " << attempts);
  // The existing client holds one of the cap's connections. When two handshakes cross, the guard
  // can attribute their verdicts to each other and admit one more until that one closes
  // (transport/connection_guard.h: never fewer than the cap); under a sanitizer's slowdown a few
  // such crossings happen in a burst of 611.
  constexpr int kCrossingSlack = 8;
  CHECK(answered_count >= kDefaultMaxConnections - 1);
  CHECK(answered_count <= kDefaultMaxConnections - 1 + kCrossingSlack);

  // The existing client is still served, and so is /healthz.
  auto second = OpenAndWait(existing, UniqueId("second"));
  REQUIRE(second);
  CHECK(second->S("status") == "FILLED");
  CHECK(HttpGet(w.metrics_port, "/healthz").first == 200);

  // The bridge restarts on the same endpoint: the link must find a descriptor and reconnect.
  const std::string bridge = w.sim_endpoint;
  w.sim->Signal(SIGKILL);
  REQUIRE(w.sim->Wait(Ms(5000)));
  w.StartSim({}, bridge);
  bool up = false;
  const auto up_deadline = std::chrono::steady_clock::now() + Ms(10000);
  while (!up && std::chrono::steady_clock::now() < up_deadline) {
    existing.Send(PingBody());
    auto r = existing.RecvJson(Ms(1000));
    up = r && r->S("gateway.bridge") == "up";
    if (!up) std::this_thread::sleep_for(Ms(100));
  }
  REQUIRE(up);
  auto third = OpenAndWait(existing, UniqueId("third"));
  REQUIRE(third);
  CHECK(third->S("status") == "FILLED");

  // When admitted clients leave, new connections are admitted again.
  for (size_t i = 0; i < clients.size(); ++i) {
    if (answered[i]) clients[i].close();
  }
  std::this_thread::sleep_for(Ms(300));
  DealerClient newcomer(w.ctx, w.gw_endpoint);
  auto fourth = OpenAndWait(newcomer, UniqueId("fourth"));
  REQUIRE(fourth);
  CHECK(fourth->S("status") == "FILLED");
}

}  // namespace
}  // namespace e2e
