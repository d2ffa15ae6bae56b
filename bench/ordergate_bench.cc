// ordergate-bench: drives ordergate end to end and reports what a strategy sees, beside the same
// load through a plain ZeroMQ forwarder (the physical limit of one more hop).
//
//   ordergate-bench --endpoint tcp://127.0.0.1:5555 --rate 10000 --duration-s 10 --warmup-s 2
//       --retry-ratio 0.3 --journal /tmp/sim.jsonl --metrics 127.0.0.1:9464
//       --baseline --bridge tcp://127.0.0.1:5556 --json out.json --plot out.png
//
// By idea: bench_options (the command line), load_run (the load loop: open- or closed-loop,
// retries, conflicts, each order's fate and latency), stage_latency (the gateway's GET /latency),
// forwarder_child (the baseline's forwarder), report (the verdict, the text and JSON reports),
// plot (gnuplot, without a shell), embedded_gateway and embedded_load (--embedded: the public
// ordergate::Gateway in this process, driven from submitting threads with no socket in between),
// sequential_latency (--sequential-orders: one order at a time per target, SubmitAndWait for the
// embedded gateway), fsync_probe (--fsync-probe). Here: the run sequence.
//
// The headline is what happened to every order (FILLED first, refusals by code, UNKNOWN, no final
// reply); latency is of FILLED orders only. Exit codes: 0 ok; 1 an invariant broke under ordergate
// (a duplicate execution, an order without a final outcome) or the run could not be carried out;
// 2 usage; 3 most orders were not FILLED under ordergate (--min-success-rate).
#include <sys/prctl.h>
#include <zmq.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_options.h"
#include "bench/embedded_gateway.h"
#include "bench/embedded_load.h"
#include "bench/forwarder_child.h"
#include "bench/fsync_probe.h"
#include "bench/harness_clock.h"
#include "bench/load_run.h"
#include "bench/plot.h"
#include "bench/report.h"
#include "bench/run_result.h"
#include "bench/sequential_latency.h"
#include "bench/stage_latency.h"

