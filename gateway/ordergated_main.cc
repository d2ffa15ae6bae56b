// ordergated: the daemon. Parses the configuration, starts the gateway and its HTTP endpoint, runs
// the loop until SIGTERM/SIGINT, then drains. Exceptions are caught here and only here.
//
// Output: stdout has one machine-readable line once the gateway serves,
//   ordergated ready listen=ENDPOINT metrics_port=N durability=D data_dir=DIR bridge=up|down
// (scripts and tests wait for it and read its fields by name); every log line goes to stderr in the
// one format of ordergate's programs (transport/log_format.h). A bridge that is down at start does
// not stop the start: the gateway answers BRIDGE_DOWN, /readyz says 503 "bridge down", a warning
// says so, and the link joins when the bridge comes up (logged with how long it was down).
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
#include <string_view>
#include <thread>

#include "gateway/build_info.h"
#include "gateway/cli.h"
#include "gateway/front_end_security.h"
#include "gateway/gateway.h"
#include "gateway/http_endpoint.h"
#include "gateway/limits_file.h"
#include "spdlog/spdlog.h"
#include "transport/log_format.h"

namespace {

constexpr std::chrono::milliseconds kShutdownBound{5000};
// How long the ready line waits for the bridge link after the loop started, so that it says where
// the bridge stands (a TCP + ZMTP handshake: well under a millisecond on loopback, a few round
// trips to a remote MT5 host). Only a bridge that is down delays the line by this much.
constexpr std::chrono::milliseconds kBridgeGrace{1000};
// The exit status when the shared guard's lease was lost (sysexits.h's EX_TEMPFAIL): not a crash,
// a fenced gateway that drained and wants a new process (a fresh lease, its orders recovered).
constexpr int kExitLeaseLost = 75;

std::atomic<ordergate::gateway::Gateway*> g_gateway{nullptr};
// SIGHUP: reload the pre-trade limits and the CURVE allowlist. The handler only sets this;
// LimitsReloader reads the files on its own thread and hands them over (Gateway::ReplaceLimits,
// Gateway::ReplaceCurveClients).
std::atomic<bool> g_reload_limits{false};

extern "C" void OnSignal(int) {
  // A lock-free atomic load is async-signal-safe; Stop() is too (gateway.h).
  if (auto* gw = g_gateway.load(); gw != nullptr) gw->Stop();
}

extern "C" void OnReloadSignal(int) { g_reload_limits.store(true); }

// Reloads at each SIGHUP the limits (gateway/limits_file.h) and, with CURVE, the allowlist (every
// certificate of curve_clients_dir, gateway/front_end_security.h): polls the handler's flag every
// 50 ms, reads the files on this thread, never on the loop's or in the handler. Each is reloaded
// on its own: a limits file that does not load keeps the limits in force, a directory or
// certificate that does not keeps the allowlist in force, and each says why. Nothing else of the
// configuration is reloaded (curve_clients_dir names the same directory as at start).
class LimitsReloader {
 public:
  LimitsReloader(std::string path, const ordergate::gateway::GatewayConfig& cfg,
                 const ordergate::gateway::Gateway& gw)
      : path_(std::move(path)), cfg_(cfg), gw_(gw), thread_([this] { Watch(); }) {}
  ~LimitsReloader() {
    stop_.store(true);
    thread_.join();
  }
  LimitsReloader(const LimitsReloader&) = delete;
  LimitsReloader& operator=(const LimitsReloader&) = delete;

