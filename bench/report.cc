// The verdict and the report (see report.h).
#include "bench/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "transport/codec.h"

namespace ordergate::bench {
namespace {

std::string Num(double v, int digits = 1) {
  char b[64];
  std::snprintf(b, sizeof b, "%.*f", digits, v);
  return b;
}

std::string Pct(double share) { return Num(share * 100, 2) + "%"; }

std::string JsonEscape(const std::string& s) {
  std::string out;
  AppendJsonString(s, &out);
  return out;
}

// What a refusal code usually means in a load run; null when there is nothing to add.
const char* Hint(std::string_view code) {
  if (code == "GATEWAY_BUSY") {
    return "ordergate refused at once: the bridge's queue already held what the bridge serves "
           "within the signature TTL at its measured service time. The offered rate is more than "
           "the bridge carries (a serial bridge carries about 1 / its mean latency per second): "
           "lower --rate, or run the simulator with --workers N";
  }
  if (code == "RISK_SIGNATURE_INVALID") {
    return "the bridge found the risk signature expired: requests waited in its queue longer "
           "than its TTL (the bridge is slower than the offered rate)";
  }
  if (code == "BRIDGE_DOWN") return "ordergate had no live connection to the bridge";
  if (code == "BRIDGE_TIMEOUT") return "the bridge did not answer within bridge_timeout_ms";
  if (code == "STORE_UNAVAILABLE") return "ordergate's idempotency store refused writes";
  return nullptr;
}

std::string CodesText(const CodeTally& t) {
  std::string s;
  for (const auto& [code, n] : t.NonZero())
    absl::StrAppend(&s, s.empty() ? "" : ", ", code, " ", n);
  return s;
}

std::string CodesJson(const CodeTally& t) {
  std::string s = "{";
  bool first = true;
  for (const auto& [code, n] : t.NonZero()) {
    absl::StrAppend(&s, first ? "" : ",", JsonEscape(code), ":", n);
    first = false;
  }
  return s + "}";
}

std::string FatesJson(const OrderFates& f) {
  return absl::StrCat("{\"orders\":", f.orders, ",\"FILLED\":", f.filled,
                      ",\"refused\":", f.refused.Total(),
                      ",\"refused_by_code\":", CodesJson(f.refused), ",\"UNKNOWN\":", f.unknown,
                      ",\"without_final_outcome\":", f.without_final(),
                      ",\"filled_share\":", Num(f.filled_share(), 6), "}");
}

std::string LatencyJson(const std::vector<int64_t>& sorted_ns) {
  const auto q = [&](double p) { return Num(PercentileUs(sorted_ns, p)); };
  double sum = 0;
  for (int64_t v : sorted_ns) sum += static_cast<double>(v);
  const double mean = sorted_ns.empty() ? 0 : sum / static_cast<double>(sorted_ns.size()) / 1000.0;
  return absl::StrCat(
      "{\"p50\":", q(0.5), ",\"p90\":", q(0.9), ",\"p99\":", q(0.99), ",\"p99.9\":", q(0.999),
      ",\"max\":", Num(sorted_ns.empty() ? 0 : static_cast<double>(sorted_ns.back()) / 1000.0),
      ",\"mean\":", Num(mean), ",\"count\":", sorted_ns.size(), "}");
}

// CPU time per order completed of the process in `role` (process_cpu.h), in us; -1 when it was
// not measured or could not be read.
double CpuUsPerOrder(const RunResult& r, std::string_view role) {
  for (const ProcessCpuUse& u : r.cpu) {
    if (u.role == role && u.cpu_ns >= 0 && r.cpu_window_orders > 0) {
      return static_cast<double>(u.cpu_ns) / 1000.0 / static_cast<double>(r.cpu_window_orders);
    }
  }
  return -1;
}

std::string CpuJson(const RunResult& r) {
  if (r.cpu.empty()) return "null";
  const double window_s = static_cast<double>(r.cpu_window_ns) / 1e9;
  std::string s = absl::StrCat("{\"source\":\"utime+stime of every thread, /proc/PID/stat\"",
                               ",\"window_s\":", Num(window_s, 3),
                               ",\"orders_completed\":", r.cpu_window_orders, ",\"processes\":[");
  for (size_t i = 0; i < r.cpu.size(); ++i) {
    const ProcessCpuUse& u = r.cpu[i];
    const double us = CpuUsPerOrder(r, u.role);
    absl::StrAppend(
        &s, i ? "," : "", "{\"role\":", JsonEscape(u.role), ",\"what\":", JsonEscape(u.what),
        ",\"pid\":", u.pid,
        ",\"cpu_s\":", u.cpu_ns >= 0 ? Num(static_cast<double>(u.cpu_ns) / 1e9, 3) : "null",
        ",\"us_per_order\":", us >= 0 ? Num(us, 2) : "null", ",\"cpus\":",
        u.cpu_ns >= 0 && window_s > 0 ? Num(static_cast<double>(u.cpu_ns) / 1e9 / window_s, 3)
                                      : "null",
        "}");
  }
  return s + "]}";
}

// "gateway = ordergated pid 12, bridge = ordergate-bridge-sim pid 34, ..." (empty: none).
std::string CpuProcessesText(const RunResult& r) {
  std::string s;
  for (const ProcessCpuUse& u : r.cpu) {
    absl::StrAppend(&s, s.empty() ? "" : ", ", u.role, " = ", u.what, " pid ", u.pid,
                    u.cpu_ns < 0 ? " (unreadable)" : "");
  }
  return s;
}

std::string RunJson(const RunResult& r, const Figures& f, const ReportContext* stages_of) {
  std::ostringstream js;
  js << "{\"prefix\":" << JsonEscape(r.prefix) << ",\"orders\":" << r.issued
     << ",\"measured_orders\":" << r.measured << ",\"finished_orders\":" << r.finished
     << ",\"orders_without_final_outcome\":" << (r.issued - r.finished)
     << ",\"success_rate\":" << Num(f.success, 6) << ",\"fates\":" << FatesJson(r.fates)
     << ",\"fates_all\":" << FatesJson(r.fates_all)
     << ",\"refusals_by_code\":" << CodesJson(r.fates.refused)
     << ",\"outcomes\":{\"FILLED\":" << r.fates.filled << ",\"REJECTED\":" << r.fates.rejected
     << ",\"UNKNOWN\":" << r.fates.unknown << ",\"error\":" << r.fates.errored << "}"
     << ",\"unanswered_submissions\":" << r.unanswered_submissions << ",\"sent\":" << r.sent
     << ",\"sent_retries\":" << r.sent_retries << ",\"sent_conflicts\":" << r.sent_conflicts
     << ",\"sent_pending_followups\":" << r.sent_followups << ",\"replies\":" << r.replies
     << ",\"duplicate_replies\":" << r.duplicate_replies << ",\"stray_replies\":" << r.stray_replies
     << ",\"send_failures\":" << r.send_failures << ",\"replies_by_status\":{";
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    js << (i ? "," : "") << "\"" << kStatusNames[i] << "\":" << r.by_status[i];
  }
  js << "},\"reply_codes\":" << CodesJson(r.reply_codes)
     << ",\"executed_uuids\":" << r.executed_uuids
     << ",\"duplicate_executions\":" << r.duplicate_executions
     << ",\"throughput_per_s\":" << Num(f.throughput)
     << ",\"window_s\":" << Num(static_cast<double>(r.window_ns) / 1e9, 3)
     << ",\"latency_us\":" << LatencyJson(r.filled_ns)
     << ",\"not_filled_latency_us\":" << LatencyJson(r.not_filled_ns) << ",\"cpu\":" << CpuJson(r);
  js << ",\"harness_send_lag_us\":{\"p50\":"
     << Num(static_cast<double>(r.send_lag.ValueAtQuantile(0.5)) / 1000.0)
     << ",\"p99\":" << Num(static_cast<double>(r.send_lag.ValueAtQuantile(0.99)) / 1000.0) << "}";
  if (stages_of != nullptr && stages_of->stage_asked) {
    const LatencySnapshot& probe = *stages_of->stage_probe;
    js << ",\"stages_http_status\":" << probe.http_status;
    if (stages_of->stages != nullptr && probe.http_status == 200) {
      js << ",\"stages\":{";
      bool first_stage = true;
      for (const Stage& s : *stages_of->stages) {
        const StageFigures sf = Summarize(s);
        js << (first_stage ? "" : ",") << JsonEscape(s.name) << ":{\"count\":" << sf.count
           << ",\"mean_us\":" << Num(sf.mean_us, 2) << ",\"p50_us\":" << Num(sf.p50_us, 2)
           << ",\"p90_us\":" << Num(sf.p90_us, 2) << ",\"p99_us\":" << Num(sf.p99_us, 2)
           << ",\"p99.9_us\":" << Num(sf.p999_us, 2) << ",\"max_us\":" << Num(sf.max_us, 2) << "}";
        first_stage = false;
      }
      js << "}";
    } else {
      js << ",\"stages\":null,\"stages_error\":" << JsonEscape(probe.error);
    }
  }
  if (!r.error.empty()) js << ",\"error\":" << JsonEscape(r.error);
  js << "}";
  return js.str();
}

std::string RatioJson(double a, double b) { return b > 0 ? Num(a / b, 3) : "null"; }

}  // namespace

