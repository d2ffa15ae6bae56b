// HttpEndpoint: /healthz, /readyz and /metrics for operators, served by cpp-httplib on its own
// thread so a slow scraper never touches the order loop (it reads only atomics).
//
//   auto http = HttpEndpoint::Start("127.0.0.1:9464", gateway);   // "127.0.0.1:0" picks a free
//   port http->port();   // the bound port http.reset();   // stops the server thread
//
// /healthz: 200 while the process serves HTTP. /readyz: 200 when the gateway takes orders (loop
// running, not draining), else 503; the body says why and whether the bridge is up. /metrics:
// Prometheus text exposition of GatewayCounters and gauges.
#ifndef ORDERGATE_GATEWAY_HTTP_ENDPOINT_H_
#define ORDERGATE_GATEWAY_HTTP_ENDPOINT_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gateway/gateway.h"

namespace ordergate::gateway {

class HttpEndpoint {
 public:
  // Binds `host_port` and starts serving. Start-up call: kInvalidArgument for a malformed address,
  // kUnavailable when it cannot bind. `gateway` must outlive the endpoint.
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(const std::string& host_port,
                                                             const Gateway& gateway);
  ~HttpEndpoint();  // stops and joins the server thread
  int port() const;

 private:
  HttpEndpoint();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The /metrics text for `gateway`, exposed for tests.
std::string RenderMetrics(const Gateway& gateway);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_HTTP_ENDPOINT_H_
