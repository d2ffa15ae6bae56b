#include "gateway/metrics_exposition.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "gateway/build_info.h"

namespace ordergate::gateway {

namespace {

void Header(std::string* out, absl::string_view name, absl::string_view type,
            absl::string_view help) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

void Counter(std::string* out, absl::string_view name, absl::string_view help, uint64_t value) {
  Header(out, name, "counter", help);
  absl::StrAppend(out, name, " ", value, "\n");
}

void Gauge(std::string* out, absl::string_view name, absl::string_view help, uint64_t value) {
  Header(out, name, "gauge", help);
  absl::StrAppend(out, name, " ", value, "\n");
}

void AppendDouble(std::string* out, double v) {
  char buf[32];
  const auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out->append(buf, r.ptr);
}

void AppendSeconds(std::string* out, double ns) { AppendDouble(out, ns / 1e9); }

// A gauge whose value may be unknown: written NaN then, so the series exists from the first scrape
// on and an alert on it never sees it appear or vanish.
void GaugeOrNaN(std::string* out, absl::string_view name, absl::string_view type,
                absl::string_view help, std::optional<double> value) {
  Header(out, name, type, help);
  absl::StrAppend(out, name, " ");
  if (value.has_value()) {
    AppendDouble(out, *value);
  } else {
    out->append("NaN");
  }
  out->append("\n");
}

std::optional<double> AsDouble(std::optional<uint64_t> v) {
  if (!v.has_value()) return std::nullopt;
  return static_cast<double>(*v);
}

// Every field of GatewayCounters is one std::atomic<uint64_t>, each exported by RenderMetrics: a
// field added there changes the size and stops the build here until it is exported too.
constexpr size_t kExportedCounters = 19 + kRiskLimitCount;  // risk_refusals: one per limit
static_assert(sizeof(GatewayCounters) == kExportedCounters * sizeof(std::atomic<uint64_t>),
              "GatewayCounters changed: export the new field in RenderMetrics, then update "
              "kExportedCounters");

struct LeBound {
  const char* label;
  int64_t ns;
};
constexpr LeBound kLatencyBounds[] = {
    {"1e-05", 10'000},      {"2.5e-05", 25'000},   {"5e-05", 50'000},     {"0.0001", 100'000},
    {"0.00025", 250'000},   {"0.0005", 500'000},   {"0.001", 1'000'000},  {"0.0025", 2'500'000},
    {"0.005", 5'000'000},   {"0.01", 10'000'000},  {"0.025", 25'000'000}, {"0.05", 50'000'000},
    {"0.1", 100'000'000},   {"0.25", 250'000'000}, {"0.5", 500'000'000},  {"1", 1'000'000'000},
    {"2.5", 2'500'000'000}, {"5", 5'000'000'000},  {"10", 10'000'000'000}};

constexpr std::pair<const char*, double> kSummaryQuantiles[] = {
    {"0.5", 0.5}, {"0.9", 0.9}, {"0.99", 0.99}, {"0.999", 0.999}};

// The fields of /proc/self/stat after the command name (which may hold spaces and parentheses:
// everything up to the last ')'). fields[0] is the state, field N of proc(5) is fields[N - 3].
std::vector<std::string> ProcSelfStatFields() {
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (!std::getline(in, line)) return {};
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return {};
  return absl::StrSplit(absl::string_view(line).substr(close + 2), ' ', absl::SkipEmpty());
}

std::optional<uint64_t> Field(const std::vector<std::string>& fields, size_t proc5_number) {
  const size_t i = proc5_number - 3;
  if (i >= fields.size()) return std::nullopt;
  uint64_t v = 0;
  const std::string& f = fields[i];
  const auto r = std::from_chars(f.data(), f.data() + f.size(), v);
  if (r.ec != std::errc() || r.ptr != f.data() + f.size()) return std::nullopt;
  return v;
}

// The boot time (seconds since the epoch), from /proc/stat's btime line.
std::optional<uint64_t> BootTimeSeconds() {
  std::ifstream in("/proc/stat");
  std::string line;
  while (std::getline(in, line)) {
    if (absl::string_view(line).substr(0, 6) != "btime ") continue;
    uint64_t v = 0;
    const auto r = std::from_chars(line.data() + 6, line.data() + line.size(), v);
    if (r.ec == std::errc()) return v;
  }
  return std::nullopt;
}

}  // namespace

ProcessStats ReadProcessStats() {
  ProcessStats s;
  const long ticks = ::sysconf(_SC_CLK_TCK);
  const long page = ::sysconf(_SC_PAGESIZE);
  const std::vector<std::string> f = ProcSelfStatFields();
  // proc(5): 14 utime, 15 stime, 22 starttime (clock ticks); 23 vsize (bytes); 24 rss (pages).
  const auto utime = Field(f, 14);
  const auto stime = Field(f, 15);
  if (utime && stime && ticks > 0) {
    s.cpu_seconds = static_cast<double>(*utime + *stime) / static_cast<double>(ticks);
  }
  s.virtual_bytes = Field(f, 23);
  if (const auto rss = Field(f, 24); rss && page > 0) {
    s.resident_bytes = *rss * static_cast<uint64_t>(page);
  }
  const auto start = Field(f, 22);
  const auto boot = BootTimeSeconds();
  if (start && boot && ticks > 0) {
    s.start_time_seconds =
        static_cast<double>(*boot) + static_cast<double>(*start) / static_cast<double>(ticks);
  }
  if (DIR* d = ::opendir("/proc/self/fd"); d != nullptr) {
    uint64_t n = 0;
    while (const dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') ++n;
    }
    ::closedir(d);
    s.open_fds = n > 0 ? n - 1 : 0;  // less the descriptor of the listing itself
  }
  if (rlimit lim{}; ::getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    s.max_fds = static_cast<uint64_t>(lim.rlim_cur);
  }
  return s;
}

DataDirStats ReadDataDirStats(const std::string& data_dir) {
  namespace fs = std::filesystem;
  DataDirStats s;
  std::error_code ec;
  fs::recursive_directory_iterator it(data_dir, fs::directory_options::skip_permission_denied, ec);
  if (!ec) {
    uint64_t bytes = 0;
    for (const fs::recursive_directory_iterator end; it != end; it.increment(ec)) {
      if (ec) break;
      std::error_code file_ec;
      if (!it->is_regular_file(file_ec) || file_ec) continue;
      const uintmax_t size = it->file_size(file_ec);
      if (!file_ec) bytes += size;  // a file deleted since it was listed is skipped
    }
    if (!ec) s.store_bytes = bytes;
  }
  struct statvfs fs_stat {};
  if (::statvfs(data_dir.c_str(), &fs_stat) == 0) {
    s.filesystem_size_bytes = static_cast<uint64_t>(fs_stat.f_blocks) * fs_stat.f_frsize;
    s.filesystem_avail_bytes = static_cast<uint64_t>(fs_stat.f_bavail) * fs_stat.f_frsize;
  }
  return s;
}

void AppendLatencyMetrics(const StageLatencySnapshot& s, std::string* out) {
  const HistogramSnapshot* stages[] = {&s.decode, &s.reserve, &s.bridge, &s.total, &s.store_apply};

  constexpr absl::string_view kHist = "ordergate_stage_latency_seconds";
  Header(out, kHist, "histogram",
         "Latency of each gateway stage since start (decode, reserve, bridge, total = arrival to "
         "FILLED/REJECTED reply, store_apply). A fine bucket counts into le only when its upper "
         "bound <= le.");
  for (size_t i = 0; i < kLatencyStageNames.size(); ++i) {
    const HistogramSnapshot& h = *stages[i];
    const absl::string_view stage = kLatencyStageNames[i];
    uint64_t cumulative = 0;
    int fine = 0;
    for (const LeBound& le : kLatencyBounds) {
      while (fine < static_cast<int>(h.buckets.size()) && LatencyBucketUpperNs(fine) <= le.ns) {
        cumulative += h.buckets[fine];
        ++fine;
      }
      absl::StrAppend(out, kHist, "_bucket{stage=\"", stage, "\",le=\"", le.label, "\"} ",
                      cumulative, "\n");
    }
    absl::StrAppend(out, kHist, "_bucket{stage=\"", stage, "\",le=\"+Inf\"} ", h.count, "\n", kHist,
                    "_sum{stage=\"", stage, "\"} ");
    AppendSeconds(out, static_cast<double>(h.sum_ns));
    absl::StrAppend(out, "\n", kHist, "_count{stage=\"", stage, "\"} ", h.count, "\n");
  }

  constexpr absl::string_view kSummary = "ordergate_stage_latency_quantile_seconds";
  Header(out, kSummary, "summary",
         "The same stages' quantiles since start, from log-linear buckets (<= 0.78% high); NaN "
         "while a stage is empty.");
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
}

std::string RenderMetrics(const Gateway& gw) {
  const GatewayCounters& c = gw.counters();
  std::string out;
  Counter(&out, "ordergate_requests_total", "Request bodies received on the front end.",
          c.requests.load());
  Counter(&out, "ordergate_orders_submitted_total", "OPEN/CLOSE orders sent to the bridge.",
          c.orders_submitted.load());
  Header(&out, "ordergate_orders_total", "counter",
         "Order outcomes recorded in the store: filled and rejected (bridge replies and resolved "
         "UNKNOWN orders), unknown (no bridge reply within bridge_timeout_ms; its resolution later "
         "counts as filled or rejected too).");
  absl::StrAppend(&out, "ordergate_orders_total{outcome=\"filled\"} ", c.orders_filled.load(),
                  "\nordergate_orders_total{outcome=\"rejected\"} ", c.orders_rejected.load(),
                  "\nordergate_orders_total{outcome=\"unknown\"} ", c.orders_unknown.load(), "\n");
  Counter(&out, "ordergate_unknown_resolved_total", "UNKNOWN orders resolved to FILLED/REJECTED.",
          c.unknown_resolved.load());
  Counter(&out, "ordergate_duplicate_replies_total",
          "Replies with duplicate:true (retries and joins answered without a new send).",
          c.duplicates.load());
  Counter(&out, "ordergate_idempotency_conflicts_total", "Same uuid, different order.",
          c.conflicts.load());
  Counter(&out, "ordergate_denied_total",
          "Requests refused by ordergate itself (every error reply).", c.denied.load());
  Counter(&out, "ordergate_store_unavailable_total",
          "Requests refused STORE_UNAVAILABLE because the store could not write.",
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
  Counter(&out, "ordergate_busy_bridge_capacity_total",
          "GATEWAY_BUSY because the bridge's queue held what it can serve within the signature "
          "TTL (orders and relays).",
          c.busy_bridge_capacity.load());
  Counter(&out, "ordergate_duplicate_sends_total",
          "OPEN/CLOSE sent for an order already sent (0 by construction: at most once).",
          c.duplicate_sends.load());
  Gauge(&out, "ordergate_recovered_unknown_orders",
        "RESERVED records made UNKNOWN at the last start.", c.recovered_unknown.load());
  // Pre-trade limits (gateway/risk_limits.h): RISK_LIMIT refusals by the limit that refused.
  Header(&out, "ordergate_risk_refusals_total", "counter",
         "Orders refused RISK_LIMIT (nothing recorded, nothing sent), by limit.");
  for (size_t i = 1; i < kRiskLimitCount; ++i) {
    absl::StrAppend(&out, "ordergate_risk_refusals_total{limit=\"",
                    RiskLimitName(static_cast<RiskLimit>(i)), "\"} ", c.risk_refusals[i].load(),
                    "\n");
  }
  // The shared guard's lease (guard = postgres, gateway/shared_guard.h); absent with RocksDB.
  if (const std::optional<SharedGuardStats> g = gw.shared_guard_stats(); g.has_value()) {
    Header(&out, "ordergate_guard_lease_state", "gauge",
           "The shared guard's lease: 1 on the state it is in (held: orders admitted; stale: "
           "renewals failing, no new order; lost: taken over, none until restart; released).");
    for (LeaseState st :
         {LeaseState::kHeld, LeaseState::kStale, LeaseState::kLost, LeaseState::kReleased}) {
      absl::StrAppend(&out, "ordergate_guard_lease_state{state=\"", LeaseStateName(st), "\"} ",
                      g->state == st ? 1 : 0, "\n");
    }
    Counter(&out, "ordergate_guard_lease_renewals_total", "Successful lease renewals.",
            g->renewals);
    Counter(&out, "ordergate_guard_lease_renew_failures_total",
            "Lease renewals that failed (database unreachable, timeout, lease lost).",
            g->renew_failures);
    Counter(&out, "ordergate_guard_lease_refusals_total",
            "Orders refused STORE_UNAVAILABLE or released unsent: the lease was stale or lost.",
            g->lease_refusals);
    Counter(&out, "ordergate_guard_foreign_joins_total",
            "Retries that waited for another live gateway's order (polled in the store).",
            g->foreign_joins);
    Counter(&out, "ordergate_guard_recovered_orders_total",
            "Dead gateways' RESERVED orders this gateway's sweeps moved to UNKNOWN.",
            g->orders_recovered);
    Counter(&out, "ordergate_guard_adopted_unknown_total",
            "Dead gateways' UNKNOWN orders adopted (asked about with ORDER_STATUS, never resent).",
            g->adopted_unknown);
    Counter(&out, "ordergate_guard_sweep_failures_total",
            "Sweeps or in-flight listings of the heartbeat that failed.", g->sweep_failures);
  }
  // The audit log (gateway/audit_log.h): lines written, and dropped when its queue was full or
  // a write failed (each visible here; the order path never waits for it).
  const AuditLogStats audit = gw.audit_log_stats();
  Gauge(&out, "ordergate_audit_log_enabled", "1 when the audit log is on (audit_log).",
        audit.enabled ? 1 : 0);
  Counter(&out, "ordergate_audit_lines_written_total", "Audit log lines written.",
          audit.lines_written);
  Counter(&out, "ordergate_audit_lines_dropped_total",
          "Audit events dropped: queue full (the disk stalled) or a failed write.",
          audit.lines_dropped);
  Counter(&out, "ordergate_audit_write_errors_total",
          "Audit log write, sync or rotation failures (each logged).", audit.write_errors);
  Gauge(&out, "ordergate_orders_in_flight", "Orders reserved and not yet terminal or UNKNOWN.",
        gw.in_flight());
  // What clients cost the front end (transport/front_end.h): connections against the cap, and
  // replies it had to drop because a client stopped reading or had gone.
  const transport::FrontEndStats fe = gw.front_end_stats();
  Gauge(&out, "ordergate_front_connections_open", "Client TCP connections open (any state).",
        fe.connections_open);
  Gauge(&out, "ordergate_front_connections_admitted",
        "Client connections admitted (handshake passed the cap).", fe.connections_admitted);
  Gauge(&out, "ordergate_front_max_connections", "The connection cap in force.",
        static_cast<uint64_t>(gw.front_end_max_connections()));
  Counter(&out, "ordergate_front_connections_refused_total",
          "Client connections refused at the cap.", fe.connections_refused);
  Counter(&out, "ordergate_front_accept_failures_total", "accept() failures (descriptor limits).",
          fe.accept_failures);
  Counter(&out, "ordergate_front_handshake_failures_total",
          "Client handshakes that failed (timeout, protocol, refusal).", fe.handshake_failures);
  // CURVE (docs/SECURITY.md): connections refused before they could send anything, and requests
  // of connections whose key a reload removed. All 0 without CURVE (the handshake failures of a
  // plain front end are counted above).
  Header(&out, "ordergate_front_auth_refused_total", "counter",
         "Refused by CURVE: connections with unknown_key (the client's key is not in "
         "curve_clients_dir) or a failed handshake (no key, not ZMTP at all, or too slow); "
         "requests dropped unread as revoked (their connection's key was removed by a reload).");
  absl::StrAppend(
      &out, "ordergate_front_auth_refused_total{reason=\"unknown_key\"} ", fe.curve_unknown_key,
      "\nordergate_front_auth_refused_total{reason=\"handshake\"} ", fe.curve_handshake_failed,
      "\nordergate_front_auth_refused_total{reason=\"revoked\"} ", fe.curve_revoked_requests, "\n");
  Counter(&out, "ordergate_front_replies_dropped_full_total",
          "Replies dropped: the client had send_hwm replies queued (it stopped reading).",
          fe.replies_dropped_full);
  Counter(&out, "ordergate_front_replies_dropped_gone_total",
          "Replies dropped: the client had disconnected.", fe.replies_dropped_gone);
  // Read from the store's in-flight index (RESERVED + UNKNOWN records: cost proportional to their
  // number), so that UNKNOWN orders from before the last start count too.
  std::optional<double> unknown_orders;
  if (const auto in_flight = gw.ListInFlightOrders(); in_flight.ok()) {
    unknown_orders = static_cast<double>(
        std::count_if(in_flight->begin(), in_flight->end(), [](const idempotency::Record& r) {
          return r.state == idempotency::RecordState::kUnknown;
        }));
  }
  GaugeOrNaN(&out, "ordergate_unknown_orders", "gauge",
             "UNKNOWN orders in the store now (no outcome known: the bridge's answer or an "
             "operator's resolution settles them); NaN when the store cannot be read.",
             unknown_orders);
  Gauge(&out, "ordergate_bridge_up", "1 while the bridge connection is up.",
        gw.bridge_up() ? 1 : 0);
  const int64_t age_ms = gw.bridge_reply_age_ms();
  GaugeOrNaN(&out, "ordergate_bridge_last_reply_age_seconds", "gauge",
             "Seconds since the last reply from the bridge (any request); NaN before the first.",
             age_ms < 0 ? std::nullopt : std::optional<double>(static_cast<double>(age_ms) / 1e3));
  Gauge(&out, "ordergate_bridge_capacity_requests",
        "Requests that may wait at the bridge now (its service time within the signature TTL).",
        gw.bridge_capacity());
  GaugeOrNaN(&out, "ordergate_bridge_service_seconds", "gauge",
             "Measured bridge service time per request; 0 before the first reply.",
             static_cast<double>(std::max<int64_t>(gw.bridge_service_us(), 0)) / 1e6);
  Gauge(&out, "ordergate_ready",
        "1 while the order loop takes orders (running, not draining); /readyz also needs the "
        "bridge up.",
        gw.ready() ? 1 : 0);
  absl::StrAppend(&out,
                  "# HELP ordergate_build_info The running ordergated's version and git commit.\n"
                  "# TYPE ordergate_build_info gauge\nordergate_build_info{version=\"",
                  BuildVersion(), "\",commit=\"", BuildCommit(), "\"} 1\n");

  const DataDirStats disk = ReadDataDirStats(gw.config().data_dir);
  GaugeOrNaN(&out, "ordergate_store_size_bytes", "gauge",
             "Apparent size of the files in the store's data directory; NaN when unreadable.",
             AsDouble(disk.store_bytes));
  GaugeOrNaN(&out, "ordergate_data_filesystem_size_bytes", "gauge",
             "Size of the filesystem holding the data directory; NaN when unreadable.",
             AsDouble(disk.filesystem_size_bytes));
  GaugeOrNaN(&out, "ordergate_data_filesystem_avail_bytes", "gauge",
             "Bytes still free for the gateway on the data directory's filesystem; NaN when "
             "unreadable.",
             AsDouble(disk.filesystem_avail_bytes));

  const ProcessStats p = ReadProcessStats();
  GaugeOrNaN(&out, "process_cpu_seconds_total", "counter",
             "Total user and system CPU time spent in seconds.", p.cpu_seconds);
  GaugeOrNaN(&out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
             AsDouble(p.resident_bytes));
  GaugeOrNaN(&out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
             AsDouble(p.virtual_bytes));
  GaugeOrNaN(&out, "process_open_fds", "gauge", "Number of open file descriptors.",
             AsDouble(p.open_fds));
  GaugeOrNaN(&out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
             AsDouble(p.max_fds));
  GaugeOrNaN(&out, "process_start_time_seconds", "gauge",
             "Start time of the process since unix epoch in seconds.", p.start_time_seconds);

  AppendLatencyMetrics(gw.stage_latency().Snapshot(), &out);
  return out;
}

}  // namespace ordergate::gateway