double PercentileUs(const std::vector<int64_t>& sorted_ns, double q) {
  if (sorted_ns.empty()) return 0;
  const auto rank = static_cast<size_t>(std::ceil(q * static_cast<double>(sorted_ns.size())));
  return static_cast<double>(sorted_ns[std::min(sorted_ns.size() - 1, rank == 0 ? 0 : rank - 1)]) /
         1000.0;
}

Figures FiguresOf(const RunResult& r) {
  Figures f;
  const auto& l = r.filled_ns;
  f.count = l.size();
  f.p50 = PercentileUs(l, 0.5);
  f.p90 = PercentileUs(l, 0.9);
  f.p99 = PercentileUs(l, 0.99);
  f.p999 = PercentileUs(l, 0.999);
  f.max = l.empty() ? 0 : static_cast<double>(l.back()) / 1000.0;
  double sum = 0;
  for (int64_t v : l) sum += static_cast<double>(v);
  f.mean = l.empty() ? 0 : sum / static_cast<double>(l.size()) / 1000.0;
  f.throughput =
      r.window_ns > 0 ? static_cast<double>(l.size()) * 1e9 / static_cast<double>(r.window_ns) : 0;
  f.success = r.fates.filled_share();
  return f;
}

Verdict Judge(const Options& opt, const RunResult& gw, const RunResult* base) {
  Verdict v;
  if (gw.duplicate_executions > 0) {
    v.problems.push_back(absl::StrCat("DUPLICATE EXECUTIONS at the bridge under ordergate: ",
                                      gw.duplicate_executions));
  }
  if (gw.issued - gw.finished > 0) {
    v.problems.push_back(
        absl::StrCat(gw.issued - gw.finished, " orders without a final outcome under ordergate"));
  }
  if (!gw.error.empty()) v.problems.push_back("ordergate run failed: " + gw.error);
  if (base != nullptr && !base->error.empty()) {
    v.problems.push_back("baseline run failed: " + base->error);
  }

  const double g = gw.fates.filled_share();
  if (opt.min_success_rate > 0 && gw.fates.orders > 0 && g < opt.min_success_rate) {
    v.mostly_refused = true;
    v.warnings.push_back(absl::StrCat(
        "MOST ORDERS WERE NOT FILLED under ordergate: ", Pct(g), " FILLED (", gw.fates.filled,
        " of ", gw.fates.orders, "), below --min-success-rate ", Pct(opt.min_success_rate),
        ". Latency and throughput below are of the FILLED orders only."));
    for (const auto& [code, n] : gw.fates.refused.NonZero()) {
      if (n * 10 < gw.fates.orders) continue;  // the codes behind at least a tenth of the orders
      const char* hint = Hint(code);
      v.warnings.push_back(
          absl::StrCat(code, " ", n, hint != nullptr ? ": " : "", hint != nullptr ? hint : ""));
    }
  }

  if (base != nullptr) {
    const double b = base->fates.filled_share();
    v.ratio_comparable = std::min(g, b) >= kComparableMinShare &&
                         std::abs(g - b) <= kComparableMaxGap && !gw.filled_ns.empty() &&
                         !base->filled_ns.empty();
    if (!v.ratio_comparable) {
      v.ratio_withheld = absl::StrCat("ordergate FILLED ", Pct(g), " of its orders, the baseline ",
                                      Pct(b), ": not comparable work (a ratio needs both at least ",
                                      Pct(kComparableMinShare), " and within ",
                                      Num(kComparableMaxGap * 100, 0), " points of each other)");
    }
  }
  v.exit_code = !v.problems.empty() ? kExitFailed : v.mostly_refused ? kExitMostlyRefused : kExitOk;
  return v;
}

