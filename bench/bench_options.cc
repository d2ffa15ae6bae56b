// ordergate-bench's command line (see bench_options.h), on CLI11 (transport/cli_style.h).
#include "bench/bench_options.h"

#include <sstream>
#include <string>

#include "transport/cli_style.h"
#include "transport/curve_cert.h"

namespace ordergate::bench {

namespace {

namespace cli = ordergate::transport::cli;

static_assert(kExitUsage == cli::kExitBadCommandLine, "one exit code for a bad command line");

constexpr char kProgram[] = "ordergate-bench";

constexpr char kDescription[] =
    R"(ordergate-bench: drives ordergate end to end (and, with --baseline, a plain ZeroMQ forwarder to
the same simulator) and reports orders, duplicate executions at the bridge, success rate,
throughput, latency percentiles from each order's intended send time, refusals by code and the
gateway's per-stage histograms.)";

constexpr char kFooter[] =
    R"(The report leads with what happened to every order: FILLED, refused (by error code), UNKNOWN, or
without a final reply. Latency and throughput figures are of FILLED orders only (refusals are fast
and are not a result); the refused orders' latency is shown apart. A ratio to the baseline is
printed only when both runs FILLED a comparable share of their orders.
Exit codes: 0 ok; 1 duplicate execution or an order without a final outcome under ordergate (or the
run could not be carried out); 2 usage; 3 most orders were not FILLED (--min-success-rate).)";

// A check for ->check(): the value, read as a number, is above `lo` (InRange and AtLeast of
// cli_style.h include their bound). "VALUE is not a number > LO".
CLI::Validator Above(double lo) {
  return CLI::Validator(
      [lo](std::string& input) -> std::string {
        double value = 0;
        if (cli::ReadNumber(input, &value) && value > lo) return {};
        std::ostringstream why;
        why << input << " is not a number > " << lo;
        return why.str();
      },
      "");
}

// A check for ->check(): the value is `a` or `b`. "VALUE is not A or B".
CLI::Validator OneOf(const std::string& a, const std::string& b) {
  return CLI::Validator(
      [a, b](std::string& input) -> std::string {
        if (input == a || input == b) return {};
        return input + " is not " + a + " or " + b;
      },
      "");
}

// What the rules between flags need besides *o.
struct Given {
  std::string arrival = "uniform";
  bool no_progress = false;
  CLI::Option* orders = nullptr;
  CLI::Option* endpoint = nullptr;
};

void AddTargetFlags(CLI::App& app, Options& o, Given& g) {
  const std::string group = "target";
  g.endpoint = app.add_option("--endpoint", o.endpoint,
                              "the running ordergated's front end (with --embedded: measured\n"
                              "in the --sequential-orders phase only, when given)")
                   ->type_name("ENDPOINT")
                   ->group(group);
  app.add_flag("--embedded", o.embedded,
               "open ordergate::Gateway (the public API) in this process instead:\n"
               "no socket between the harness and the gateway, --clients\n"
               "submitting threads, no per-stage figures; needs --bridge")
      ->group(group);
  app.add_option("--data-dir", o.data_dir,
                 "--embedded: the store's directory (default: a new temp dir,\n"
                 "removed at exit)")
      ->type_name("DIR")
      ->group(group);
  app.add_option("--durability", o.durability, "--embedded: the store's durability")
      ->type_name("sync|async")
      ->check(OneOf("sync", "async"))
      ->group(group);
  app.add_option("--bridge", o.bridge,
                 "the simulator's endpoint; needed by --baseline and --embedded\n"
                 "(default: none)")
      ->type_name("ENDPOINT")
      ->group(group);
  app.add_option("--metrics", o.metrics,
                 "ordergated's HTTP endpoint, for GET /latency before and after\n"
                 "the measured window (default: none, no per-stage figures)")
      ->type_name("HOST:PORT")
      ->group(group);
  app.add_option("--gateway-pid", o.gateway_pid,
                 "ordergated's process id: the report shows its CPU time (utime +\n"
                 "stime of every thread, /proc/PID/stat) per order completed over\n"
                 "the measured window (default: none; with --embedded this process,\n"
                 "harness included). The forwarder's (--baseline) and this\n"
                 "process's are always shown")
      ->type_name("PID")
      ->default_str("")
      ->check(cli::AtLeast(1))
      ->group(group);
  app.add_option("--bridge-pid", o.bridge_pid,
                 "the bridge simulator's process id: its CPU time per order, likewise\n"
                 "(default: none)")
      ->type_name("PID")
      ->default_str("")
      ->check(cli::AtLeast(1))
      ->group(group);
  app.add_option("--journal", o.journal,
                 "the simulator's execution journal, for duplicate executions\n"
                 "(default: none, unchecked)")
      ->type_name("FILE")
      ->group(group);
}

