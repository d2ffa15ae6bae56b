// End to end, a real ordergated: out-of-range settings refuse to start naming the range (issue 9,
// item 8); slow HTTP clients do not hold SIGTERM and the data directory is free at once after the
// exit (issue 9, item 7); a second gateway on the same metrics address refuses to start (issue 10,
// item 2).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "e2e_checks.h"
#include "e2e_util.h"

using namespace e2e;

namespace {

using Clock = std::chrono::steady_clock;

// Starts ordergated with `extra` flags that must make it refuse to start; REQUIREs it exits with
// code 2 before printing its ready line, and returns its stderr.
std::string RefusedStart(const std::vector<std::string>& extra) {
  TempDir dir;
  std::vector<std::string> args = {"--listen",          "tcp://127.0.0.1:*", "--bridge",
                                   "tcp://127.0.0.1:1", "--data-dir",        dir.File("data"),
                                   "--metrics-listen",  "127.0.0.1:0"};
  args.insert(args.end(), extra.begin(), extra.end());
  Process gw(BinDir() + "/ordergated", args, dir.File("gw.stderr"));
  auto st = gw.Wait(Ms(15000));
  INFO("stderr: " << gw.Stderr());
  REQUIRE(st.has_value());
  CHECK(Process::Decode(*st) == 2);
  CheckNeverReady(gw);
  return gw.Stderr();
}

int ConnectLoopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A slow-loris HTTP client: sends the start of a request, then one header byte every `every`,
// never finishing it; when the server closes the connection it connects again. Stops when told
// or at `give_up`.
class SlowLoris {
 public:
  SlowLoris(int port, Ms every, Clock::time_point give_up)
      : thread_([this, port, every, give_up] { Run(port, every, give_up); }) {}
  ~SlowLoris() {
    stop_ = true;
    thread_.join();
  }
  int connections() const { return connections_.load(); }
  bool dribbling() const { return dribbling_.load(); }

