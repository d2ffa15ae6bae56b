#include "gateway/http_endpoint.h"

#include <httplib.h>

#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ordergate::gateway {

struct HttpEndpoint::Impl {
  httplib::Server server;
  std::thread thread;
  int port = 0;
};

HttpEndpoint::HttpEndpoint() : impl_(std::make_unique<Impl>()) {}

HttpEndpoint::~HttpEndpoint() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

int HttpEndpoint::port() const { return impl_->port; }

namespace {

void Counter(std::string* out, absl::string_view name, absl::string_view help, uint64_t value) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n", name, " ",
                  value, "\n");
}

void Gauge(std::string* out, absl::string_view name, absl::string_view help, uint64_t value) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " gauge\n", name, " ", value,
                  "\n");
}

}  // namespace

std::string RenderMetrics(const Gateway& gw) {
  const GatewayCounters& c = gw.counters();
  std::string out;
  Counter(&out, "ordergate_requests_total", "Request bodies received on the front end.",
          c.requests.load());
  Counter(&out, "ordergate_orders_submitted_total", "Orders forwarded to the bridge.",
          c.orders_submitted.load());
  Counter(&out, "ordergate_orders_filled_total", "Orders the bridge filled.",
          c.orders_filled.load());
  Counter(&out, "ordergate_orders_rejected_total", "Orders the bridge rejected (recorded).",
          c.orders_rejected.load());
  Counter(&out, "ordergate_orders_unknown_total", "Orders that reached bridge_timeout_ms: UNKNOWN.",
          c.orders_unknown.load());
  Counter(&out, "ordergate_unknown_resolved_total", "UNKNOWN orders resolved to FILLED/REJECTED.",
          c.unknown_resolved.load());
  Counter(&out, "ordergate_duplicate_replies_total", "Replies with duplicate:true.",
          c.duplicates.load());
  Counter(&out, "ordergate_idempotency_conflicts_total", "Same uuid, different order.",
          c.conflicts.load());
  Counter(&out, "ordergate_denied_total", "Requests refused by ordergate itself.", c.denied.load());
  Counter(&out, "ordergate_store_unavailable_total", "Requests refused because the store failed.",
          c.store_unavailable.load());
  Counter(&out, "ordergate_pending_replies_total", "PENDING replies at a request's deadline.",
          c.pending_replies.load());
  Counter(&out, "ordergate_relays_total", "GET_ACCOUNT/GET_POSITIONS relayed.", c.relays.load());
  Counter(&out, "ordergate_relay_timeouts_total", "Relays answered BRIDGE_TIMEOUT.",
          c.relay_timeouts.load());
  Counter(&out, "ordergate_dropped_frames_total", "Malformed envelopes dropped unanswered.",
          c.dropped_frames.load());
  Counter(&out, "ordergate_store_batches_total", "Store batches written (one fsync each in sync).",
          c.store_batches.load());
  Counter(&out, "ordergate_bridge_anomalies_total",
          "Bridge replies to orders that could not be acted on (see the info log).",
          c.bridge_anomalies.load());
  Gauge(&out, "ordergate_recovered_unknown", "RESERVED records made UNKNOWN at the last start.",
        c.recovered_unknown.load());
  Gauge(&out, "ordergate_in_flight", "Orders reserved and not yet terminal or UNKNOWN.",
        gw.in_flight());
  Gauge(&out, "ordergate_bridge_up", "1 while the bridge connection is up.",
        gw.bridge_up() ? 1 : 0);
  Gauge(&out, "ordergate_ready", "1 while the gateway takes orders.", gw.ready() ? 1 : 0);
  return out;
}

absl::StatusOr<std::unique_ptr<HttpEndpoint>> HttpEndpoint::Start(const std::string& host_port,
                                                                  const Gateway& gw) {
  const size_t colon = host_port.rfind(':');
  int port = -1;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(host_port).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("metrics address \"", host_port, "\" is not host:port"));
  }
  const std::string host = host_port.substr(0, colon);
  std::unique_ptr<HttpEndpoint> ep(new HttpEndpoint());
  httplib::Server& s = ep->impl_->server;
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [&gw](const httplib::Request&, httplib::Response& res) {
    const bool ready = gw.ready();
    res.status = ready ? 200 : 503;
    res.set_content(absl::StrCat("{\"ready\":", ready ? "true" : "false", ",\"bridge\":\"",
                                 gw.bridge_up() ? "up" : "down", "\"}\n"),
                    "application/json");
  });
  s.Get("/metrics", [&gw](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderMetrics(gw), "text/plain; version=0.0.4");
  });
  if (port == 0) {
    port = s.bind_to_any_port(host);
    if (port <= 0) return absl::UnavailableError(absl::StrCat("cannot bind ", host_port));
  } else if (!s.bind_to_port(host, port)) {
    return absl::UnavailableError(absl::StrCat("cannot bind ", host_port));
  }
  ep->impl_->port = port;
  ep->impl_->thread = std::thread([&s] { s.listen_after_bind(); });
  return ep;
}

}  // namespace ordergate::gateway