void AddLoadFlags(CLI::App& app, Options& o, Given& g) {
  const std::string group = "load";
  app.add_option("--rate", o.rate,
                 "open-loop, orders/s across all clients; 0 = closed-loop at\n"
                 "maximum rate")
      ->type_name("R")
      ->check(cli::AtLeast(0.0))
      ->group(group);
  app.add_option("--arrival", g.arrival, "open-loop spacing")
      ->type_name("uniform|poisson")
      ->check(OneOf("uniform", "poisson"))
      ->group(group);
  app.add_option("--window", o.window, "closed-loop: orders outstanding per client, >= 1")
      ->type_name("N")
      ->check(cli::AtLeast(1))
      ->group(group);
  app.add_option("--clients", o.clients,
                 "DEALER connections, 1..1024; one thread drives them all\n"
                 "(--embedded: submitting threads)")
      ->type_name("N")
      ->check(cli::InRange(1, 1024))
      ->group(group);
  g.orders = app.add_option("--orders", o.orders,
                            "orders per run (warm-up included), >= 1 (default: 1000 when\n"
                            "--duration-s is not given)")
                 ->type_name("N")
                 ->default_str("")
                 ->check(cli::AtLeast<int64_t>(1))
                 ->group(group);
  app.add_option("--duration-s", o.duration_s,
                 "measured time per run, after the warm-up, > 0 (default: use\n"
                 "--orders)")
      ->type_name("S")
      ->default_str("")
      ->check(Above(0))
      ->group(group);
  app.add_option("--warmup-s", o.warmup_s,
                 "orders intended during the first S s are left out of every\n"
                 "figure")
      ->type_name("S")
      ->check(cli::AtLeast(0.0))
      ->group(group);
  app.add_option("--retry-ratio", o.retry_ratio,
                 "share of orders sent again with the same uuid, half while in\n"
                 "flight and half after the reply, 0..1")
      ->type_name("X")
      ->check(cli::InRange(0.0, 1.0))
      ->group(group);
  app.add_option("--retry-delay-ms", o.retry_delay_ms, "delay of the after-reply retry")
      ->type_name("MS")
      ->check(cli::AtLeast<int64_t>(0))
      ->group(group);
  app.add_option("--conflict-ratio", o.conflict_ratio,
                 "share of orders sent again with the same uuid and twice the\n"
                 "volume, 0..1")
      ->type_name("X")
      ->check(cli::InRange(0.0, 1.0))
      ->group(group);
  app.add_option("--timeout-ms", o.timeout_ms,
                 "timeout_ms carried by each request, 1..600000 (the gateway\n"
                 "answers PENDING before it; the harness then sends the same order\n"
                 "again)")
      ->type_name("MS")
      ->check(cli::InRange<int64_t>(1, 600000))
      ->group(group);
  app.add_option("--drain-ms", o.drain_ms,
                 "after the last send, how long to wait for outstanding replies")
      ->type_name("MS")
      ->check(cli::AtLeast<int64_t>(0))
      ->group(group);
  app.add_option("--symbol", o.symbol, "the orders' symbol")->type_name("S")->group(group);
  app.add_option("--volume", o.volume, "the orders' volume, > 0")
      ->type_name("V")
      ->check(Above(0))
      ->group(group);
  app.add_option("--seed", o.seed, "retry/conflict/Poisson draws")
      ->type_name("N")
      ->check(cli::AtLeast<uint64_t>(0))
      ->group(group);
}

