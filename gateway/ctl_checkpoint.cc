#include "gateway/ctl_checkpoint.h"

#include <simdjson.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "transport/codec.h"

namespace ordergate::gateway::ctl {

namespace {

std::string Num(double v) {
  std::string s;
  AppendJsonNumber(v, &s);
  return s;
}

// "%.*f" for the Markdown table.
std::string Fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// Reads a member that may be absent (then `v` keeps its value).
template <typename Result, typename T>
void Optional(Result r, T* v) {
  if (r.get(*v) != simdjson::SUCCESS) return;
}

std::string Bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return Fixed(b, u == 0 ? 0 : 1) + " " + units[u];
}

// The figures of one /admin/windows body.
struct Figures {
  int64_t window_s = 0;
  std::string from, to;
  uint64_t orders = 0, sent = 0, filled = 0, rejected = 0, unknown = 0, unknown_resolved = 0;
  uint64_t duplicate_requests = 0, duplicate_sends = 0, conflicts = 0, denied = 0, peak = 0;
  double covered_s = 0, cpu_seconds = 0;
  uint64_t rss_bytes = 0;
  std::optional<uint64_t> store_bytes;
  std::optional<double> disk_used_percent;
  double p50 = 0, p99 = 0, p999 = 0, max = 0;
  uint64_t latency_count = 0;
};

absl::StatusOr<Figures> ReadFigures(absl::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS || !doc.is_object()) {
    return absl::InvalidArgumentError("the gateway's /admin/windows answer is not a JSON object");
  }
  std::string missing;
  auto u64 = [&](simdjson::dom::element e, const char* key) -> uint64_t {
    uint64_t v = 0;
    if (e[key].get(v) != simdjson::SUCCESS && missing.empty()) missing = key;
    return v;
  };
  auto dbl = [&](simdjson::dom::element e, const char* key) -> double {
    double v = 0;
    if (e[key].get(v) != simdjson::SUCCESS && missing.empty()) missing = key;
    return v;
  };
  Figures f;
  f.window_s = static_cast<int64_t>(u64(doc, "window_s"));
  std::string_view s;
  if (doc["from"].get(s) == simdjson::SUCCESS) f.from = std::string(s);
  if (doc["to"].get(s) == simdjson::SUCCESS) f.to = std::string(s);
  f.orders = u64(doc, "orders");
  f.sent = u64(doc, "sent");
  f.filled = u64(doc, "filled");
  f.rejected = u64(doc, "rejected");
  f.unknown = u64(doc, "unknown");
  f.unknown_resolved = u64(doc, "unknown_resolved");
  f.duplicate_requests = u64(doc, "duplicate_requests");
  f.duplicate_sends = u64(doc, "duplicate_sends");
  f.conflicts = u64(doc, "conflicts");
  f.denied = u64(doc, "denied");
  f.peak = u64(doc, "peak_minute_orders");
  f.covered_s = dbl(doc, "covered_s");
  f.cpu_seconds = dbl(doc, "cpu_seconds");
  f.rss_bytes = u64(doc, "rss_max_bytes");
  if (f.rss_bytes == 0) f.rss_bytes = u64(doc, "rss_bytes");
  uint64_t sb = 0;
  if (doc["store_bytes"].get(sb) == simdjson::SUCCESS) f.store_bytes = sb;
  double dp = 0;
  if (doc["disk_used_percent"].get(dp) == simdjson::SUCCESS) f.disk_used_percent = dp;
  simdjson::dom::element total;
  if (doc["latency_ms"]["total"].get(total) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(
        "the gateway's /admin/windows answer has no latency_ms.total");
  }
  f.latency_count = u64(total, "count");
  f.p50 = dbl(total, "p50");
  f.p99 = dbl(total, "p99");
  f.p999 = dbl(total, "p999");
  f.max = dbl(total, "max");
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the gateway's /admin/windows answer has no ",
                                                   missing,
                                                   " (a gateway older than this ordergatectl?)"));
  }
  return f;
}

