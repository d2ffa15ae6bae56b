#include "bench/embedded_gateway.h"

#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gateway/config.h"
#include "gateway/gateway.h"
#include "gateway/http_endpoint.h"
#include "transport/log_format.h"

namespace ordergate::bench {

struct EmbeddedGateway::Impl {
  std::unique_ptr<gateway::Gateway> gw;
  std::unique_ptr<gateway::HttpEndpoint> http;
  std::thread loop;
  std::string temp_dir;
  std::string front_endpoint;
  std::string metrics_address;

  void RemoveTempDir() {
    if (temp_dir.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(temp_dir, ec);
  }
};

std::unique_ptr<EmbeddedGateway> EmbeddedGateway::Start(const Options& opt, std::string* error) {
  spdlog::set_level(spdlog::level::warn);  // one info line per order would measure the logger
  transport::UseLogFormat("ordergate-bench");
  auto impl = std::make_unique<Impl>();
  gateway::GatewayConfig cfg;
  cfg.listen = "tcp://127.0.0.1:*";
  cfg.bridge = opt.bridge;
  if (opt.data_dir.empty()) {
    char tmpl[] = "/tmp/ordergate-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      *error = "mkdtemp failed";
      return nullptr;
    }
    impl->temp_dir = tmpl;
    cfg.data_dir = impl->temp_dir + "/data";
  } else {
    cfg.data_dir = opt.data_dir;
  }
  auto d = gateway::ParseDurability(opt.durability);  // bench_options validated it
  cfg.durability = *d;
  auto gw = gateway::Gateway::Start(cfg);
  if (!gw.ok()) {
    *error = absl::StrCat("embedded gateway: ", gw.status().message());
    impl->RemoveTempDir();
    return nullptr;
  }
  impl->gw = std::move(*gw);
  auto http = gateway::HttpEndpoint::Start("127.0.0.1:0", *impl->gw);
  if (http.ok()) {
    impl->http = std::move(*http);
    impl->metrics_address = absl::StrCat("127.0.0.1:", impl->http->port());
  }
  gateway::Gateway* g = impl->gw.get();
  impl->loop = std::thread([g] { (void)g->Run(); });
  impl->front_endpoint = g->front_endpoint();
  for (int i = 0; i < 500 && !(g->ready() && g->bridge_up()); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::unique_ptr<EmbeddedGateway>(new EmbeddedGateway(std::move(impl)));
}

EmbeddedGateway::EmbeddedGateway(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EmbeddedGateway::~EmbeddedGateway() {
  impl_->gw->Stop();
  if (impl_->loop.joinable()) impl_->loop.join();
  impl_->http.reset();
  impl_->gw.reset();
  impl_->RemoveTempDir();
}

const std::string& EmbeddedGateway::front_endpoint() const { return impl_->front_endpoint; }

const std::string& EmbeddedGateway::metrics_address() const { return impl_->metrics_address; }

}  // namespace ordergate::bench
