// HttpEndpoint: /healthz, /readyz, /metrics and /latency for operators, served by cpp-httplib on
// its own thread so a slow scraper never touches the order loop (it reads only atomics, and the
// latency histograms through their lock-free snapshots).
//
//   auto http = HttpEndpoint::Start("127.0.0.1:9464", gateway);   // "127.0.0.1:0" picks a free
//   port http->port();   // the bound port http.reset();   // stops the server thread
//
// /healthz: 200 while the process serves HTTP. /readyz: 200 when the gateway takes orders (loop
// running, not draining), else 503; the body says why and whether the bridge is up. /metrics:
// Prometheus text exposition of GatewayCounters and gauges, plus per stage a summary
// ordergate_stage_latency_seconds{stage=...,quantile="0.5|0.9|0.99|0.999"} with _sum/_count, and
// for the total stage a histogram ordergate_order_latency_seconds (cumulative since start).
// /latency: the per-stage histograms as JSON (format: AppendLatencyJson in latency_histogram.h).
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

// The /metrics text for `gateway`, exposed for tests. Any thread; never blocks the loop.
std::string RenderMetrics(const Gateway& gateway);

// The /latency JSON for `gateway`. Any thread; never blocks the loop.
std::string RenderLatencyJson(const Gateway& gateway);

// The latency part of /metrics for one snapshot of the stages (appended to `out`).
//  - ordergate_stage_latency_seconds: a summary per stage; the quantiles are
//    HistogramSnapshot::ValueAtQuantile (at most 0.78% above the true value), NaN while empty.
//  - ordergate_order_latency_seconds: a histogram of the total stage with fixed le bounds (100 us
//    .. 10 s). The fine buckets do not align with them: a fine bucket is counted into an le only
//    when its upper bound <= le, so a bound's count never includes a value above it but may miss
//    values up to 0.78% below it (they land in the next bound).
void AppendLatencyMetrics(const StageLatencySnapshot& s, std::string* out);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_HTTP_ENDPOINT_H_