std::string WindowName(int64_t window_s) {
  if (window_s % 3600 == 0) return absl::StrCat(window_s / 3600, " h");
  if (window_s % 60 == 0) return absl::StrCat(window_s / 60, " min");
  return absl::StrCat(window_s, " s");
}

}  // namespace

absl::StatusOr<SloTargets> LoadSloFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("--slo ", path, ": cannot be read"));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (parser.parse(text).get(obj) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError(absl::StrCat("--slo ", path, ": not a JSON object"));
  }
  SloTargets t;
  for (auto [key, value] : obj) {
    double v = 0;
    if (value.get(v) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("--slo ", path, ": ", std::string(key), " must be a number"));
    }
    if (key == "duplicate_send_rate_max") {
      t.duplicate_send_rate_max = v;
    } else if (key == "success_rate_min") {
      t.success_rate_min = v;
    } else if (key == "p99_ms_max") {
      t.p99_ms_max = v;
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("--slo ", path, ": unknown member ", std::string(key),
                       " (known: duplicate_send_rate_max, success_rate_min, p99_ms_max)"));
    }
  }
  return t;
}

absl::StatusOr<Checkpoint> BuildCheckpoint(absl::string_view windows_json, const SloTargets& slo) {
  absl::StatusOr<Figures> read = ReadFigures(windows_json);
  if (!read.ok()) return read.status();
  const Figures& f = *read;
  // Nothing sent, nothing failed: 1.0, as when every order sent was filled.
  const double success =
      f.sent == 0 ? 1.0 : static_cast<double>(f.filled) / static_cast<double>(f.sent);
  const double dup_rate =
      f.sent == 0 ? 0.0
                  : 100.0 * static_cast<double>(f.duplicate_sends) / static_cast<double>(f.sent);
  const double mean_tput = f.covered_s > 0 ? static_cast<double>(f.orders) / f.covered_s : 0.0;
  const double peak_tput = static_cast<double>(f.peak) / 60.0;
  const double cpu_percent = f.covered_s > 0 ? 100.0 * f.cpu_seconds / f.covered_s : 0.0;

  Checkpoint c;
  c.checks = {
      {"duplicate_sends", dup_rate, absl::StrCat("<= ", Num(slo.duplicate_send_rate_max), " %"),
       dup_rate <= slo.duplicate_send_rate_max},
      {"success_rate", success, absl::StrCat(">= ", Num(slo.success_rate_min)),
       success >= slo.success_rate_min},
      {"latency_p99_ms", f.p99, absl::StrCat("< ", Num(slo.p99_ms_max), " ms"),
       f.p99 < slo.p99_ms_max},
  };
  c.pass = true;
  for (const CheckpointCheck& k : c.checks) c.pass = c.pass && k.ok;
  const char* verdict = c.pass ? "PASS" : "FAIL";

  std::string& j = c.json;
  j = absl::StrCat(
      "{\"window_s\":", f.window_s, ",\"from\":\"", f.from, "\",\"to\":\"", f.to,
      "\",\"orders\":", f.orders, ",\"sent\":", f.sent, ",\"filled\":", f.filled,
      ",\"rejected\":", f.rejected, ",\"unknown\":", f.unknown,
      ",\"unknown_resolved\":", f.unknown_resolved,
      ",\"duplicate_requests\":", f.duplicate_requests, ",\"duplicate_sends\":", f.duplicate_sends,
      ",\"conflicts\":", f.conflicts, ",\"denied\":", f.denied, ",\"success_rate\":", Num(success),
      ",\"latency_ms\":{\"p50\":", Num(f.p50), ",\"p99\":", Num(f.p99), ",\"p999\":", Num(f.p999),
      ",\"max\":", Num(f.max), ",\"count\":", f.latency_count,
      "},\"throughput_per_s\":{\"mean\":", Num(mean_tput), ",\"peak_1m\":", Num(peak_tput),
      "},\"cpu_percent\":", Num(cpu_percent), ",\"rss_bytes\":", f.rss_bytes,
      ",\"disk_used_percent\":", f.disk_used_percent ? Num(*f.disk_used_percent) : "null",
      ",\"store_bytes\":", f.store_bytes ? absl::StrCat(*f.store_bytes) : std::string("null"),
      ",\"covered_s\":", Num(f.covered_s), ",\"checks\":[");
  for (size_t i = 0; i < c.checks.size(); ++i) {
    const CheckpointCheck& k = c.checks[i];
    absl::StrAppend(&j, i == 0 ? "" : ",", "{\"name\":\"", k.name, "\",\"value\":", Num(k.value),
                    ",\"target\":\"", k.target, "\",\"ok\":", k.ok ? "true" : "false", "}");
  }
  absl::StrAppend(&j, "],\"verdict\":\"", verdict, "\"}\n");

  auto mark = [](bool ok) { return ok ? "✅" : "❌"; };
  std::string& m = c.markdown;
  m = absl::StrCat("# ordergate checkpoint: ", WindowName(f.window_s), "\n\n", "Window ", f.from,
                   " .. ", f.to, " (the gateway ran ", Fixed(f.covered_s, 0), " s of it).\n\n",
                   "**Verdict: ", verdict, " ", mark(c.pass), "**\n\n",
                   "| Figure | Value | Target | |\n|---|---|---|---|\n");
  absl::StrAppend(&m, "| Duplicate sends (a uuid sent twice) | ", f.duplicate_sends, " of ", f.sent,
                  " sends (", Fixed(dup_rate, 2), " %) | ", c.checks[0].target, " | ",
                  mark(c.checks[0].ok), " |\n");
  absl::StrAppend(&m, "| Push success (filled / sent) | ", Fixed(100.0 * success, 2), " % (",
                  f.filled, " / ", f.sent, ") | >= ", Fixed(100.0 * slo.success_rate_min, 2),
                  " % | ", mark(c.checks[1].ok), " |\n");
  absl::StrAppend(&m, "| Latency P99 (arrival to reply) | ", Fixed(f.p99, 3), " ms | ",
                  c.checks[2].target, " | ", mark(c.checks[2].ok), " |\n");
  absl::StrAppend(&m, "| Latency P50 / P999 / max | ", Fixed(f.p50, 3), " / ", Fixed(f.p999, 3),
                  " / ", Fixed(f.max, 3), " ms | - | |\n");
  absl::StrAppend(&m, "| Orders (distinct uuids accepted) | ", f.orders, " | - | |\n");
  absl::StrAppend(&m, "| Filled / rejected / UNKNOWN | ", f.filled, " / ", f.rejected, " / ",
                  f.unknown, " (", f.unknown_resolved, " UNKNOWN resolved) | - | |\n");
  absl::StrAppend(&m, "| Duplicate requests (answered without sending) | ", f.duplicate_requests,
                  " | - | |\n");
  absl::StrAppend(&m, "| Idempotency conflicts / refused | ", f.conflicts, " / ", f.denied,
                  " | - | |\n");
  absl::StrAppend(&m, "| Throughput mean / peak minute | ", Fixed(mean_tput, 2), " / ",
                  Fixed(peak_tput, 2), " orders/s | - | |\n");
  absl::StrAppend(&m, "| CPU | ", Fixed(cpu_percent, 1), " % of one core | - | |\n");
  absl::StrAppend(&m, "| Memory (highest RSS) | ", Bytes(static_cast<double>(f.rss_bytes)),
                  " | - | |\n");
  absl::StrAppend(&m, "| Disk used / store size | ",
                  f.disk_used_percent ? Fixed(*f.disk_used_percent, 1) + " %" : "unknown", " / ",
                  f.store_bytes ? Bytes(static_cast<double>(*f.store_bytes)) : "unknown",
                  " | - | |\n");
  return c;
}

