// ordergate-bench's command line: the Options struct and its parser, on CLI11 in the common style
// of every ordergate binary (transport/cli_style.h): --help on stdout, long flags with dashes,
// `--name value` or `--name=value`, the last of a repeated flag counts, a bad command line exits 2
// with a message that starts with the flag.
//
//   Options opt;
//   if (const std::optional<int> exit_code = ParseCommandLine(argc, argv, &opt)) return *exit_code;
#ifndef ORDERGATE_BENCH_BENCH_OPTIONS_H_
#define ORDERGATE_BENCH_BENCH_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>

namespace ordergate::bench {

struct Options {
  std::string endpoint = "tcp://127.0.0.1:5555";
  std::string bridge;
  std::string journal;
  std::string json_path;
  std::string plot_path;
  std::string metrics;
  std::string prefix;
  int64_t orders = 0;
  double duration_s = 0;
  double warmup_s = 0;
  double rate = 0;
  bool poisson = false;
  int clients = 4;
  int window = 16;
  double retry_ratio = 0;
  double conflict_ratio = 0;
  int64_t retry_delay_ms = 0;
  int64_t timeout_ms = 2000;
  int64_t drain_ms = 10000;
  bool baseline = false;
  int rounds = 1;
  bool embedded = false;
  bool endpoint_given = false;  // --endpoint on the command line (with --embedded: the daemon too)
  std::string data_dir;
  std::string durability = "sync";
  std::string symbol = "EURUSD";
  double volume = 0.01;
  bool progress = true;
  std::string fsync_probe_dir;
  // Processes whose CPU time per order the report shows (process_cpu.h); 0 = none (--embedded:
  // the gateway is this process).
  int gateway_pid = 0;
  int bridge_pid = 0;
  uint64_t seed = 1;
  // After the load runs, this many orders one at a time per target (sequential_latency.h); 0: none.
  int64_t sequential_orders = 0;
  // Below this share of measured orders FILLED under ordergate the run is "mostly refused": a loud
  // warning and exit code 3. 0 turns the check off.
  double min_success_rate = 0.5;
  // CurveZMQ to a daemon that speaks it (docs/SECURITY.md): the gateway's public key (40
  // characters of Z85, or its public certificate) and this harness's secret certificate, whose
  // public half the gateway allowlists. Both or neither. Only the load on --endpoint uses them
  // (the forwarder of --baseline and the in-process --embedded gateway stay plain).
  std::string curve_server_key;
  std::string curve_secret_cert;
  // Resolved by ParseCommandLine from the two above (Z85 each); empty without CURVE.
  std::string curve_server_z85;
  std::string curve_public_z85;
  std::string curve_secret_z85;
};

// Exit codes of ordergate-bench (also in --help and the JSON report's "exit_code").
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;         // an invariant broke under ordergate, or the run failed
constexpr int kExitUsage = 2;          // a bad command line (transport/cli_style.h's code)
constexpr int kExitMostlyRefused = 3;  // ordergate FILLED fewer than --min-success-rate

// Parses argv into *o (which holds the defaults on entry): each flag's value and range, then the
// rules between flags (--orders or --duration-s, not both, 1000 orders when neither; --baseline
// and --embedded need --bridge; --rounds above 1 needs --baseline; --arrival poisson needs
// --rate; --curve-server-key and --curve-secret-cert together, their certificates readable).
// nullopt: go on with *o. Otherwise the exit code main returns: kExitOk after --help/-h (the usage
// printed on stdout), kExitUsage after a bad command line (on stderr: the message, naming the flag,
// and a line pointing at --help). Prints nothing else; never throws.
std::optional<int> ParseCommandLine(int argc, const char* const* argv, Options* o);

}  // namespace ordergate::bench

#endif  // ORDERGATE_BENCH_BENCH_OPTIONS_H_