 private:
  void Run(int port, Ms every, Clock::time_point give_up) {
    const std::string head = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    while (!stop_ && Clock::now() < give_up) {
      const int fd = ConnectLoopback(port);
      if (fd < 0) {
        std::this_thread::sleep_for(Ms(100));
        continue;
      }
      ++connections_;
      bool open =
          ::send(fd, head.data(), head.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(head.size());
      while (open && !stop_ && Clock::now() < give_up) {
        dribbling_ = true;
        for (Ms slept(0); slept < every && !stop_; slept += Ms(50)) {
          std::this_thread::sleep_for(Ms(50));
        }
        // A server that gave up on us closes the connection (it never answers half a request).
        pollfd p{fd, POLLIN, 0};
        char buf[256];
        if (::poll(&p, 1, 0) > 0 && ::recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0) break;
        open = ::send(fd, "a", 1, MSG_NOSIGNAL) == 1;
      }
      ::close(fd);
    }
  }

  std::atomic<bool> stop_{false};
  std::atomic<bool> dribbling_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace

TEST_CASE(
    "ordergated refuses to start on a setting that overflows or leaves its range, naming the "
    "setting, the value and the range",
    "[e2e]") {
  std::string err = RefusedStart({"--bridge-timeout-ms", "9223372036854775807"});
  CHECK(err.find("bridge_timeout_ms (9223372036854775807)") != std::string::npos);
  CHECK(err.find("1..600000") != std::string::npos);

  err = RefusedStart({"--listen", "tcp://127.0.0.1:99999"});
  CHECK(err.find("tcp://127.0.0.1:99999") != std::string::npos);
  CHECK(err.find("PORT 1..65535") != std::string::npos);

  err = RefusedStart({"--retention", "0.0000001s"});
  CHECK(err.find("retention (\"0.0000001s\")") != std::string::npos);
  CHECK(err.find("1s..3650d") != std::string::npos);

  err = RefusedStart({"--max-volume", "1e-320"});
  CHECK(err.find("max_volume") != std::string::npos);
  CHECK(err.find("0.000001..1000000") != std::string::npos);

  // The old default 1024 is past the real bridge's receive HWM (1000): the link would be dropped.
  err = RefusedStart({"--bridge-max-in-flight", "1024"});
  CHECK(err.find("bridge_max_in_flight (1024) must be below bridge_receive_hwm (1000)") !=
        std::string::npos);
}

TEST_CASE(
    "SIGTERM with 20 slow-loris HTTP clients dribbling a header byte every 2 s exits 0 within "
    "10 s, and a second ordergated opens the same data directory right after",
    "[e2e]") {
  World w;
  w.Start();
  REQUIRE(w.metrics_port > 0);
  ReqClient c(w.ctx, w.gw_endpoint);
  const std::string uuid = UniqueId("loris");
  auto filled = c.CallJson(OpenBody(uuid));
  REQUIRE(filled);
  REQUIRE(filled->S("status") == "FILLED");

  const auto give_up = Clock::now() + std::chrono::seconds(40);
  std::vector<std::unique_ptr<SlowLoris>> lorises;
  for (int i = 0; i < 20; ++i) {
    lorises.push_back(std::make_unique<SlowLoris>(w.metrics_port, Ms(2000), give_up));
  }
  // Every client connected and past its first byte, so every HTTP worker is taken.
  std::this_thread::sleep_for(Ms(2500));
  int connected = 0;
  for (const auto& l : lorises) connected += l->dribbling() ? 1 : 0;
  REQUIRE(connected == 20);

  const auto sigterm_at = Clock::now();
  REQUIRE(w.gw->Signal(SIGTERM));
  auto st = w.gw->Wait(Ms(10000));
  const auto exit_ms = std::chrono::duration_cast<Ms>(Clock::now() - sigterm_at).count();
  INFO("ordergated stderr:\n" << w.gw->Stderr());
  REQUIRE(st.has_value());  // before the fix it was still waiting on its HTTP clients
  CHECK(Process::Decode(*st) == 0);
  CHECK(exit_ms < 10000);

  // The store is closed and the directory free while the slow clients still try: a replacement
  // starts at once on it and answers the earlier order from the store.
  w.StartGatewayLinked({});
  ReqClient again(w.ctx, w.gw_endpoint);
  auto dup = again.CallJson(OpenBody(uuid));
  REQUIRE(dup);
  CHECK(dup->S("status") == "FILLED");
  CHECK(dup->Bool("duplicate") == true);
  lorises.clear();
  CHECK(RequireAtMostOnce(w).Count(uuid) == 1);
}

TEST_CASE(
    "a second ordergated on the metrics address of a running one refuses to start naming the "
    "address, and scrapes keep reaching the first",
    "[e2e]") {
  World w;
  w.Start();
  REQUIRE(w.metrics_port > 0);
  const std::string address = "127.0.0.1:" + std::to_string(w.metrics_port);
  ReqClient c(w.ctx, w.gw_endpoint);
  for (int i = 0; i < 3; ++i) REQUIRE(c.CallJson(PingBody()));

  TempDir other;
  Process second(BinDir() + "/ordergated",
                 {"--listen", "tcp://127.0.0.1:*", "--bridge", w.sim_endpoint, "--data-dir",
                  other.File("data"), "--metrics-listen", address, "--log-level", "warn"},
                 other.File("gw.stderr"));
  auto st = second.Wait(Ms(15000));
  INFO("second ordergated stderr:\n" << second.Stderr());
  REQUIRE(st.has_value());  // before the fix it printed ready and shared the port
  CHECK(Process::Decode(*st) == 1);
  CHECK(second.Stderr().find("cannot bind metrics address " + address) != std::string::npos);
  CheckNeverReady(second);

  // Every scrape is the first gateway's (before the fix they alternated, one side counting 0).
  for (int i = 0; i < 10; ++i) {
    const auto m = HttpGet(w.metrics_port, "/metrics");
    REQUIRE(m.first == 200);
    CHECK(MetricValue(m.second, "ordergate_requests_total") >= 3);
  }
}
