// ordergate-bridge-sim: command-line front of BridgeSim (see bridge_sim.h and --help).
//
//   ordergate-bridge-sim --bind tcp://127.0.0.1:* --latency lognormal:2:20 --journal /tmp/sim.jsonl
//   -> stdout: "ordergate-bridge-sim listening on tcp://127.0.0.1:41234"
//
// Flags follow the common style of transport/cli_style.h (CLI11): exit 2 with a message naming
// the flag on a bad command line, --help on stdout.
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "transport/cli_style.h"
#include "transport/log_format.h"
#include "transport/sim/bridge_sim.h"

namespace {

namespace cli = ordergate::transport::cli;
using ordergate::transport::sim::BridgeSim;
using ordergate::transport::sim::BridgeSimOptions;
using ordergate::transport::sim::FaultOptions;
using ordergate::transport::sim::LatencyModel;

constexpr char kDescription[] =
    "ordergate-bridge-sim: a stand-in for the MT5-CRS bridge (ROUTER socket, REP-like).";

constexpr char kFooter[] =
    R"(Fault probabilities (--fault-no-reply, -late, -reject, -crash, -no-ticket, -odd-reply, -stall)
apply per OPEN/CLOSE that passed validation; their sum must be <= 1 (--fault-odd-reply-executed is
a share of odd replies, not part of the sum). stdout carries only the line
"ordergate-bridge-sim listening on ENDPOINT"; logs and the final counters go to stderr.)";

struct Parsed {
  BridgeSimOptions opts;
  std::string log_level = "info";
};

// `x` as a stream prints it: 1.4, not std::to_string's 1.400000.
std::string Format(double x) {
  std::ostringstream out;
  out << x;
  return out.str();
}

// A probability flag: a number in [0, 1].
CLI::Option* AddProbability(CLI::App& app, const std::string& flag, double& target,
                            const std::string& help) {
  return app.add_option(flag, target, help)->type_name("P")->check(cli::InRange(0.0, 1.0));
}