void AddOutputFlags(CLI::App& app, Options& o, Given& g) {
  const std::string group = "comparison and output";
  app.add_flag("--baseline", o.baseline,
               "also run the same load through <bin dir>/ordergate-forwarder to\n"
               "--bridge")
      ->group(group);
  app.add_option("--rounds", o.rounds,
                 "with --baseline: alternate baseline, ordergate N times (each run\n"
                 "gets the warm-up and 1/N of --orders or the full --duration-s)")
      ->type_name("N")
      ->check(cli::AtLeast(1))
      ->group(group);
  app.add_option("--prefix", o.prefix, "uuid prefix (default: a fresh one per invocation)")
      ->type_name("P")
      ->group(group);
  app.add_option("--json", o.json_path, "the report as JSON (default: none)")
      ->type_name("FILE")
      ->group(group);
  app.add_option("--plot", o.plot_path,
                 "percentile plot of both runs (gnuplot); data files next to it\n"
                 "(default: none)")
      ->type_name("FILE.png")
      ->group(group);
  app.add_flag("--no-progress", g.no_progress,
               "no progress line on stderr (one per second otherwise)")
      ->group(group);
  app.add_option("--fsync-probe", o.fsync_probe_dir,
                 "before the runs, time 500 fdatasync()s of 4 KiB appends to a\n"
                 "file in DIR (put it on the gateway's data disk: the\n"
                 "sync-durability yardstick) (default: none)")
      ->type_name("DIR")
      ->group(group);
  app.add_option("--sequential-orders", o.sequential_orders,
                 "after the runs, N orders one at a time from one thread per\n"
                 "target: --embedded SubmitAndWait, the daemon (--endpoint) and\n"
                 "the forwarder (--baseline) one request outstanding (default: 0,\n"
                 "none)")
      ->type_name("N")
      ->check(cli::AtLeast<int64_t>(0))
      ->group(group);
  app.add_option("--curve-server-key", o.curve_server_key,
                 "CURVE to a gateway with curve_secret_cert: its public key (Z85,\n"
                 "as ordergated logs it) or its public certificate (default: none)")
      ->type_name("KEY|FILE")
      ->group(group);
  app.add_option("--curve-secret-cert", o.curve_secret_cert,
                 "with --curve-server-key: this harness's secret certificate\n"
                 "(ordergatectl keygen bench DIR; DIR/bench.key allowlisted)")
      ->type_name("FILE")
      ->group(group);
  app.add_option("--min-success-rate", o.min_success_rate,
                 "below this share of measured orders FILLED under ordergate the\n"
                 "run is mostly refused: a WARNING line and exit code 3; 0 = never")
      ->type_name("X")
      ->check(cli::InRange(0.0, 1.0))
      ->group(group);
}

// The rules between flags, after every value passed its own check. Each message starts with the
// flag it is about.
void CheckTogether(Options& o, const Given& g) {
  const bool has_orders = g.orders->count() > 0;
  if (has_orders && o.duration_s > 0) {
    throw CLI::ValidationError("--orders", "give --orders or --duration-s, not both");
  }
  if (!has_orders && o.duration_s == 0) o.orders = 1000;
  if (o.baseline && o.bridge.empty()) {
    throw CLI::ValidationError("--baseline",
                               "needs --bridge (the simulator the forwarder connects to)");
  }
  if (o.embedded && o.bridge.empty()) {
    throw CLI::ValidationError("--embedded", "needs --bridge (the simulator it connects to)");
  }
  if (o.rounds > 1 && !o.baseline) {
    throw CLI::ValidationError("--rounds", "more than 1 needs --baseline");
  }
  if (o.rate == 0 && o.poisson) {
    throw CLI::ValidationError("--arrival", "poisson needs --rate");
  }
  if (o.curve_server_key.empty() != o.curve_secret_cert.empty()) {
    throw CLI::ValidationError("--curve-server-key",
                               "and --curve-secret-cert go together: give both or neither");
  }
  if (!o.curve_secret_cert.empty()) {
    auto mine = transport::ReadCurveSecretCertificate(o.curve_secret_cert);
    if (!mine.ok()) {
      throw CLI::ValidationError("--curve-secret-cert", std::string(mine.status().message()));
    }
    o.curve_public_z85 = mine->public_key;
    o.curve_secret_z85 = mine->secret_key;
    if (transport::IsCurveKey(o.curve_server_key)) {
      o.curve_server_z85 = o.curve_server_key;
    } else {
      auto server = transport::ReadCurveCertificate(o.curve_server_key);
      if (!server.ok()) {
        throw CLI::ValidationError("--curve-server-key",
                                   "neither 40 characters of Z85 nor a certificate: " +
                                       std::string(server.status().message()));
      }
      o.curve_server_z85 = server->public_key;
    }
  }
}

}  // namespace

std::optional<int> ParseCommandLine(int argc, const char* const* argv, Options* o) {
  CLI::App app{kDescription, kProgram};
  cli::ApplyStyle(app);
  Given given;
  AddTargetFlags(app, *o, given);
  AddLoadFlags(app, *o, given);
  AddOutputFlags(app, *o, given);
  app.footer(kFooter);
  app.final_callback([o, &given] {
    o->poisson = given.arrival == "poisson";
    o->progress = !given.no_progress;
    o->endpoint_given = given.endpoint->count() > 0;
    CheckTogether(*o, given);
  });
  return cli::Parse(app, argc, argv);
}

}  // namespace ordergate::bench
