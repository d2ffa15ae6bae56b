// ordergated: the daemon. Parses the configuration, starts the gateway and its HTTP endpoint, runs
// the loop until SIGTERM/SIGINT, then drains. Exceptions are caught here and only here.
//
// Shutdown, once the loop has drained (Gateway::Run returned), is bounded as a whole:
//  1. the HTTP endpoint is detached from the gateway (requests get 503 from then on);
//  2. the gateway is destroyed: sockets, then the store, whose LOCK is released, so that a
//     replacement ordergated can open the data directory; nothing here waits on an HTTP client;
//  3. the HTTP endpoint stops (every connection is woken and closed, see http_endpoint.h);
//  4. a watchdog exits the process kShutdownBound after the loop returned whatever is left,
//     logging what it abandoned: exit 0 if the store was closed by then, 1 otherwise.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "gateway/cli.h"
#include "gateway/gateway.h"
#include "gateway/http_endpoint.h"
#include "spdlog/spdlog.h"

namespace {

constexpr std::chrono::milliseconds kShutdownBound{5000};

std::atomic<ordergate::gateway::Gateway*> g_gateway{nullptr};

extern "C" void OnSignal(int) {
  // A lock-free atomic load is async-signal-safe; Stop() is too (gateway.h).
  if (auto* gw = g_gateway.load(); gw != nullptr) gw->Stop();
}

// Exits the process when the shutdown after the loop takes longer than its bound.
class ShutdownWatchdog {
 public:
  explicit ShutdownWatchdog(std::chrono::milliseconds bound)
      : thread_([this, bound] { Watch(bound); }) {}
  ~ShutdownWatchdog() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  ShutdownWatchdog(const ShutdownWatchdog&) = delete;
  ShutdownWatchdog& operator=(const ShutdownWatchdog&) = delete;

  // What the shutdown is doing now (a string literal), for the log line if it is abandoned.
  void Phase(const char* what) {
    std::lock_guard<std::mutex> l(mu_);
    phase_ = what;
  }
  void StoreClosed() {
    std::lock_guard<std::mutex> l(mu_);
    store_closed_ = true;
  }

 private:
  void Watch(std::chrono::milliseconds bound) {
    std::unique_lock<std::mutex> l(mu_);
    if (cv_.wait_for(l, bound, [this] { return done_; })) return;
    spdlog::error(
        "shutdown still {} {} ms after the order loop returned: exiting anyway, abandoning it "
        "(store {})",
        phase_, bound.count(), store_closed_ ? "closed" : "NOT closed: its WAL recovers it");
    spdlog::default_logger()->flush();
    std::fflush(stdout);
    std::_Exit(store_closed_ ? 0 : 1);
  }

  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  bool store_closed_ = false;
  const char* phase_ = "starting";
  std::thread thread_;  // last: starts after the members it reads
};

int Main(int argc, char** argv) {
  using namespace ordergate::gateway;
  auto cli = ParseCommandLine(argc, argv);
  if (!cli.ok()) {
    std::fprintf(stderr, "ordergated: refusing to start: %s\n",
                 std::string(cli.status().message()).c_str());
    return 2;
  }
  if (cli->help) {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  const GatewayConfig& cfg = cli->config;
  if (absl::Status valid = ValidateConfig(cfg); !valid.ok()) {
    std::fprintf(stderr, "ordergated: refusing to start: %s\n",
                 std::string(valid.message()).c_str());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%fZ %^%l%$ %v", spdlog::pattern_time_type::utc);

  auto gw = Gateway::Start(cfg);
  if (!gw.ok()) {
    std::fprintf(stderr, "ordergated: cannot start: %s\n",
                 std::string(gw.status().message()).c_str());
    return 1;
  }
  std::unique_ptr<HttpEndpoint> http;
  int http_port = 0;
  if (!cfg.metrics_listen.empty()) {
    // A metrics address that cannot be bound is a misconfiguration (typically a second gateway on
    // the same one, whose scrapes would then answer for either): refuse to start.
    auto ep = HttpEndpoint::Start(cfg.metrics_listen, **gw);
    if (!ep.ok()) {
      std::fprintf(stderr,
                   "ordergated: refusing to start: %s (another ordergated may serve it: give this "
                   "one its own --metrics-listen, or \"\" for none)\n",
                   std::string(ep.status().message()).c_str());
      return 1;
    }
    http = std::move(*ep);
    http_port = http->port();
  }
  g_gateway.store(gw->get());
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // One machine-readable line for scripts and tests: they wait for it before sending.
  std::printf("ordergated ready listen=%s metrics_port=%d durability=%s data_dir=%s\n",
              (*gw)->front_endpoint().c_str(), http_port,
              std::string(DurabilityName(cfg.durability)).c_str(), cfg.data_dir.c_str());
  std::fflush(stdout);
  spdlog::info("ordergated {} listening on {}, bridge {}, durability {}", "0.1.0",
               (*gw)->front_endpoint(), cfg.bridge, std::string(DurabilityName(cfg.durability)));

  absl::Status ran = (*gw)->Run();
  // Later signals find no gateway: the shutdown below is bounded on its own.
  g_gateway.store(nullptr);
  {
    ShutdownWatchdog watchdog(kShutdownBound);
    watchdog.Phase("closing the gateway and its store");
    if (http) http->Detach();
    gw->reset();  // closes sockets, then the context, then the store (its LOCK)
    watchdog.StoreClosed();
    if (http) {
      watchdog.Phase("stopping the HTTP endpoint");
      if (!http->Shutdown(absl::FromChrono(kShutdownBound))) {
        spdlog::error("HTTP endpoint did not stop: abandoning {} open connection(s)",
                      http->open_connections());
      }
      http.reset();
    }
  }
  if (!ran.ok()) {
    std::fprintf(stderr, "ordergated: loop failed: %s\n", std::string(ran.message()).c_str());
    return 1;
  }
  spdlog::info("ordergated stopped cleanly");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ordergated: fatal: %s\n", e.what());
    return 1;
  }
}