// Declares every flag of the simulator over `p`; `no_require_signature` and `no_order_status` are
// the two negative switches, applied after parsing.
void AddFlags(CLI::App& app, Parsed& p, bool& no_require_signature, bool& no_order_status) {
  BridgeSimOptions& o = p.opts;
  FaultOptions& f = o.faults;
  app.add_option("--bind", o.bind, "endpoint to bind; tcp://127.0.0.1:* picks a port")
      ->type_name("ENDPOINT");
  app.add_option("--workers", o.workers,
                 "orders handled concurrently, 1..1024; 1 = strictly serial like\n"
                 "the real bridge")
      ->type_name("N")
      ->check(cli::InRange(1, 1024));
  app.add_flag("--no-require-signature", no_require_signature,
               "accept OPEN without a valid risk_signature (default: required)");
  app.add_option("--signature-ttl-ms", o.signature_ttl_ms,
                 "signature age limit, judged when the request is dequeued")
      ->type_name("MS")
      ->check(cli::AtLeast<int64_t>(0));
  app.add_flag("--no-order-status", no_order_status,
               "answer ORDER_STATUS with UNKNOWN_ACTION, like the real bridge\n"
               "(default: answered)");
  app.add_option("--journal", o.journal_path,
                 "append one JSON line per executed order; reloaded at start\n"
                 "(default: none)")
      ->type_name("FILE");
  app.add_option_function<std::string>(
         "--latency",
         [&o](const std::string& v) {
           auto m = LatencyModel::Parse(v);
           if (!m.ok()) throw CLI::ValidationError("--latency", std::string(m.status().message()));
           o.latency = *m;
         },
         "MT5 execution time per order: fixed:MS |\n"
         "uniform:MIN_MS:MAX_MS | lognormal:P50_MS:P99_MS")
      ->type_name("MODEL")
      ->default_str("fixed:0");
  app.add_option_function<uint64_t>(
         "--seed", [&o](uint64_t seed) { o.seed = seed; },
         "RNG seed for latency and faults (default: random; printed on\n"
         "stderr either way)")
      ->type_name("N")
      ->check(cli::AtLeast<uint64_t>(0));
  AddProbability(app, "--fault-no-reply", f.no_reply, "execute, journal, never reply");
  AddProbability(app, "--fault-late", f.late, "execute, reply --fault-late-ms later");
  app.add_option("--fault-late-ms", f.late_ms, "the delay of --fault-late")
      ->type_name("MS")
      ->check(cli::AtLeast<int64_t>(0));
  AddProbability(app, "--fault-reject", f.reject,
                 "REJECTED MT5_ORDER_FAILED (CLOSE: MT5_CLOSE_FAILED), not\n"
                 "executed");
  AddProbability(app, "--fault-crash", f.crash, "execute, journal, then _exit(3) without replying");
  AddProbability(app, "--fault-no-ticket", f.no_ticket, "FILLED with ticket 0, not executed");
  AddProbability(app, "--fault-odd-reply", f.odd_reply,
                 "a reply that settles nothing (issue 9 finding 2) instead of the\n"
                 "real one; the order executed first or not, see\n"
                 "--fault-odd-reply-executed; ORDER_STATUS then answers the\n"
                 "truth (FILLED, or NOT_FOUND)");
  app.add_option_function<std::string>(
         "--fault-odd-reply-kinds",
         [&f](const std::string& v) {
           auto kinds = ordergate::transport::sim::ParseOddReplyKinds(v);
           if (!kinds.ok()) {
             throw CLI::ValidationError("--fault-odd-reply-kinds",
                                        std::string(kinds.status().message()));
           }
           f.odd_reply_kinds = *kinds;
         },
         "drawn from: all, or a comma list of server_error (status\n"
         "error, SERVER_ERROR), no_status, ok, pending, negative_ticket\n"
         "(FILLED with ticket -5), fractional_ticket (FILLED with ticket\n"
         "12.5)")
      ->type_name("LIST")
      ->default_str("all");
  AddProbability(app, "--fault-odd-reply-executed", f.odd_reply_executed,
                 "share of odd replies whose order executed (and is\n"
                 "journalled)");
  AddProbability(app, "--fault-stall", f.stall,
                 "this order's MT5 call takes --fault-stall-ms; with --workers 1\n"
                 "every later request waits behind it in the socket (issue 9\n"
                 "finding 4)");
  app.add_option("--fault-stall-ms", f.stall_ms, "the duration of --fault-stall")
      ->type_name("MS")
      ->check(cli::AtLeast<int64_t>(0));
  app.add_option("--socket-hwm", o.socket_hwm,
                 "SNDHWM/RCVHWM of the socket, 0..100000000, 0 = unlimited; the\n"
                 "real bridge's REP has libzmq's default 1000: with --workers 1,\n"
                 "a backlog past it stops the socket's reading, ZMTP heartbeats\n"
                 "included")
      ->type_name("N")
      ->check(cli::InRange(0, 100000000));
  app.add_flag("--mt5-disconnected", o.mt5_disconnected,
               "every OPEN/CLOSE gets REJECTED MT5_NOT_CONNECTED");
  app.add_option("--balance", o.balance, "account balance")->type_name("X");
  app.add_option("--quote", o.quote, "fill price of an OPEN without a price")->type_name("X");
  app.add_option("--order-status-capacity", o.order_status_capacity,
                 "uuids remembered for ORDER_STATUS, >= 1")
      ->type_name("N")
      ->check(cli::AtLeast<size_t>(1));
  app.add_option("--log-level", p.log_level,
                 "trace|debug|info|warn|error|critical|off; debug logs every\n"
                 "request")
      ->type_name("LEVEL")
      ->check(CLI::Validator(
          [](std::string& v) -> std::string {
            if (spdlog::level::from_str(v) == spdlog::level::off && v != "off") {
              return "unknown level " + v;
            }
            return {};
          },
          ""));
  // The rule between flags, checked here too so that the message names them (BridgeSim::Create
  // would refuse the options as well).
  app.final_callback([&f] {
    const double sum =
        f.no_reply + f.late + f.reject + f.crash + f.no_ticket + f.odd_reply + f.stall;
    if (sum > 1 + 1e-9) {
      throw CLI::ValidationError(
          "--fault-no-reply + --fault-late + --fault-reject + --fault-crash + --fault-no-ticket + "
          "--fault-odd-reply + --fault-stall",
          "the probabilities sum to " + Format(sum) + ", more than 1");
    }
  });
}

}  // namespace

