#include "gateway/http_endpoint.h"

#include <httplib.h>

#include <charconv>
#include <cstdint>
#include <string>
#include <thread>
#include <utility>

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

void AppendSeconds(std::string* out, double ns) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), ns / 1e9);
  out->append(buf, r.ptr);
}

struct LeBound {
  const char* label;
  int64_t ns;
};
constexpr LeBound kOrderLatencyBounds[] = {
    {"0.0001", 100'000},   {"0.00025", 250'000},   {"0.0005", 500'000},   {"0.001", 1'000'000},
    {"0.0025", 2'500'000}, {"0.005", 5'000'000},   {"0.01", 10'000'000},  {"0.025", 25'000'000},
    {"0.05", 50'000'000},  {"0.1", 100'000'000},   {"0.25", 250'000'000}, {"0.5", 500'000'000},
    {"1", 1'000'000'000},  {"2.5", 2'500'000'000}, {"5", 5'000'000'000},  {"10", 10'000'000'000}};

constexpr std::pair<const char*, double> kSummaryQuantiles[] = {
    {"0.5", 0.5}, {"0.9", 0.9}, {"0.99", 0.99}, {"0.999", 0.999}};

}  // namespace

void AppendLatencyMetrics(const StageLatencySnapshot& s, std::string* out) {
  const HistogramSnapshot* stages[] = {&s.decode, &s.reserve, &s.bridge, &s.total, &s.store_apply};
  constexpr absl::string_view kSummary = "ordergate_stage_latency_seconds";
  absl::StrAppend(out, "# HELP ", kSummary,
                  " Latency of each gateway stage (decode, reserve, bridge, total, store_apply) "
                  "since start; quantiles from log-linear buckets, <= 0.78% high.\n# TYPE ",
                  kSummary, " summary\n");
  for (size_t i = 0; i < kLatencyStageNames.size(); ++i) {
    const HistogramSnapshot& h = *stages[i];
    const absl::string_view stage = kLatencyStageNames[i];
    for (const auto& [label, q] : kSummaryQuantiles) {
      absl::StrAppend(out, kSummary, "{stage=\"", stage, "\",quantile=\"", label, "\"} ");
      if (h.count == 0) {
        out->append("NaN");
      } else {
        AppendSeconds(out, static_cast<double>(h.ValueAtQuantile(q)));
      }
      out->append("\n");
    }
    absl::StrAppend(out, kSummary, "_sum{stage=\"", stage, "\"} ");
    AppendSeconds(out, static_cast<double>(h.sum_ns));
    absl::StrAppend(out, "\n", kSummary, "_count{stage=\"", stage, "\"} ", h.count, "\n");
  }

  // The total stage as a Prometheus histogram, for alert rules (histogram_quantile over rates).
  constexpr absl::string_view kHist = "ordergate_order_latency_seconds";
  absl::StrAppend(out, "# HELP ", kHist,
                  " Order latency in the gateway, arrival to FILLED/REJECTED reply (total stage). "
                  "A fine bucket counts into le only when its upper bound <= le.\n# TYPE ",
                  kHist, " histogram\n");
  uint64_t cumulative = 0;
  int fine = 0;
  for (const LeBound& le : kOrderLatencyBounds) {
    while (fine < static_cast<int>(s.total.buckets.size()) && LatencyBucketUpperNs(fine) <= le.ns) {
      cumulative += s.total.buckets[fine];
      ++fine;
    }
    absl::StrAppend(out, kHist, "_bucket{le=\"", le.label, "\"} ", cumulative, "\n");
  }
  absl::StrAppend(out, kHist, "_bucket{le=\"+Inf\"} ", s.total.count, "\n", kHist, "_sum ");
  AppendSeconds(out, static_cast<double>(s.total.sum_ns));
  absl::StrAppend(out, "\n", kHist, "_count ", s.total.count, "\n");
}

std::string RenderLatencyJson(const Gateway& gw) {
  std::string out;
  AppendLatencyJson(gw.stage_latency().Snapshot(), &out);
  out.push_back('\n');
  return out;
}

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
  AppendLatencyMetrics(gw.stage_latency().Snapshot(), &out);
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
  s.Get("/latency", [&gw](const httplib::Request&, httplib::Response& res) {
    res.set_content(RenderLatencyJson(gw), "application/json");
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
