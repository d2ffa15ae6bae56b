// The --embedded target (see embedded_gateway.h).
#include "bench/embedded_gateway.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ordergate/options.h"

namespace ordergate::bench {

std::unique_ptr<EmbeddedGateway> EmbeddedGateway::Open(const Options& opt, std::string* error) {
  std::unique_ptr<EmbeddedGateway> e(new EmbeddedGateway());
  ordergate::GatewayOptions go;
  go.bridge_endpoint = opt.bridge;
  if (opt.data_dir.empty()) {
    char tmpl[] = "/tmp/ordergate-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) {
      *error = "mkdtemp failed";
      return nullptr;
    }
    e->temp_dir_ = tmpl;
    go.data_dir = e->temp_dir_ + "/data";
  } else {
    go.data_dir = opt.data_dir;
  }
  // bench_options admits "sync" and "async" only.
  go.durability =
      opt.durability == "async" ? ordergate::Durability::kAsync : ordergate::Durability::kSync;
  auto gw = ordergate::Gateway::Open(go);
  if (!gw.ok()) {
    *error = absl::StrCat("embedded gateway: ", gw.status().message());
    return nullptr;  // the destructor removes the temporary directory
  }
  e->gw_ = std::move(*gw);
  for (int i = 0; i < 500 && !e->gw_->stats().bridge_up; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!e->gw_->stats().bridge_up) {
    *error = absl::StrCat("embedded gateway: no bridge link to ", opt.bridge, " within 5 s");
    return nullptr;
  }
  return e;
}

EmbeddedGateway::~EmbeddedGateway() {
  (void)Close();
  RemoveTempDir();
}

void EmbeddedGateway::KeepUntilClosed(std::shared_ptr<void> owner) {
  keep_alive_.push_back(std::move(owner));
}

absl::Status EmbeddedGateway::Close() {
  if (closed_) return close_status_;
  closed_ = true;
  if (gw_ != nullptr) close_status_ = gw_->Close();  // every callback has run when it returns
  gw_.reset();
  keep_alive_.clear();
  return close_status_;
}

void EmbeddedGateway::RemoveTempDir() {
  if (temp_dir_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(temp_dir_, ec);
  temp_dir_.clear();
}

}  // namespace ordergate::bench
