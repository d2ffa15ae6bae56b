// HttpEndpoint over real sockets: an address in use is refused (no SO_REUSEPORT sharing), a slow
// client is closed at its connection budget and never holds Shutdown(), a detached endpoint
// answers without the gateway, /readyz is 503 while the bridge is down, and /metrics exports every
// counter, the bridge gauges and the build info.
#include "gateway/http_endpoint.h"

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gateway/build_info.h"
#include "pipeline_util.h"

using og::gateway::HttpEndpoint;
using pipeline_util::TempDir;
using pipeline_util::TestConfig;
using Clock = std::chrono::steady_clock;

namespace {

// A gateway that is started but not run (the endpoint only reads its atomics); its bridge is never
// reached.
std::unique_ptr<og::gateway::Gateway> IdleGateway(const std::string& dir) {
  auto gw = og::gateway::Gateway::Start(TestConfig("tcp://127.0.0.1:1", dir));
  REQUIRE(gw.ok());
  return std::move(*gw);
}

// A raw connection that sent the start of a request and never finishes it.
int SlowClient(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const std::string head = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  REQUIRE(::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size()));
  return fd;
}

// True when the server closed `fd` (EOF or reset) within `limit`, the client sending one more
// header byte every 500 ms meanwhile (each within cpp-httplib's 5 s read timeout).
bool ClosedByServerWithin(int fd, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 500) > 0) {
      char buf[256];
      if (::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) return true;
    }
    if (::send(fd, "a", 1, MSG_NOSIGNAL) != 1) return true;
  }
  return false;
}

}  // namespace

TEST_CASE(
    "a second HTTP endpoint on an address already served is refused, naming the address and "
    "the reason",
    "[gateway]") {
  auto gw = IdleGateway(TempDir("http-twice"));
  auto first = HttpEndpoint::Start("127.0.0.1:0", *gw);
  REQUIRE(first.ok());
  const std::string address = "127.0.0.1:" + std::to_string((*first)->port());
  auto second = HttpEndpoint::Start(address, *gw);
  REQUIRE_FALSE(second.ok());
  CHECK(second.status().code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(
      std::string(second.status().message()),
      Catch::Contains("cannot bind metrics address " + address) && Catch::Contains("in use"));
  // The first still answers.
  httplib::Client client("127.0.0.1", (*first)->port());
  auto res = client.Get("/healthz");
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK_FALSE(HttpEndpoint::Start("127.0.0.1:70000", *gw).ok());
}

TEST_CASE(
    "a client dribbling its request is closed at the connection budget, and Shutdown returns at "
    "once with 20 of them connected",
    "[gateway]") {
  auto gw = IdleGateway(TempDir("http-loris"));
  {
    auto ep = HttpEndpoint::Start("127.0.0.1:0", *gw);
    REQUIRE(ep.ok());
    const int fd = SlowClient((*ep)->port());
    const auto budget =
        std::chrono::duration_cast<std::chrono::milliseconds>(HttpEndpoint::kConnectionBudget);
    CHECK(ClosedByServerWithin(fd, budget + std::chrono::milliseconds(2000)));
    ::close(fd);
  }
  auto ep = HttpEndpoint::Start("127.0.0.1:0", *gw);
  REQUIRE(ep.ok());
  std::vector<int> fds;
  for (int i = 0; i < 20; ++i) fds.push_back(SlowClient((*ep)->port()));
  REQUIRE(pipeline_util::Eventually([&] { return (*ep)->open_connections() == 20; }));
  const auto t0 = Clock::now();
  (*ep)->Detach();
  CHECK((*ep)->Shutdown(absl::Seconds(3)));
  CHECK(Clock::now() - t0 < std::chrono::seconds(1));
  CHECK((*ep)->open_connections() == 0);
  for (int fd : fds) {
    CHECK(ClosedByServerWithin(fd, std::chrono::milliseconds(1000)));
    ::close(fd);
  }
}

TEST_CASE(
    "after Detach the endpoint answers without reading the gateway, which may then be destroyed",
    "[gateway]") {
  auto gw = IdleGateway(TempDir("http-detach"));
  auto ep = HttpEndpoint::Start("127.0.0.1:0", *gw);
  REQUIRE(ep.ok());
  httplib::Client client("127.0.0.1", (*ep)->port());
  auto before = client.Get("/metrics");
  REQUIRE(before);
  CHECK(before->status == 200);
  (*ep)->Detach();
  gw.reset();
  for (const char* path : {"/readyz", "/metrics", "/latency"}) {
    auto res = client.Get(path);
    REQUIRE(res);
    CHECK(res->status == 503);
    CHECK_THAT(res->body, Catch::Contains("\"stopping\":true"));
  }
  auto health = client.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);
}

namespace {

// The value of the unlabelled sample `name` in a /metrics text, or nullopt when absent.
std::optional<std::string> Sample(const std::string& metrics, const std::string& name) {
  const std::string needle = "\n" + name + " ";
  const size_t at = metrics.find(needle);
  if (at == std::string::npos) return std::nullopt;
  const size_t start = at + needle.size();
  return metrics.substr(start, metrics.find('\n', start) - start);
}

double SampleValue(const std::string& metrics, const std::string& name) {
  const auto text = Sample(metrics, name);
  REQUIRE(text.has_value());
  return std::stod(*text);
}

}  // namespace

