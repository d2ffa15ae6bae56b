// ordergated: the daemon. Parses the configuration, starts the gateway and its HTTP endpoint, runs
// the loop until SIGTERM/SIGINT, then drains. Exceptions are caught here and only here.
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>

#include "gateway/cli.h"
#include "gateway/gateway.h"
#include "gateway/http_endpoint.h"
#include "spdlog/spdlog.h"

namespace {

ordergate::gateway::Gateway* g_gateway = nullptr;

extern "C" void OnSignal(int) {
  if (g_gateway != nullptr) g_gateway->Stop();
}

int Main(int argc, char** argv) {
  using namespace ordergate::gateway;
  auto cli = ParseCommandLine(argc, argv);
  if (!cli.ok()) {
    std::fprintf(stderr, "ordergated: %s\n", std::string(cli.status().message()).c_str());
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
    // Orders come first: a busy or bad metrics address costs observability, not trading.
    auto ep = HttpEndpoint::Start(cfg.metrics_listen, **gw);
    if (ep.ok()) {
      http = std::move(*ep);
      http_port = http->port();
    } else {
      spdlog::error("no /healthz, /readyz, /metrics: {}", std::string(ep.status().message()));
    }
  }
  g_gateway = gw->get();
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
  http.reset();
  g_gateway = nullptr;
  gw->reset();  // closes sockets, then the context, then the store
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