int main(int argc, char** argv) {
  Parsed parsed;
  std::unique_ptr<BridgeSim> sim;
  // Blocked before any thread exists (ZeroMQ's included), so only the sigwait thread sees them.
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  {
    CLI::App app{kDescription, "ordergate-bridge-sim"};
    cli::ApplyStyle(app);
    bool no_require_signature = false;
    bool no_order_status = false;
    AddFlags(app, parsed, no_require_signature, no_order_status);
    app.footer(kFooter);
    if (const std::optional<int> exit_code = cli::Parse(app, argc, argv)) return *exit_code;
    parsed.opts.require_signature = !no_require_signature;
    parsed.opts.order_status = !no_order_status;
  }
  try {
    // stdout carries only the "listening" line, which scripts wait for; logs go to stderr in the
    // format of every ordergate program.
    ordergate::transport::UseLogFormat("ordergate-bridge-sim");
    spdlog::set_level(spdlog::level::from_str(parsed.log_level));  // checked by --log-level
    auto created = BridgeSim::Create(parsed.opts);
    if (!created.ok()) throw std::runtime_error(std::string(created.status().message()));
    sim = std::move(*created);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ordergate-bridge-sim: %s\n", e.what());
    return 2;
  }

  const BridgeSimOptions& o = parsed.opts;
  // Unconditional (not a log line): a failing run must be reproducible with --seed whatever the
  // level.
  std::fprintf(stderr, "ordergate-bridge-sim: seed=%llu\n",
               static_cast<unsigned long long>(sim->seed()));
  spdlog::info(
      "seed={} workers={} latency={} require_signature={} ttl_ms={} order_status={} "
      "journal={} faults(no_reply={} late={}@{}ms reject={} crash={} no_ticket={} "
      "odd_reply={} (kinds {:#x}, executed {}) stall={}@{}ms) socket_hwm={} mt5_disconnected={}",
      sim->seed(), o.workers, o.latency.ToString(), o.require_signature, o.signature_ttl_ms,
      o.order_status, o.journal_path.empty() ? "-" : o.journal_path, o.faults.no_reply,
      o.faults.late, o.faults.late_ms, o.faults.reject, o.faults.crash, o.faults.no_ticket,
      o.faults.odd_reply, o.faults.odd_reply_kinds, o.faults.odd_reply_executed, o.faults.stall,
      o.faults.stall_ms, o.socket_hwm, o.mt5_disconnected);
  std::printf("ordergate-bridge-sim listening on %s\n", sim->endpoint().c_str());
  std::fflush(stdout);

  std::atomic<bool> done{false};
  std::thread signal_thread([&] {
    const timespec tick{0, 100L * 1000 * 1000};
    while (!done.load()) {
      const int sig = sigtimedwait(&sigs, nullptr, &tick);
      if (sig == SIGINT || sig == SIGTERM) {
        spdlog::info("signal {}, stopping", sig);
        sim->Stop();
        return;
      }
    }
  });

  sim->Run();
  done.store(true);
  signal_thread.join();
  const auto stats = sim->stats();
  sim.reset();  // closes the socket and destroys the context before exit
  std::fprintf(stderr, "ordergate-bridge-sim: %s\n", stats.ToString().c_str());
  spdlog::shutdown();
  return 0;
}
