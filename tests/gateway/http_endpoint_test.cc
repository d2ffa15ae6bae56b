// HttpEndpoint over real sockets: an address in use is refused (no SO_REUSEPORT sharing), a slow
// client is closed at its connection budget and never holds Shutdown(), and a detached endpoint
// answers without the gateway.
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
#include <string>
#include <vector>

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
