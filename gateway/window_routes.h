// The rolling windows (gateway/minute_windows.h) on the HTTP endpoint, read-only, for
// `ordergatectl checkpoint` and `ordergatectl status`:
//
//   GET /admin/windows?window=1h|4h|12h|24h|<N>s|<N>m|<N>   (default 1h; N seconds, 60 .. 86400)
//   -> 200 {"window_s":3600,"from":ISO,"to":ISO,"first_minute_unix_ms":..,"now_unix_ms":..,
//           "published_unix_ms":..,"persisted_unix_ms":..,"minutes_with_data":N,"covered_s":S,
//           "orders":N,"sent":N,"filled":N,"rejected":N,"unknown":N,"unknown_resolved":N,
//           "duplicate_requests":N,"duplicate_sends":N,"conflicts":N,"denied":N,
//           "store_unavailable":N,"requests":N,"peak_minute_orders":N,"cpu_seconds":S,
//           "rss_max_bytes":B,"rss_bytes":B,"store_bytes":B|null,"disk_used_percent":P|null,
//           "latency_ms":{"total":{"count","p50","p99","p999","max","mean"},"decode":{..},
//                         "reserve":{..},"bridge":{..},"store_apply":{..}}}
//   -> 400 {"error":...} for a window it cannot read.
//
// "orders" are distinct OPEN/CLOSE uuids accepted (reserved) in the window; every count is summed
// over the window's minutes (WindowReport). Latency quantiles come from the merged per-minute
// histograms (HistogramSnapshot::ValueAtQuantile: at most 0.78% above the true value), in ms;
// "total" is arrival -> FILLED/REJECTED reply of the orders sent in the window. The window's
// current minute is as of its last flush (published_unix_ms, at most 2 s old while orders flow).
// rss_bytes, store_bytes and disk_used_percent are read when the request is served.
#ifndef ORDERGATE_GATEWAY_WINDOW_ROUTES_H_
#define ORDERGATE_GATEWAY_WINDOW_ROUTES_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "gateway/gateway.h"
#include "gateway/minute_windows.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace ordergate::gateway {

// HttpEndpoint's guard: runs `render` with the gateway, or answers 503 once detached.
using WindowsWithGateway =
    std::function<void(httplib::Response&, const std::function<void(const Gateway&)>& render)>;

// Adds GET /admin/windows to `server`. Start-up call, before the server listens.
void RegisterWindowRoutes(httplib::Server& server, const WindowsWithGateway& with_gateway);

// "1h" -> 3600; also "30m", "90s", "7200". kInvalidArgument (with the accepted forms) for anything
// else, and outside 60 s .. 24 h (what the windows keep). Pure.
absl::StatusOr<int64_t> ParseWindowSeconds(absl::string_view text);

// What is read at the time of the request, beside the window.
struct WindowResources {
  int64_t persisted_unix_ms = 0;
  uint64_t rss_bytes = 0;
  std::optional<uint64_t> store_bytes;
  std::optional<double> disk_used_percent;
};

// The /admin/windows body (one JSON object and a newline). Pure.
std::string RenderWindowJson(const WindowReport& report, const WindowResources& resources);

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_WINDOW_ROUTES_H_
