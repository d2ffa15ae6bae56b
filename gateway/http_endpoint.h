// HttpEndpoint: /healthz, /readyz, /metrics and /latency for operators, served by cpp-httplib on
// its own threads so a slow scraper never touches the order loop (it reads only atomics, and the
// latency histograms through their lock-free snapshots).
//
//   auto http = HttpEndpoint::Start("127.0.0.1:9464", gateway);   // "127.0.0.1:0": a free port
//   http->port();              // the bound port
//   http->Detach();            // from here on the gateway may be destroyed
//   http->Shutdown(bound);     // stops the server threads within `bound`
//
// /healthz: 200 while the process serves HTTP. /readyz: 200 when the gateway takes orders (loop
// running, not draining) AND its bridge link is up, else 503 with the reason (RenderReady): a
// gateway whose bridge is down answers every order BRIDGE_DOWN, so a load balancer or an operator
// must not count it ready. /metrics: Prometheus text exposition (RenderMetrics in
// gateway/metrics_exposition.h: every GatewayCounters field, the gauges, the per-stage latency
// histograms, the process's CPU/memory/descriptors and the store's size on disk).
// /latency: the per-stage histograms as JSON (format: AppendLatencyJson in latency_histogram.h).
// After Detach(): /healthz 200, the others 503 {"ready":false,"stopping":true}.
//
// Bounds, whatever the clients do (a slow-loris client that dribbles a header byte every few
// seconds included):
//  - a connection lives at most kConnectionBudget from its accept (time queued for a worker
//    included): up to kMaxRequestsPerConnection requests (keep-alive) within it, then it is
//    closed, answered or not. So no client pins a worker for longer.
//  - Shutdown() wakes every connection at once (each is closed without an answer), closes the
//    listening socket and joins the threads; nothing in a worker blocks on a client (every read
//    and write waits in poll() for the deadline or the stop).
//  - The address is bound with SO_REUSEADDR only (cpp-httplib's default adds SO_REUSEPORT, with
//    which a second gateway silently shared the port and scrapes alternated between the two):
//    an address in use is an error.
#ifndef ORDERGATE_GATEWAY_HTTP_ENDPOINT_H_
#define ORDERGATE_GATEWAY_HTTP_ENDPOINT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "gateway/gateway.h"
#include "gateway/metrics_exposition.h"  // RenderMetrics, AppendLatencyMetrics

namespace ordergate::gateway {

class HttpEndpoint {
 public:
  static constexpr std::chrono::seconds kConnectionBudget{5};
  static constexpr int kMaxRequestsPerConnection = 5;

  // Binds `host_port` (HOST:PORT, HOST may be [IPv6]; PORT 0 picks a free one) and starts serving;
  // returns once the server accepts. Start-up call: kInvalidArgument for a malformed address,
  // kUnavailable naming the address and the reason when it cannot bind (e.g. another process
  // listens there). `gateway` must outlive the endpoint or its Detach().
  static absl::StatusOr<std::unique_ptr<HttpEndpoint>> Start(const std::string& host_port,
                                                             const Gateway& gateway);

  // From its return, no request reads the gateway any more (they get 503 "stopping"), so the
  // gateway may be destroyed while the server still runs. Blocks only until handlers already
  // reading it have rendered their answer (from atomics, no I/O). Idempotent; any thread.
  void Detach();

  // Stops the server: wakes every connection, closes the listening socket and joins the server
  // thread, waiting at most `bound`. True when everything stopped; false when the thread was still
  // running at `bound`: it is then left running and the server's state deliberately leaked, so it
  // never touches freed memory (the caller is about to exit; see open_connections()). Idempotent.
  bool Shutdown(absl::Duration bound);

  ~HttpEndpoint();  // Detach(), then Shutdown(5 s)
  int port() const;
  // Connections accepted and not yet closed (being served, or queued for a worker). Any thread.
  size_t open_connections() const;

 private:
  HttpEndpoint();
  struct Impl;
  std::unique_ptr<Impl> impl_;  // leaked, not freed, after a Shutdown() that timed out
};

// What /readyz answers, read from the gateway's atomics (not one snapshot: each field is current).
struct ReadyState {
  bool ready = false;                // serving && bridge_up: HTTP 200, else 503
  bool serving = false;              // Gateway::ready(): the loop runs and is not draining
  bool bridge_up = false;            // Gateway::bridge_up()
  int64_t bridge_reply_age_ms = -1;  // Gateway::bridge_reply_age_ms(); -1 before the first reply
};
ReadyState ReadyStateOf(const Gateway& gateway);

// The /readyz body, one JSON object and a newline:
//   {"ready":B,"serving":B,"bridge":"up"|"down","bridge_last_reply_age_seconds":S|null
//    [,"reason":"..."]}
// "reason" is present exactly when ready is false: the loop is not running (starting or draining),
// or the bridge is down (orders get BRIDGE_DOWN until it answers). The age says how long the bridge
// has been silent (null: it never answered since start); pure, any thread.
std::string RenderReady(const ReadyState& state);

// The /latency JSON for `gateway`. Any thread; never blocks the loop.
std::string RenderLatencyJson(const Gateway& gateway);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_HTTP_ENDPOINT_H_