int main(int argc, char** argv) {
  using namespace ordergate::bench;  // NOLINT(google-build-using-namespace): main only
  Options opt;
  if (const std::optional<int> exit_code = ParseCommandLine(argc, argv, &opt)) return *exit_code;
  std::signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_TIMERSLACK, 1UL);  // ppoll wakes at the intended send time, not 50 us later
  if (opt.prefix.empty()) {
    opt.prefix = absl::StrCat("b", UnixUs() % 10000000000LL, "-");
  }
  double load[3] = {0, 0, 0};
  getloadavg(load, 3);
  std::pair<double, double> fsync_us{-1, -1};
  if (!opt.fsync_probe_dir.empty()) {
    fsync_us = ProbeFsync(opt.fsync_probe_dir);
    if (fsync_us.first < 0) {
      std::fprintf(stderr, "ordergate-bench: --fsync-probe %s: cannot write and sync there\n",
                   opt.fsync_probe_dir.c_str());
      return kExitUsage;
    }
  }

  // Embedded gateway, when asked for: the public API, no socket, no GET /latency.
  std::unique_ptr<EmbeddedGateway> emb;
  std::string metrics = opt.metrics;
  if (opt.embedded) {
    std::string error;
    emb = EmbeddedGateway::Open(opt, &error);
    if (emb == nullptr) {
      std::fprintf(stderr, "ordergate-bench: %s\n", error.c_str());
      return kExitFailed;
    }
    metrics.clear();  // --metrics would name some daemon's stages, not the embedded gateway's
  }

  Child fwd;
  if (opt.baseline) {
    fwd = StartForwarder(opt.bridge);
    if (!fwd.error.empty()) {
      std::fprintf(stderr, "ordergate-bench: %s\n", fwd.error.c_str());
      StopChild(&fwd);
      return kExitFailed;
    }
  }

  void* ctx = zmq_ctx_new();
  zmq_ctx_set(ctx, ZMQ_IO_THREADS, 1);
  const int64_t per_run_orders = opt.orders > 0 ? std::max<int64_t>(1, opt.orders / opt.rounds) : 0;
  ReportContext rc;
  rc.opt = &opt;
  rc.mode = opt.rate > 0 ? absl::StrCat("open-loop ", opt.rate, " orders/s (",
                                        opt.poisson ? "Poisson" : "uniform", " spacing)")
                         : absl::StrCat("closed-loop, window ", opt.window, " per client");
  rc.run_order = !opt.baseline     ? "ordergate only"
                 : opt.rounds == 1 ? "baseline, then ordergate"
                                   : absl::StrCat("alternating baseline, ordergate x", opt.rounds);
  rc.per_run = opt.duration_s > 0 ? absl::StrCat(opt.duration_s, " s measured")
                                  : absl::StrCat(per_run_orders, " orders");
  std::copy(load, load + 3, rc.load);
  rc.fsync_us = fsync_us;
  std::fprintf(stderr, "ordergate-bench: %s, %d clients; run order: %s\n", rc.mode.c_str(),
               opt.clients, rc.run_order.c_str());

  std::vector<RunResult> gw_runs, base_runs;
  std::vector<Stage> stage_diff;
  LatencySnapshot stage_probe;
  for (int round = 0; round < opt.rounds; ++round) {
    for (int which = opt.baseline ? 0 : 1; which < 2; ++which) {
      const bool gw = which == 1;
      const std::string prefix =
          absl::StrCat(opt.prefix, gw ? (opt.embedded ? "E" : "G") : "F", round, "-");
      LatencySnapshot before;
      std::thread snap;
      std::function<void()> on_measure_start;
      if (gw && !metrics.empty()) {
        on_measure_start = [&] { snap = std::thread([&] { before = FetchLatency(metrics); }); };
      }
      RunResult r = gw && emb != nullptr
                        ? RunEmbeddedLoad(opt, *emb, prefix, per_run_orders)
                        : RunLoad(opt, ctx, gw ? LoadKind::kGateway : LoadKind::kBaseline,
                                  gw ? opt.endpoint : fwd.endpoint, prefix, per_run_orders,
                                  std::move(on_measure_start));
      if (snap.joinable()) snap.join();
      if (gw && !metrics.empty()) {
        LatencySnapshot after = FetchLatency(metrics);
        rc.stage_asked = true;
        if (before.http_status == 200 && after.http_status == 200) {
          AccumulateDiff(before, after, &stage_diff);
          stage_probe = after;
        } else if (stage_probe.http_status != 200) {
          stage_probe = before.http_status != 200 ? before : after;
        }
      }
      if (!r.error.empty()) {
        std::fprintf(stderr, "ordergate-bench: %s run: %s\n", r.target.c_str(), r.error.c_str());
      }
      (gw ? gw_runs : base_runs).push_back(std::move(r));
    }
  }

  // The sequential phase: one order at a time per target, the forwarder first.
  std::vector<SequentialRun> sequential;
  if (opt.sequential_orders > 0) {
    const Options seq = SequentialOptions(opt, opt.sequential_orders);
    if (opt.baseline) {
      sequential.push_back({"baseline (forwarder)", false,
                            RunLoad(seq, ctx, LoadKind::kBaseline, fwd.endpoint,
                                    absl::StrCat(opt.prefix, "SF-"), seq.orders, {})});
    }
    if (!opt.embedded || opt.endpoint_given) {
      sequential.push_back({"ordergate (daemon)", true,
                            RunLoad(seq, ctx, LoadKind::kGateway, opt.endpoint,
                                    absl::StrCat(opt.prefix, "SG-"), seq.orders, {})});
    }
    if (emb != nullptr) {
      sequential.push_back(
          {"ordergate (embedded) SubmitAndWait", true,
           RunSubmitAndWait(opt, *emb, absl::StrCat(opt.prefix, "SE-"), opt.sequential_orders)});
    }
    for (const SequentialRun& s : sequential) {
      if (!s.result.error.empty()) {
        std::fprintf(stderr, "ordergate-bench: %s sequential run: %s\n", s.label.c_str(),
                     s.result.error.c_str());
      }
    }
  }
  zmq_ctx_term(ctx);
  StopChild(&fwd);
  if (emb != nullptr) {
    // Every order has its outcome when Close() returns: the simulator's journal is complete.
    const absl::Status closed = emb->Close();
    if (!closed.ok()) {
      std::fprintf(stderr, "ordergate-bench: embedded gateway close: %s\n",
                   closed.ToString().c_str());
    }
  }

  if (!opt.journal.empty()) {
    std::vector<RunResult*> all;
    all.reserve(gw_runs.size() + base_runs.size() + sequential.size());
    for (auto& r : gw_runs) all.push_back(&r);
    for (auto& r : base_runs) all.push_back(&r);
    for (auto& s : sequential) all.push_back(&s.result);
    std::string jerr;
    CountExecutions(opt.journal, all, &jerr);
    if (!jerr.empty()) std::fprintf(stderr, "ordergate-bench: %s\n", jerr.c_str());
  }

  RunResult gwr, base;
  gwr.target = "ordergate";
  base.target = "baseline";
  for (const auto& r : gw_runs) Merge(r, &gwr);
  for (const auto& r : base_runs) Merge(r, &base);
  gwr.prefix = absl::StrCat(opt.prefix, opt.embedded ? "E" : "G");
  base.prefix = absl::StrCat(opt.prefix, "F");
  for (RunResult* r : {&gwr, &base}) {
    std::sort(r->filled_ns.begin(), r->filled_ns.end());
    std::sort(r->not_filled_ns.begin(), r->not_filled_ns.end());
  }
  const RunResult* basep = opt.baseline ? &base : nullptr;
  rc.stages = &stage_diff;
  rc.stage_probe = &stage_probe;

  Verdict verdict = Judge(opt, gwr, basep);
  for (std::string& p : SequentialProblems(sequential)) verdict.problems.push_back(std::move(p));
  if (!verdict.problems.empty()) verdict.exit_code = kExitFailed;
  PrintReport(rc, gwr, basep, verdict, stdout);
  PrintSequential(sequential, stdout);
  if (!opt.plot_path.empty()) {
    std::vector<PlotSeries> series = {
        {"ordergate", absl::StrCat("ordergate FILLED (", gwr.filled_ns.size(), ")"), &gwr.filled_ns,
         true},
        {"ordergate-not-filled",
         absl::StrCat("ordergate not FILLED (", NotFilledText(gwr.fates), ")"), &gwr.not_filled_ns,
         false}};
    if (basep != nullptr) {
      series.push_back({"baseline", absl::StrCat("baseline FILLED (", base.filled_ns.size(), ")"),
                        &base.filled_ns, true});
      series.push_back({"baseline-not-filled",
                        absl::StrCat("baseline not FILLED (", NotFilledText(base.fates), ")"),
                        &base.not_filled_ns, false});
    }
    std::string perr;
    if (WritePlot(opt.plot_path, PlotTitle(gwr, basep), series, &perr)) {
      std::printf("  plot: %s\n", opt.plot_path.c_str());
    } else {
      std::fprintf(stderr, "ordergate-bench: plot: %s\n", perr.c_str());
    }
  }
  for (const std::string& p : verdict.problems) std::printf("  FAILED: %s\n", p.c_str());
  if (verdict.exit_code == kExitMostlyRefused) {
    std::printf("ordergate-bench: exit %d: most orders were not FILLED (see WARNING above)\n",
                verdict.exit_code);
  }
  std::fflush(stdout);

  if (!opt.json_path.empty()) {
    std::string json = ReportJson(rc, gwr, basep, verdict);
    if (!sequential.empty()) AddJsonMember(&json, "sequential", SequentialJson(sequential));
    std::ofstream js(opt.json_path);
    js << json;
    if (!js) std::fprintf(stderr, "ordergate-bench: cannot write %s\n", opt.json_path.c_str());
  }

  emb.reset();  // removes the embedded gateway's temporary directory
  return verdict.exit_code;
}
