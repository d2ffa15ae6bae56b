#include "gateway/window_routes.h"

#include <httplib.h>

#include <chrono>
#include <string>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gateway/metrics_exposition.h"
#include "transport/codec.h"

namespace ordergate::gateway {

namespace {

constexpr int64_t kMinWindowS = 60;
constexpr int64_t kMaxWindowS = int64_t{24} * 3600;

int64_t UnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void AppendMs(int64_t ns, std::string* out) {
  AppendJsonNumber(static_cast<double>(ns) / 1e6, out);
}

void AppendStage(absl::string_view name, const HistogramSnapshot& h, std::string* out) {
  absl::StrAppend(out, "\"", name, "\":{\"count\":", h.count, ",\"p50\":");
  AppendMs(h.ValueAtQuantile(0.5), out);
  out->append(",\"p99\":");
  AppendMs(h.ValueAtQuantile(0.99), out);
  out->append(",\"p999\":");
  AppendMs(h.ValueAtQuantile(0.999), out);
  out->append(",\"max\":");
  AppendMs(h.max_ns, out);
  out->append(",\"mean\":");
  AppendJsonNumber(h.MeanNs() / 1e6, out);
  out->append("}");
}

void AppendIso(int64_t unix_ms, std::string* out) {
  out->push_back('"');
  AppendIsoTimestamp(unix_ms * 1000, /*basic=*/false, out);
  out->push_back('"');
}

}  // namespace

absl::StatusOr<int64_t> ParseWindowSeconds(absl::string_view text) {
  const absl::string_view t = absl::StripAsciiWhitespace(text);
  int64_t unit = 1;
  absl::string_view digits = t;
  if (!t.empty() && (t.back() == 'h' || t.back() == 'm' || t.back() == 's')) {
    unit = t.back() == 'h' ? 3600 : t.back() == 'm' ? 60 : 1;
    digits = t.substr(0, t.size() - 1);
  }
  int64_t n = 0;
  if (digits.empty() || !absl::SimpleAtoi(digits, &n) || n <= 0 || n > kMaxWindowS ||
      n * unit < kMinWindowS || n * unit > kMaxWindowS) {
    return absl::InvalidArgumentError(
        absl::StrCat("window '", t,
                     "' is not one the gateway keeps: 1h, 4h, 12h, 24h, or N followed by h, m or "
                     "s (seconds without a unit), from 60 s to 24 h"));
  }
  return n * unit;
}

std::string RenderWindowJson(const WindowReport& r, const WindowResources& res) {
  const MinuteCounts& c = r.counts;
  std::string out = absl::StrCat("{\"window_s\":", r.window_s, ",\"from\":");
  AppendIso(r.first_minute_unix_ms, &out);
  out.append(",\"to\":");
  AppendIso(r.now_unix_ms, &out);
  absl::StrAppend(&out, ",\"first_minute_unix_ms\":", r.first_minute_unix_ms,
                  ",\"now_unix_ms\":", r.now_unix_ms,
                  ",\"published_unix_ms\":", r.published_unix_ms,
                  ",\"persisted_unix_ms\":", res.persisted_unix_ms,
                  ",\"minutes_with_data\":", r.minutes_with_data, ",\"covered_s\":");
  AppendJsonNumber(static_cast<double>(c.covered_ms) / 1000.0, &out);
  absl::StrAppend(&out, ",\"orders\":", c.accepted, ",\"sent\":", c.sent, ",\"filled\":", c.filled,
                  ",\"rejected\":", c.rejected, ",\"unknown\":", c.unknown,
                  ",\"unknown_resolved\":", c.unknown_resolved,
                  ",\"duplicate_requests\":", c.duplicate_requests,
                  ",\"duplicate_sends\":", c.duplicate_sends, ",\"conflicts\":", c.conflicts,
                  ",\"denied\":", c.denied, ",\"store_unavailable\":", c.store_unavailable,
                  ",\"requests\":", c.requests, ",\"peak_minute_orders\":", r.peak_minute_accepted,
                  ",\"cpu_seconds\":");
  AppendJsonNumber(static_cast<double>(c.cpu_ns) / 1e9, &out);
  absl::StrAppend(&out, ",\"rss_max_bytes\":", c.rss_max_bytes, ",\"rss_bytes\":", res.rss_bytes,
                  ",\"store_bytes\":");
  if (res.store_bytes) {
    absl::StrAppend(&out, *res.store_bytes);
  } else {
    out.append("null");
  }
  out.append(",\"disk_used_percent\":");
  if (res.disk_used_percent) {
    AppendJsonNumber(*res.disk_used_percent, &out);
  } else {
    out.append("null");
  }
  out.append(",\"latency_ms\":{");
  AppendStage("total", r.latency.total, &out);
  out.push_back(',');
  AppendStage("decode", r.latency.decode, &out);
  out.push_back(',');
  AppendStage("reserve", r.latency.reserve, &out);
  out.push_back(',');
  AppendStage("bridge", r.latency.bridge, &out);
  out.push_back(',');
  AppendStage("store_apply", r.latency.store_apply, &out);
  out.append("}}\n");
  return out;
}

void RegisterWindowRoutes(httplib::Server& server, const WindowsWithGateway& with_gateway) {
  server.Get("/admin/windows", [with_gateway](const httplib::Request& req, httplib::Response& res) {
    const std::string asked = req.has_param("window") ? req.get_param_value("window") : "1h";
    absl::StatusOr<int64_t> window_s = ParseWindowSeconds(asked);
    if (!window_s.ok()) {
      std::string body = "{\"error\":";
      AppendJsonString(window_s.status().message(), &body);
      body.append("}\n");
      res.status = 400;
      res.set_content(body, "application/json");
      return;
    }
    with_gateway(res, [&res, &window_s](const Gateway& g) {
      const MinuteWindows& w = g.minute_windows();
      const WindowReport report = w.Read(*window_s, UnixMs());
      WindowResources resources;
      resources.persisted_unix_ms = w.persisted_unix_ms();
      resources.rss_bytes = ReadProcessStats().resident_bytes.value_or(0);
      const DataDirStats disk = ReadDataDirStats(g.config().data_dir);
      resources.store_bytes = disk.store_bytes;
      if (disk.filesystem_size_bytes && disk.filesystem_avail_bytes &&
          *disk.filesystem_size_bytes > 0) {
        resources.disk_used_percent =
            100.0 * (1.0 - static_cast<double>(*disk.filesystem_avail_bytes) /
                               static_cast<double>(*disk.filesystem_size_bytes));
      }
      res.status = 200;
      res.set_content(RenderWindowJson(report, resources), "application/json");
    });
  });
}

}  // namespace ordergate::gateway