TEST_CASE(
    "with the bridge unreachable /readyz answers 503 saying the bridge is down and that it never "
    "answered, and /metrics shows it down with a NaN reply age",
    "[gateway]") {
  const std::string dir = TempDir("http-bridge-down");
  pipeline_util::RunningGateway gw(TestConfig("tcp://127.0.0.1:1", dir));
  REQUIRE(pipeline_util::Eventually([&] { return gw->ready(); }));
  REQUIRE_FALSE(gw->bridge_up());
  auto ep = HttpEndpoint::Start("127.0.0.1:0", *gw);
  REQUIRE(ep.ok());
  httplib::Client client("127.0.0.1", (*ep)->port());
  auto ready = client.Get("/readyz");
  REQUIRE(ready);
  CHECK(ready->status == 503);
  CHECK(ready->body ==
        "{\"ready\":false,\"serving\":true,\"bridge\":\"down\",\"bridge_last_reply_age_seconds\":"
        "null,\"reason\":\"bridge down: orders get BRIDGE_DOWN until it answers\"}\n");
  auto metrics = client.Get("/metrics");
  REQUIRE(metrics);
  INFO(metrics->body);
  CHECK(Sample(metrics->body, "ordergate_bridge_up") == "0");
  CHECK(Sample(metrics->body, "ordergate_bridge_last_reply_age_seconds") == "NaN");
  CHECK(Sample(metrics->body, "ordergate_ready") == "1");
  CHECK(Sample(metrics->body, "ordergate_busy_bridge_capacity_total") == "0");
  CHECK(Sample(metrics->body, "ordergate_bridge_service_seconds") == "0");
  CHECK(Sample(metrics->body, "ordergate_bridge_capacity_requests").has_value());
}

TEST_CASE(
    "once the bridge has answered /readyz answers 200 and the reply-age gauge counts the seconds "
    "since that reply; /metrics exports every counter, the bridge gauges and the build info",
    "[gateway]") {
  const std::string dir = TempDir("http-bridge-up");
  pipeline_util::ScriptedBridge bridge([](const pipeline_util::BridgeRequest& r) {
    return std::optional<std::string>(pipeline_util::ScriptedBridge::Filled(r.uuid, 7));
  });
  pipeline_util::RunningGateway gw(TestConfig(bridge.endpoint(), dir));
  REQUIRE(pipeline_util::Eventually([&] { return gw->ready() && gw->bridge_up(); }));
  auto ep = HttpEndpoint::Start("127.0.0.1:0", *gw);
  REQUIRE(ep.ok());
  httplib::Client client("127.0.0.1", (*ep)->port());

  pipeline_util::Strategy strategy(gw.endpoint());
  auto reply = strategy.Call(pipeline_util::Open("http-up-1"));
  REQUIRE(reply["status"] == "FILLED");

  auto ready = client.Get("/readyz");
  REQUIRE(ready);
  INFO(ready->body);
  CHECK(ready->status == 200);
  CHECK_THAT(ready->body, Catch::StartsWith("{\"ready\":true,\"serving\":true,\"bridge\":\"up\","
                                            "\"bridge_last_reply_age_seconds\":"));
  CHECK_THAT(ready->body, !Catch::Contains("reason") && !Catch::Contains("null"));

  auto first = client.Get("/metrics");
  REQUIRE(first);
  const double age = SampleValue(first->body, "ordergate_bridge_last_reply_age_seconds");
  CHECK(age >= 0);
  CHECK(age < 5);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto later = client.Get("/metrics");
  REQUIRE(later);
  INFO(later->body);
  CHECK(SampleValue(later->body, "ordergate_bridge_last_reply_age_seconds") >= age + 0.25);
  CHECK(SampleValue(later->body, "ordergate_bridge_up") == 1);
  CHECK(SampleValue(later->body, "ordergate_bridge_service_seconds") > 0);
  CHECK(SampleValue(later->body, "ordergate_bridge_capacity_requests") >= 1);
  CHECK(SampleValue(later->body, "ordergate_orders_total{outcome=\"filled\"}") == 1);
  // Every GatewayCounters field (the build checks the count against the struct's size).
  for (const char* counter :
       {"ordergate_requests_total", "ordergate_orders_submitted_total",
        "ordergate_orders_total{outcome=\"filled\"}",
        "ordergate_orders_total{outcome=\"rejected\"}",
        "ordergate_orders_total{outcome=\"unknown\"}", "ordergate_unknown_resolved_total",
        "ordergate_duplicate_replies_total", "ordergate_idempotency_conflicts_total",
        "ordergate_denied_total", "ordergate_store_unavailable_total",
        "ordergate_pending_replies_total", "ordergate_relays_total",
        "ordergate_relay_timeouts_total", "ordergate_dropped_frames_total",
        "ordergate_store_batches_total", "ordergate_recovered_unknown_orders",
        "ordergate_bridge_anomalies_total", "ordergate_busy_bridge_capacity_total"}) {
    INFO(counter);
    CHECK(Sample(later->body, counter).has_value());
  }
  const std::string build_info = "\nordergate_build_info{version=\"" +
                                 std::string(og::gateway::BuildVersion()) + "\",commit=\"" +
                                 std::string(og::gateway::BuildCommit()) + "\"} 1\n";
  CHECK_THAT(later->body, Catch::Contains(build_info));
  CHECK_FALSE(og::gateway::BuildVersion().empty());
  CHECK_FALSE(og::gateway::BuildCommit().empty());
}