std::string FatesLine(const OrderFates& f) {
  const uint64_t refused = f.refused.Total();
  return absl::StrCat(Pct(f.filled_share()), " FILLED: ", f.filled, " of ", f.orders,
                      " orders; refused ", refused,
                      refused > 0 ? absl::StrCat(" (", CodesText(f.refused), ")") : "",
                      "; UNKNOWN ", f.unknown, "; no final reply ", f.without_final());
}

std::string NotFilledText(const OrderFates& f) {
  std::string s = CodesText(f.refused);
  if (f.unknown > 0) absl::StrAppend(&s, s.empty() ? "" : ", ", "UNKNOWN ", f.unknown);
  if (f.without_final() > 0) {
    absl::StrAppend(&s, s.empty() ? "" : ", ", "no final reply ", f.without_final());
  }
  return s;
}

std::string PlotTitle(const RunResult& gw, const RunResult* base) {
  std::string t = absl::StrCat("ordergate-bench: ordergate ", Pct(gw.fates.filled_share()),
                               " FILLED (", gw.fates.filled, " of ", gw.fates.orders, ")");
  if (base != nullptr) {
    absl::StrAppend(&t, ", baseline ", Pct(base->fates.filled_share()), " FILLED (",
                    base->fates.filled, " of ", base->fates.orders, ")");
  }
  return t;
}

