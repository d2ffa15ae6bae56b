// ordergate-bridge-sim: command-line front of BridgeSim (see bridge_sim.h and --help).
//
//   ordergate-bridge-sim --bind tcp://127.0.0.1:* --latency lognormal:2:20 --journal /tmp/sim.jsonl
//   -> stdout: "ordergate-bridge-sim listening on tcp://127.0.0.1:41234"
//
// Flags are parsed by hand: the --no-xxx names the tests and docs use are not valid absl flag
// names.
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <time.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "transport/log_format.h"
#include "transport/sim/bridge_sim.h"

namespace {

using ordergate::transport::sim::BridgeSim;
using ordergate::transport::sim::BridgeSimOptions;
using ordergate::transport::sim::LatencyModel;

constexpr char kUsage[] = R"(usage: ordergate-bridge-sim [flags]
A stand-in for the MT5-CRS bridge (ROUTER socket, REP-like). Flags (defaults in brackets):
  --bind ENDPOINT             endpoint to bind [tcp://127.0.0.1:5556]; tcp://127.0.0.1:* picks a port
  --workers N                 orders handled concurrently; 1 = strictly serial like the real bridge [1]
  --no-require-signature      accept OPEN without a valid risk_signature [required]
  --signature-ttl-ms MS       signature age limit, judged when the request is dequeued [5000]
  --no-order-status           answer ORDER_STATUS with UNKNOWN_ACTION, like the real bridge [answered]
  --journal FILE              append one JSON line per executed order; reloaded at start [none]
  --latency MODEL             fixed:MS | uniform:MIN_MS:MAX_MS | lognormal:P50_MS:P99_MS [fixed:0]
  --seed N                    RNG seed for latency and faults [random, logged]
  --fault-no-reply P          execute, journal, never reply [0]
  --fault-late P              execute, reply --fault-late-ms later [0]
  --fault-late-ms MS          [1000]
  --fault-reject P            REJECTED MT5_ORDER_FAILED (CLOSE: MT5_CLOSE_FAILED), not executed [0]
  --fault-crash P             execute, journal, then _exit(3) without replying [0]
  --fault-no-ticket P         FILLED with ticket 0, not executed [0]
  --fault-odd-reply P         a reply that settles nothing (issue 9 finding 2) instead of the real
                              one; the order executed first or not, see --fault-odd-reply-executed;
                              ORDER_STATUS then answers the truth (FILLED, or NOT_FOUND) [0]
  --fault-odd-reply-kinds L   drawn from: all, or a comma list of server_error (status error,
                              SERVER_ERROR), no_status, ok, pending, negative_ticket (FILLED with
                              ticket -5), fractional_ticket (FILLED with ticket 12.5) [all]
  --fault-odd-reply-executed P  share of odd replies whose order executed (and is journalled) [0.5]
  --fault-stall P             this order's MT5 call takes --fault-stall-ms; with --workers 1 every
                              later request waits behind it in the socket (issue 9 finding 4) [0]
  --fault-stall-ms MS         [4000]
  --socket-hwm N              SNDHWM/RCVHWM of the socket, 0 = unlimited [100000]; the real
                              bridge's REP has libzmq's default 1000: with --workers 1, a backlog
                              past it stops the socket's reading, ZMTP heartbeats included
  --mt5-disconnected          every OPEN/CLOSE gets REJECTED MT5_NOT_CONNECTED [off]
  --balance X                 account balance [10000]
  --quote X                   fill price of an OPEN without a price [1.1]
  --order-status-capacity N   uuids remembered for ORDER_STATUS [1000000]
  --log-level LEVEL           trace|debug|info|warn|error|off; debug logs every request [info]
  --help
Fault probabilities apply per OPEN/CLOSE that passed validation; their sum must be <= 1
(--fault-odd-reply-executed is a share of odd replies, not part of the sum).
)";

double ParseDouble(const std::string& flag, const std::string& v) {
  double d = 0;
  if (!absl::SimpleAtod(v, &d))
    throw std::invalid_argument(absl::StrCat(flag, ": not a number: ", v));
  return d;
}

int64_t ParseInt(const std::string& flag, const std::string& v) {
  int64_t n = 0;
  if (!absl::SimpleAtoi(v, &n))
    throw std::invalid_argument(absl::StrCat(flag, ": not an integer: ", v));
  return n;
}

struct Parsed {
  BridgeSimOptions opts;
  std::string log_level = "info";
  bool help = false;
};

Parsed ParseArgs(int argc, char** argv) {
  Parsed p;
  BridgeSimOptions& o = p.opts;
  using Setter = std::function<void(const std::string& flag, const std::string& value)>;
  const std::map<std::string, Setter> valued = {
      {"--bind", [&](auto&, auto& v) { o.bind = v; }},
      {"--workers", [&](auto& f, auto& v) { o.workers = static_cast<int>(ParseInt(f, v)); }},
      {"--signature-ttl-ms", [&](auto& f, auto& v) { o.signature_ttl_ms = ParseInt(f, v); }},
      {"--journal", [&](auto&, auto& v) { o.journal_path = v; }},
      {"--latency",
       [&](auto& f, auto& v) {
         auto m = LatencyModel::Parse(v);
         if (!m.ok()) throw std::invalid_argument(absl::StrCat(f, ": ", m.status().message()));
         o.latency = *m;
       }},
      {"--seed",
       [&](auto& f, auto& v) {
         uint64_t s = 0;
         if (!absl::SimpleAtoi(v, &s))
           throw std::invalid_argument(absl::StrCat(f, ": not an integer: ", v));
         o.seed = s;
       }},
      {"--fault-no-reply", [&](auto& f, auto& v) { o.faults.no_reply = ParseDouble(f, v); }},
      {"--fault-late", [&](auto& f, auto& v) { o.faults.late = ParseDouble(f, v); }},
      {"--fault-late-ms", [&](auto& f, auto& v) { o.faults.late_ms = ParseInt(f, v); }},
      {"--fault-reject", [&](auto& f, auto& v) { o.faults.reject = ParseDouble(f, v); }},
      {"--fault-crash", [&](auto& f, auto& v) { o.faults.crash = ParseDouble(f, v); }},
      {"--fault-no-ticket", [&](auto& f, auto& v) { o.faults.no_ticket = ParseDouble(f, v); }},
      {"--fault-odd-reply", [&](auto& f, auto& v) { o.faults.odd_reply = ParseDouble(f, v); }},
      {"--fault-odd-reply-kinds",
       [&](auto& f, auto& v) {
         auto kinds = ordergate::transport::sim::ParseOddReplyKinds(v);
         if (!kinds.ok())
           throw std::invalid_argument(absl::StrCat(f, ": ", kinds.status().message()));
         o.faults.odd_reply_kinds = *kinds;
       }},
      {"--fault-odd-reply-executed",
       [&](auto& f, auto& v) { o.faults.odd_reply_executed = ParseDouble(f, v); }},
      {"--fault-stall", [&](auto& f, auto& v) { o.faults.stall = ParseDouble(f, v); }},
      {"--fault-stall-ms", [&](auto& f, auto& v) { o.faults.stall_ms = ParseInt(f, v); }},
      {"--socket-hwm",
       [&](auto& f, auto& v) {
         const int64_t n = ParseInt(f, v);
         if (n < 0 || n > 100000000) {
           throw std::invalid_argument(absl::StrCat(f, ": must be in [0, 100000000]"));
         }
         o.socket_hwm = static_cast<int>(n);
       }},
      {"--balance", [&](auto& f, auto& v) { o.balance = ParseDouble(f, v); }},
      {"--quote", [&](auto& f, auto& v) { o.quote = ParseDouble(f, v); }},
      {"--order-status-capacity",
       [&](auto& f, auto& v) {
         const int64_t n = ParseInt(f, v);
         if (n <= 0) throw std::invalid_argument(absl::StrCat(f, ": must be > 0"));
         o.order_status_capacity = static_cast<size_t>(n);
       }},
      {"--log-level", [&](auto&, auto& v) { p.log_level = v; }},
  };
  const std::map<std::string, std::function<void()>> switches = {
      {"--no-require-signature", [&] { o.require_signature = false; }},
      {"--no-order-status", [&] { o.order_status = false; }},
      {"--mt5-disconnected", [&] { o.mt5_disconnected = true; }},
      {"--help", [&] { p.help = true; }},
      {"-h", [&] { p.help = true; }},
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (const size_t eq = arg.find('='); eq != std::string::npos && arg.rfind("--", 0) == 0) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      has_value = true;
    }
    if (auto s = switches.find(arg); s != switches.end()) {
      if (has_value) throw std::invalid_argument(absl::StrCat(arg, " takes no value"));
      s->second();
      continue;
    }
    auto v = valued.find(arg);
    if (v == valued.end())
      throw std::invalid_argument(absl::StrCat("unknown flag ", arg, " (see --help)"));
    if (!has_value) {
      if (i + 1 >= argc) throw std::invalid_argument(absl::StrCat(arg, " needs a value"));
      value = argv[++i];
    }
    v->second(arg, value);
  }
  return p;
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
  try {
    parsed = ParseArgs(argc, argv);
    if (parsed.help) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    // stdout carries only the "listening" line, which scripts wait for; logs go to stderr in the
    // format of every ordergate program.
    ordergate::transport::UseLogFormat("ordergate-bridge-sim");
    const auto level = spdlog::level::from_str(parsed.log_level);
    if (level == spdlog::level::off && parsed.log_level != "off") {
      throw std::invalid_argument(absl::StrCat("--log-level: unknown level ", parsed.log_level));
    }
    spdlog::set_level(level);
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