CtlCommand AddCheckpointCommand(CLI::App& app) {
  struct Options {
    std::string window = "1h";
    std::string slo;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  CLI::App* sub = app.add_subcommand(
      "checkpoint", "the production checkpoint for a window: every figure, its target, a verdict");
  sub->add_option("--window", o->window, "1h, 4h, 12h or 24h (or N followed by h, m or s)")
      ->capture_default_str();
  sub->add_option("--slo", o->slo,
                  "a JSON file of targets overriding the seed's: duplicate_send_rate_max (%), "
                  "success_rate_min, p99_ms_max");
  sub->add_flag("--json", o->json, "one JSON object instead of Markdown");
  return {sub, [o](Context& ctx) {
            SloTargets slo;
            if (!o->slo.empty()) {
              absl::StatusOr<SloTargets> loaded = LoadSloFile(o->slo);
              if (!loaded.ok()) {
                ctx.err() << "ordergatectl: " << loaded.status().message() << "\n";
                return 1;
              }
              slo = *loaded;
            }
            const HttpAnswer a = ctx.Get("/admin/windows?window=" + o->window);
            if (a.status != 200) return ctx.Fail("checkpoint", a);
            absl::StatusOr<Checkpoint> c = BuildCheckpoint(a.body, slo);
            if (!c.ok()) {
              ctx.err() << "ordergatectl: checkpoint: " << c.status().message() << "\n";
              return 1;
            }
            ctx.out() << (o->json ? c->json : c->markdown);
            return 0;
          }};
}

CtlCommand AddStatusCommand(CLI::App& app) {
  CLI::App* sub = app.add_subcommand(
      "status",
      "one screen: ready, bridge, in flight, UNKNOWN orders, the last minute's orders and p99");
  return {sub, [](Context& ctx) {
            const HttpAnswer st = ctx.Get("/admin/status");
            if (st.status != 200) return ctx.Fail("status", st);
            // The last complete minute and the one in progress: a window is whole minutes ending
            // in the current one, so 60 s would be the current minute alone (empty at its start).
            const HttpAnswer win = ctx.Get("/admin/windows?window=120s");
            if (win.status != 200) return ctx.Fail("status", win);
            simdjson::dom::parser p1, p2;
            simdjson::dom::element s, w;
            if (p1.parse(st.body).get(s) != simdjson::SUCCESS ||
                p2.parse(win.body).get(w) != simdjson::SUCCESS) {
              ctx.err() << "ordergatectl: status: the gateway's answer is not JSON\n";
              return 1;
            }
            bool ready = false;
            std::string_view bridge = "?";
            uint64_t in_flight = 0, orders = 0, filled = 0;
            int64_t unknown = -1;
            double p99 = 0;
            Optional(s["ready"], &ready);
            Optional(s["bridge"], &bridge);
            Optional(s["in_flight"], &in_flight);
            Optional(s["unknown"], &unknown);
            Optional(w["orders"], &orders);
            Optional(w["filled"], &filled);
            Optional(w["latency_ms"]["total"]["p99"], &p99);
            std::string_view from;
            Optional(w["from"], &from);
            ctx.out() << "gateway   " << ctx.options().gateway << ": up, "
                      << (ready ? "ready" : "NOT ready") << "\n"
                      << "bridge    " << bridge << "\n"
                      << "in flight " << in_flight << "\n"
                      << "UNKNOWN   " << (unknown < 0 ? std::string("?") : std::to_string(unknown))
                      << (unknown > 0 ? "  (settle: ordergatectl orders --state unknown)" : "")
                      << "\n"
                      << "minute    " << orders << " orders, " << filled << " filled, p99 "
                      << Fixed(p99, 3) << " ms (the last minute and this one, since "
                      << from.substr(0, 16) << "Z)\n";
            return 0;
          }};
}

}  // namespace ordergate::gateway::ctl