void PrintReport(const ReportContext& ctx, const RunResult& gw, const RunResult* base,
                 const Verdict& v, std::FILE* out) {
  const Options& opt = *ctx.opt;
  const Figures g = FiguresOf(gw);
  const Figures b = base != nullptr ? FiguresOf(*base) : Figures{};
  const bool has_base = base != nullptr;
  const char* target_name = opt.embedded ? "ordergate (embedded)" : "ordergate";
  std::fprintf(out,
               "ordergate-bench: %s, %d clients, retries %.0f%% (half in flight, half after the "
               "reply), conflicts %.0f%%, warm-up %.1f s, %s per run\n",
               ctx.mode.c_str(), opt.clients, opt.retry_ratio * 100, opt.conflict_ratio * 100,
               opt.warmup_s, ctx.per_run.c_str());
  // The headline: what happened to the measured orders, success rate first.
  std::fprintf(out, "  result %-10s %s\n", target_name, FatesLine(gw.fates).c_str());
  if (has_base)
    std::fprintf(out, "  result %-10s %s\n", "baseline", FatesLine(base->fates).c_str());
  if (opt.warmup_s > 0) {
    std::fprintf(out, "  (every order sent, warm-up included: %s %s)\n", target_name,
                 FatesLine(gw.fates_all).c_str());
  }
  for (const std::string& w : v.warnings) {
    std::fprintf(out, "WARNING: %s\n", w.c_str());
    std::fprintf(stderr, "ordergate-bench: WARNING: %s\n", w.c_str());
  }
  std::fprintf(out, "  run order: %s; machine: %u CPUs, load average %.2f %.2f %.2f at start\n",
               ctx.run_order.c_str(), std::thread::hardware_concurrency(), ctx.load[0], ctx.load[1],
               ctx.load[2]);
  if (ctx.fsync_us.first >= 0) {
    std::fprintf(
        out,
        "  fdatasync of a 4 KiB append in %s (500 before the runs): p50 %.1f us  p99 %.1f us\n",
        opt.fsync_probe_dir.c_str(), ctx.fsync_us.first, ctx.fsync_us.second);
  }
  const bool ratios = has_base && v.ratio_comparable;
  std::fprintf(out, "  %-34s %20s %20s %8s\n", "", target_name, has_base ? "baseline" : "",
               has_base ? "ratio" : "");
  const auto row = [&](const char* name, const std::string& gv, const std::string& bv,
                       const std::string& ratio) {
    std::fprintf(out, "  %-34s %20s %20s %8s\n", name, gv.c_str(), has_base ? bv.c_str() : "",
                 ratios ? ratio.c_str() : (has_base && !ratio.empty() ? "-" : ""));
  };
  const auto ratio = [](double a, double c) { return c > 0 ? Num(a / c, 2) : std::string("-"); };
  const auto lat = [](const Figures& f, double v_us) {
    return f.count > 0 ? Num(v_us) : std::string("-");
  };
  row("FILLED orders/s", Num(g.throughput, 0), Num(b.throughput, 0),
      ratio(g.throughput, b.throughput));
  row("FILLED latency p50 us", lat(g, g.p50), lat(b, b.p50), ratio(g.p50, b.p50));
  row("FILLED latency p90 us", lat(g, g.p90), lat(b, b.p90), ratio(g.p90, b.p90));
  row("FILLED latency p99 us", lat(g, g.p99), lat(b, b.p99), ratio(g.p99, b.p99));
  row("FILLED latency p99.9 us", lat(g, g.p999), lat(b, b.p999), ratio(g.p999, b.p999));
  row("FILLED latency max us", lat(g, g.max), lat(b, b.max), ratio(g.max, b.max));
  const auto not_filled = [](const RunResult& r) {
    if (r.not_filled_ns.empty()) return std::string("-");
    return absl::StrCat(Num(PercentileUs(r.not_filled_ns, 0.5), 0), " / ",
                        Num(PercentileUs(r.not_filled_ns, 0.99), 0));
  };
  row("not FILLED latency p50 / p99 us", not_filled(gw), has_base ? not_filled(*base) : "", "");
  const auto dup_text = [](const RunResult& r) {
    return r.duplicate_executions < 0 ? std::string("unchecked (no --journal)")
                                      : absl::StrCat(r.duplicate_executions);
  };
  row("duplicate executions at bridge", dup_text(gw),
      has_base ? dup_text(*base) + " (no guard)" : "", "");
  row("orders sent (warm-up included)", absl::StrCat(gw.issued),
      has_base ? absl::StrCat(base->issued) : "", "");
  row("messages sent (incl. retries)", absl::StrCat(gw.sent),
      has_base ? absl::StrCat(base->sent) : "", "");
  row("duplicate:true replies", absl::StrCat(gw.duplicate_replies),
      has_base ? absl::StrCat(base->duplicate_replies) : "", "");
  if (opt.rate > 0) {
    const auto lag = [](const RunResult& r) {
      return absl::StrCat(Num(static_cast<double>(r.send_lag.ValueAtQuantile(0.5)) / 1000.0), " / ",
                          Num(static_cast<double>(r.send_lag.ValueAtQuantile(0.99)) / 1000.0));
    };
    row("harness send lag p50 / p99 us", lag(gw), has_base ? lag(*base) : "", "");
  }
  row("PENDING follow-ups sent", absl::StrCat(gw.sent_followups),
      has_base ? absl::StrCat(base->sent_followups) : "", "");
  if (!gw.cpu.empty() || (has_base && !base->cpu.empty())) {
    // Each process's whole CPU time (every thread, user and kernel) over the window from the end
    // of the warm-up to the last send, per order completed in it.
    const auto cpu = [](const RunResult& r, std::string_view role) {
      const double us = CpuUsPerOrder(r, role);
      return us >= 0 ? Num(us, 2) : std::string("-");
    };
    const double gw_cpu = CpuUsPerOrder(gw, "gateway");
    const double fwd_cpu = has_base ? CpuUsPerOrder(*base, "forwarder") : -1;
    row("CPU us/order: gateway | forwarder", cpu(gw, "gateway"),
        has_base ? cpu(*base, "forwarder") : "",
        gw_cpu > 0 && fwd_cpu > 0 ? Num(gw_cpu / fwd_cpu, 2) : "-");
    row("CPU us/order: bridge simulator", cpu(gw, "bridge"), has_base ? cpu(*base, "bridge") : "",
        "");
    row("CPU us/order: harness", cpu(gw, "harness"), has_base ? cpu(*base, "harness") : "", "");
    row("orders completed in the CPU window", absl::StrCat(gw.cpu_window_orders),
        has_base ? absl::StrCat(base->cpu_window_orders) : "", "");
    std::fprintf(out,
                 "  CPU per order: utime+stime of each whole process (/proc/PID/stat), end of the "
                 "warm-up to the last send, / orders completed then; %s: %s%s%s\n",
                 target_name, CpuProcessesText(gw).c_str(), has_base ? "; baseline: " : "",
                 has_base ? CpuProcessesText(*base).c_str() : "");
  }
  if (has_base && !v.ratio_comparable) {
    std::fprintf(out, "  ratio withheld: %s\n", v.ratio_withheld.c_str());
  } else if (has_base && base->duplicate_executions > 0) {
    std::fprintf(out,
                 "  note: the baseline's bridge also executed %lld duplicates (no guard); a serial "
                 "bridge serves them in line with the other orders\n",
                 static_cast<long long>(base->duplicate_executions));
  }
  std::fprintf(out, "  replies by status (ordergate):");
  for (size_t i = 0; i < kStatusNames.size(); ++i) {
    if (gw.by_status[i] > 0) {
      std::fprintf(out, " %s %llu", kStatusNames[i],
                   static_cast<unsigned long long>(gw.by_status[i]));
    }
  }
  const std::string codes = CodesText(gw.reply_codes);
  std::fprintf(out, "\n  error codes over every reply, retries included (ordergate): %s\n",
               codes.empty() ? "none" : codes.c_str());
  if (ctx.stage_asked) {
    if (ctx.stage_probe->http_status == 200) {
      std::fprintf(out,
                   "  gateway per-stage latency over the measured window (GET /latency, after - "
                   "before), every order, us:\n");
      std::fprintf(out, "    %-12s %10s %9s %9s %9s %9s %9s %9s\n", "stage", "count", "mean", "p50",
                   "p90", "p99", "p99.9", "max<=");
      for (const Stage& s : *ctx.stages) {
        const StageFigures sf = Summarize(s);
        std::fprintf(out, "    %-12s %10lld %9.1f %9.1f %9.1f %9.1f %9.1f %9.1f\n", s.name.c_str(),
                     static_cast<long long>(sf.count), sf.mean_us, sf.p50_us, sf.p90_us, sf.p99_us,
                     sf.p999_us, sf.max_us);
      }
    } else {
      std::fprintf(out, "  gateway per-stage latency: not available (%s)\n",
                   ctx.stage_probe->error.c_str());
    }
  } else {
    std::fprintf(out, "  gateway per-stage latency: not asked (give --metrics HOST:PORT)\n");
  }
}