 private:
  void Watch() {
    while (!stop_.load()) {
      if (g_reload_limits.exchange(false)) {
        (void)ordergate::gateway::ReloadCurveAllowlist(cfg_, gw_);  // logs its outcome
        Reload();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
  void Reload() {
    if (path_.empty()) {
      spdlog::warn("SIGHUP: no --config file, so no limits to reload");
      return;
    }
    auto table = ordergate::gateway::LoadLimitsFile(path_);
    if (!table.ok()) {
      spdlog::error("SIGHUP: limits not reloaded, the current ones stay in force: {}",
                    std::string(table.status().message()));
      return;
    }
    spdlog::info("SIGHUP: limits reloaded from {} ({} named client(s))", path_,
                 table->by_identity.size());
    gw_.ReplaceLimits(*std::move(table));
  }

  const std::string path_;
  const ordergate::gateway::GatewayConfig& cfg_;
  const ordergate::gateway::Gateway& gw_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts after the members it reads
};

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
  if (cli->version) {
    std::fputs(VersionText().c_str(), stdout);
    return 0;
  }
  const GatewayConfig& cfg = cli->config;
  if (absl::Status valid = ValidateConfig(cfg); !valid.ok()) {
    std::fprintf(stderr, "ordergated: refusing to start: %s\n",
                 std::string(valid.message()).c_str());
    return 2;
  }
  spdlog::set_level(spdlog::level::from_str(cfg.log_level));
  ordergate::transport::UseLogFormat("ordergated");

  // The pre-trade limits of the same file, checked before anything starts.
  const std::string& config_path = cli->config_path;
  LimitsTable limits;
  if (!config_path.empty()) {
    auto loaded = LoadLimitsFile(config_path);
    if (!loaded.ok()) {
      std::fprintf(stderr, "ordergated: refusing to start: --config: %s\n",
                   std::string(loaded.status().message()).c_str());
      return 2;
    }
    limits = *std::move(loaded);
  }

  // Before anything slow: a SIGHUP during start-up (the store's recovery can take seconds) must
  // not kill the process with the default action; the reloader below acts on it once running.
  struct sigaction hup = {};
  hup.sa_handler = OnReloadSignal;
  sigemptyset(&hup.sa_mask);
  hup.sa_flags = SA_RESTART;
  sigaction(SIGHUP, &hup, nullptr);

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
  // Applied by the loop's first turn, before any request.
  (*gw)->ReplaceLimits(std::move(limits));
  auto reloader = std::make_unique<LimitsReloader>(config_path, cfg, **gw);
  struct sigaction sa = {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // The loop runs on its own thread so that this one can say, in the ready line, whether the
  // bridge link came up (the link moves only while the loop polls).
  absl::Status ran;
  std::atomic<bool> loop_done{false};
  std::thread loop([&ran, &loop_done, g = gw->get()] {
    try {
      ran = g->Run();
    } catch (const std::exception& e) {
      ran = absl::InternalError(e.what());
    }
    loop_done.store(true);
  });
  const auto grace_end = std::chrono::steady_clock::now() + kBridgeGrace;
  while (!(*gw)->bridge_up() && !loop_done.load() && std::chrono::steady_clock::now() < grace_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!loop_done.load()) {
    const bool bridge_up = (*gw)->bridge_up();
    // The log lines first: whoever has seen the ready line finds them written.
    spdlog::info(
        "ordergated {} (commit {}) listening on {}, bridge {} {}, durability {}, metrics {}",
        std::string(BuildVersion()), std::string(BuildCommit()), (*gw)->front_endpoint(),
        cfg.bridge, bridge_up ? "up" : "down", std::string(DurabilityName(cfg.durability)),
        cfg.metrics_listen.empty() ? "off" : cfg.metrics_listen);
    if (!bridge_up) {
      spdlog::warn(
          "bridge {} not connected {} ms after start: orders get BRIDGE_DOWN and /readyz answers "
          "503 until it is; the link keeps retrying",
          cfg.bridge, kBridgeGrace.count());
    }
    spdlog::default_logger()->flush();
    // One machine-readable line for scripts and tests: they wait for it before sending.
    std::printf("ordergated ready listen=%s metrics_port=%d durability=%s data_dir=%s bridge=%s\n",
                (*gw)->front_endpoint().c_str(), http_port,
                std::string(DurabilityName(cfg.durability)).c_str(), cfg.data_dir.c_str(),
                bridge_up ? "up" : "down");
    std::fflush(stdout);
  }
  loop.join();
  reloader.reset();  // before the gateway it hands limits to goes
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
  if (ran.code() == absl::StatusCode::kAborted) {
    // EX_TEMPFAIL: systemd's Restart=on-failure (deploy/ordergated.service) starts it again.
    std::fprintf(stderr,
                 "ordergated: %s; exiting with status %d for the supervisor to restart it\n",
                 std::string(ran.message()).c_str(), kExitLeaseLost);
    return kExitLeaseLost;
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
