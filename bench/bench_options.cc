// ordergate-bench's command line (see bench_options.h).
#include "bench/bench_options.h"

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ordergate::bench {

const char kUsage[] = R"(usage: ordergate-bench [flags]
Drives ordergate end to end (and, with --baseline, a plain ZeroMQ forwarder to the same simulator)
and reports orders, duplicate executions at the bridge, success rate, throughput, latency
percentiles from each order's intended send time, refusals by code and the gateway's per-stage
histograms. Flags (defaults in brackets):
 target
  --endpoint E          the running ordergated's front end [tcp://127.0.0.1:5555]
  --embedded            start the gateway in this process instead (front end on tcp://127.0.0.1:*,
                        per-stage histograms from its in-process HTTP endpoint) [off]
  --data-dir DIR        --embedded: the store's directory [a new temp dir, removed at exit]
  --durability D        --embedded: sync|async [sync]
  --bridge E            the simulator's endpoint; needed by --baseline and --embedded [none]
  --metrics HOST:PORT   ordergated's HTTP endpoint, for GET /latency before and after the measured
                        window [none: no per-stage figures]
  --journal FILE        the simulator's execution journal, for duplicate executions [none: unchecked]
 load
  --rate R              open-loop, orders/s across all clients; 0 = closed-loop at maximum rate [0]
  --arrival A           open-loop spacing: uniform|poisson [uniform]
  --window W            closed-loop: orders outstanding per client [16]
  --clients N           DEALER connections, one thread drives them all [4]
  --orders N            orders per run (warm-up included) [1000 when --duration-s is not given]
  --duration-s S        measured time per run, after the warm-up [0: use --orders]
  --warmup-s W          orders intended during the first W s are left out of every figure [0]
  --retry-ratio X       share of orders sent again with the same uuid, half while in flight and
                        half after the reply [0]
  --retry-delay-ms MS   delay of the after-reply retry [0]
  --conflict-ratio X    share of orders sent again with the same uuid and twice the volume [0]
  --timeout-ms MS       timeout_ms carried by each request (the gateway answers PENDING before it;
                        the harness then sends the same order again) [2000]
  --drain-ms MS         after the last send, how long to wait for outstanding replies [10000]
  --symbol S            [EURUSD]
  --volume V            [0.01]
  --seed N              retry/conflict/Poisson draws [1]
 comparison and output
  --baseline            also run the same load through <bin dir>/ordergate-forwarder to --bridge
  --rounds N            with --baseline: alternate baseline, ordergate N times (each run gets the
                        warm-up and 1/N of --orders or the full --duration-s) [1]
  --prefix P            uuid prefix [a fresh one per invocation]
  --json FILE           the report as JSON [none]
  --plot FILE.png       percentile plot of both runs (gnuplot); data files next to it [none]
  --no-progress         no progress line on stderr (one per second otherwise)
  --fsync-probe DIR     before the runs, time 500 fdatasync()s of 4 KiB appends to a file in DIR
                        (put it on the gateway's data disk: the sync-durability yardstick) [none]
  --min-success-rate X  below this share of measured orders FILLED under ordergate the run is
                        mostly refused: a WARNING line and exit code 3; 0 = never [0.5]
  --help
The report leads with what happened to every order: FILLED, refused (by error code), UNKNOWN, or
without a final reply. Latency and throughput figures are of FILLED orders only (refusals are fast
and are not a result); the refused orders' latency is shown apart. A ratio to the baseline is
printed only when both runs FILLED a comparable share of their orders.
Exit codes: 0 ok; 1 duplicate execution or an order without a final outcome under ordergate (or the
run could not be carried out); 2 usage; 3 most orders were not FILLED (--min-success-rate).
)";

bool ParseArgs(int argc, char** argv, Options* o, std::string* err) {
  bool has_orders = false;
  std::string arrival = "uniform";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--baseline") {
      o->baseline = true;
      continue;
    }
    if (a == "--embedded") {
      o->embedded = true;
      continue;
    }
    if (a == "--no-progress") {
      o->progress = false;
      continue;
    }
    if (i + 1 >= argc) {
      *err = a + " needs a value (or is unknown)";
      return false;
    }
    const std::string v = argv[++i];
    bool ok = true;
    if (a == "--endpoint") {
      o->endpoint = v;
    } else if (a == "--bridge") {
      o->bridge = v;
    } else if (a == "--journal") {
      o->journal = v;
    } else if (a == "--fsync-probe") {
      o->fsync_probe_dir = v;
    } else if (a == "--json") {
      o->json_path = v;
    } else if (a == "--plot") {
      o->plot_path = v;
    } else if (a == "--metrics") {
      o->metrics = v;
    } else if (a == "--prefix") {
      o->prefix = v;
    } else if (a == "--data-dir") {
      o->data_dir = v;
    } else if (a == "--durability") {
      o->durability = v;
      ok = v == "sync" || v == "async";
    } else if (a == "--symbol") {
      o->symbol = v;
    } else if (a == "--arrival") {
      arrival = v;
      ok = v == "uniform" || v == "poisson";
    } else if (a == "--orders") {
      ok = absl::SimpleAtoi(v, &o->orders) && o->orders >= 1;
      has_orders = true;
    } else if (a == "--duration-s") {
      ok = absl::SimpleAtod(v, &o->duration_s) && o->duration_s > 0;
    } else if (a == "--warmup-s") {
      ok = absl::SimpleAtod(v, &o->warmup_s) && o->warmup_s >= 0;
    } else if (a == "--rate") {
      ok = absl::SimpleAtod(v, &o->rate) && o->rate >= 0;
    } else if (a == "--clients") {
      ok = absl::SimpleAtoi(v, &o->clients) && o->clients >= 1 && o->clients <= 1024;
    } else if (a == "--window") {
      ok = absl::SimpleAtoi(v, &o->window) && o->window >= 1;
    } else if (a == "--rounds") {
      ok = absl::SimpleAtoi(v, &o->rounds) && o->rounds >= 1;
    } else if (a == "--retry-ratio") {
      ok = absl::SimpleAtod(v, &o->retry_ratio) && o->retry_ratio >= 0 && o->retry_ratio <= 1;
    } else if (a == "--conflict-ratio") {
      ok = absl::SimpleAtod(v, &o->conflict_ratio) && o->conflict_ratio >= 0 &&
           o->conflict_ratio <= 1;
    } else if (a == "--retry-delay-ms") {
      ok = absl::SimpleAtoi(v, &o->retry_delay_ms) && o->retry_delay_ms >= 0;
    } else if (a == "--timeout-ms") {
      ok = absl::SimpleAtoi(v, &o->timeout_ms) && o->timeout_ms >= 1 && o->timeout_ms <= 600000;
    } else if (a == "--drain-ms") {
      ok = absl::SimpleAtoi(v, &o->drain_ms) && o->drain_ms >= 0;
    } else if (a == "--volume") {
      ok = absl::SimpleAtod(v, &o->volume) && o->volume > 0;
    } else if (a == "--min-success-rate") {
      ok = absl::SimpleAtod(v, &o->min_success_rate) && o->min_success_rate >= 0 &&
           o->min_success_rate <= 1;
    } else if (a == "--seed") {
      ok = absl::SimpleAtoi(v, &o->seed);
    } else {
      *err = "unknown flag " + a;
      return false;
    }
    if (!ok) {
      *err = absl::StrCat(a, ": bad value '", v, "'");
      return false;
    }
  }
  o->poisson = arrival == "poisson";
  if (has_orders && o->duration_s > 0) {
    *err = "give --orders or --duration-s, not both";
    return false;
  }
  if (!has_orders && o->duration_s == 0) o->orders = 1000;
  if (o->baseline && o->bridge.empty()) {
    *err = "--baseline needs --bridge (the simulator the forwarder connects to)";
    return false;
  }
  if (o->embedded && o->bridge.empty()) {
    *err = "--embedded needs --bridge";
    return false;
  }
  if (o->rounds > 1 && !o->baseline) {
    *err = "--rounds needs --baseline";
    return false;
  }
  if (o->rate == 0 && o->poisson) {
    *err = "--arrival poisson needs --rate";
    return false;
  }
  return true;
}

}  // namespace ordergate::bench
