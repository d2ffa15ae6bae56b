// The --embedded target: ordergate's pipeline in the harness's own process (gateway::Gateway on a
// thread, its HTTP endpoint for GET /latency), so that a run measures the gateway without the
// daemon's process boundary.
#ifndef ORDERGATE_BENCH_EMBEDDED_GATEWAY_H_
#define ORDERGATE_BENCH_EMBEDDED_GATEWAY_H_

#include <memory>
#include <string>

#include "bench/bench_options.h"

namespace ordergate::bench {

class EmbeddedGateway {
 public:
  // Starts a gateway listening on tcp://127.0.0.1:* towards opt.bridge, with opt.durability, on
  // opt.data_dir or, when that is empty, on a fresh /tmp/ordergate-bench-XXXXXX/data removed again
  // on destruction; its HTTP endpoint on 127.0.0.1:0. Sets the log level to warn (one info line
  // per order would measure the logger). Blocks until the gateway is ready and its bridge link up,
  // or 5 s. Returns nullptr with *error set ("mkdtemp failed", "embedded gateway: <why>") when the
  // directory or the gateway cannot be made. Call from main only: it owns a thread.
  static std::unique_ptr<EmbeddedGateway> Start(const Options& opt, std::string* error);

  // Stops the gateway (blocks until its loop returns), then removes the temporary directory.
  ~EmbeddedGateway();
  EmbeddedGateway(const EmbeddedGateway&) = delete;
  EmbeddedGateway& operator=(const EmbeddedGateway&) = delete;

  // Where clients connect (the bound ephemeral endpoint).
  const std::string& front_endpoint() const;
  // host:port of GET /latency and /metrics; empty when the HTTP endpoint could not start.
  const std::string& metrics_address() const;

 private:
  struct Impl;
  explicit EmbeddedGateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_EMBEDDED_GATEWAY_H_