std::string ReportJson(const ReportContext& ctx, const RunResult& gw, const RunResult* base,
                       const Verdict& v) {
  const Options& opt = *ctx.opt;
  const Figures g = FiguresOf(gw);
  std::ostringstream js;
  js << "{\"config\":{\"mode\":" << JsonEscape(opt.rate > 0 ? "open-loop" : "closed-loop")
     << ",\"rate\":" << opt.rate << ",\"arrival\":\"" << (opt.poisson ? "poisson" : "uniform")
     << "\",\"window\":" << opt.window << ",\"clients\":" << opt.clients
     << ",\"orders\":" << opt.orders << ",\"duration_s\":" << opt.duration_s
     << ",\"warmup_s\":" << opt.warmup_s << ",\"retry_ratio\":" << opt.retry_ratio
     << ",\"conflict_ratio\":" << opt.conflict_ratio << ",\"rounds\":" << opt.rounds
     << ",\"min_success_rate\":" << opt.min_success_rate
     << ",\"run_order\":" << JsonEscape(ctx.run_order)
     << ",\"embedded\":" << (opt.embedded ? "true" : "false")
     << ",\"durability\":" << (opt.embedded ? JsonEscape(opt.durability) : "null")
     << "},\"machine\":{\"cpus\":" << std::thread::hardware_concurrency() << ",\"loadavg\":["
     << ctx.load[0] << "," << ctx.load[1] << "," << ctx.load[2] << "],\"fdatasync_4k_us\":"
     << (ctx.fsync_us.first >= 0
             ? absl::StrCat("{\"p50\":", ctx.fsync_us.first, ",\"p99\":", ctx.fsync_us.second, "}")
             : std::string("null"))
     << "},\"headline\":" << JsonEscape(FatesLine(gw.fates))
     << ",\"ordergate\":" << RunJson(gw, g, &ctx);
  if (base != nullptr) {
    const Figures b = FiguresOf(*base);
    js << ",\"baseline\":" << RunJson(*base, b, nullptr);
    const double gw_cpu = CpuUsPerOrder(gw, "gateway");
    const double fwd_cpu = CpuUsPerOrder(*base, "forwarder");
    js << ",\"cpu_per_order_gateway_to_forwarder\":"
       << (gw_cpu > 0 && fwd_cpu > 0 ? Num(gw_cpu / fwd_cpu, 3) : "null");
    if (v.ratio_comparable) {
      js << ",\"ratio\":{\"p50\":" << RatioJson(g.p50, b.p50)
         << ",\"p90\":" << RatioJson(g.p90, b.p90) << ",\"p99\":" << RatioJson(g.p99, b.p99)
         << ",\"p99.9\":" << RatioJson(g.p999, b.p999) << ",\"max\":" << RatioJson(g.max, b.max)
         << ",\"throughput\":" << RatioJson(g.throughput, b.throughput) << "}";
    } else {
      js << ",\"ratio\":null,\"ratio_withheld\":" << JsonEscape(v.ratio_withheld);
    }
  }
  js << ",\"mostly_refused\":" << (v.mostly_refused ? "true" : "false")
     << ",\"exit_code\":" << v.exit_code
     << ",\"ok\":" << (v.exit_code == kExitOk ? "true" : "false") << ",\"problems\":[";
  for (size_t i = 0; i < v.problems.size(); ++i) js << (i ? "," : "") << JsonEscape(v.problems[i]);
  js << "],\"warnings\":[";
  for (size_t i = 0; i < v.warnings.size(); ++i) js << (i ? "," : "") << JsonEscape(v.warnings[i]);
  js << "]}\n";
  return js.str();
}

}  // namespace ordergate::bench
