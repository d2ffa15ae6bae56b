// The --embedded target: ordergate::Gateway, the public API of include/ordergate/, opened in the
// harness's own process, so that a run measures what a strategy linked against libordergate sees:
// no socket between the submitting threads and the gateway (the gateway's own link to the bridge
// is its business). Only "ordergate/gateway.h" is used here, nothing of the daemon's internals;
// the public API serves no GET /latency, so an embedded run has no per-stage figures.
#ifndef ORDERGATE_BENCH_EMBEDDED_GATEWAY_H_
#define ORDERGATE_BENCH_EMBEDDED_GATEWAY_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "bench/bench_options.h"
#include "ordergate/gateway.h"

namespace ordergate::bench {

class EmbeddedGateway {
 public:
  // Opens a gateway towards opt.bridge with opt.durability, on opt.data_dir or, when that is
  // empty, on a fresh /tmp/ordergate-bench-XXXXXX/data removed again on destruction; every other
  // option at GatewayOptions' defaults. Blocks until the gateway's bridge link is up, at most 5 s
  // (an order before that would be refused BRIDGE_DOWN). Returns nullptr with *error set
  // ("mkdtemp failed", "embedded gateway: <why>", "embedded gateway: no bridge link to <ep> within
  // 5 s") when the directory, the gateway or its link cannot be made. Call from main only.
  static std::unique_ptr<EmbeddedGateway> Open(const Options& opt, std::string* error);

  // Close(), then removes the temporary directory.
  ~EmbeddedGateway();
  EmbeddedGateway(const EmbeddedGateway&) = delete;
  EmbeddedGateway& operator=(const EmbeddedGateway&) = delete;

  // Thread-safe as ordergate::Gateway is (any thread, at once).
  ordergate::Gateway& gateway() { return *gw_; }

  // Keeps `owner` alive until the gateway is closed: a load run's callbacks hold raw pointers into
  // its state, and an order still at the bridge when the run gave up on it is answered later, at
  // the latest by Close(). Call from main's thread only (not thread-safe).
  void KeepUntilClosed(std::shared_ptr<void> owner);

  // Closes the gateway (blocks until every order has its outcome: ordergate::Gateway::Close) and
  // releases what KeepUntilClosed holds. Idempotent: later calls return the first result.
  absl::Status Close();

 private:
  EmbeddedGateway() = default;
  void RemoveTempDir();

  std::vector<std::shared_ptr<void>> keep_alive_;  // released after gw_ is closed
  std::unique_ptr<ordergate::Gateway> gw_;
  std::string temp_dir_;
  bool closed_ = false;
  absl::Status close_status_;
};

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_EMBEDDED_GATEWAY_H_
