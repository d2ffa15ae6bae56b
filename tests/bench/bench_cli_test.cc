// ordergate-bench's command line (bench/bench_options.cc) as a real process: the common style of
// transport/cli_style.h. --help lists every flag that the README, bench/run_targets.sh and the
// scripts pass, on stdout with exit 0; a bad command line (unknown flag, malformed or out-of-range
// value, missing value, a rule between flags) exits 2 before any run, with a message on stderr
// that starts with the flag, and nothing on stdout (no report).
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/child_process.h"

namespace {

struct Outcome {
  int exit_code = -1;  // -1: still running after the time limit (then killed)
  std::string out;
  std::string err;
};

// Runs ordergate-bench with `args` to its end, for at most 10 s.
Outcome RunBench(const std::vector<std::string>& args) {
  ordergate::test_support::Child child(ORDERGATE_BENCH_BINARY, args);
  Outcome o;
  o.exit_code = child.WaitExit(10000);
  o.out = child.out();
  o.err = child.err();
  return o;
}

}  // namespace

TEST_CASE(
    "ordergate-bench --help and -h print every flag the README and the scripts use on stdout and "
    "exit 0, with the exit codes",
    "[bench]") {
  for (const char* help_flag : {"--help", "-h"}) {
    INFO(help_flag);
    const Outcome o = RunBench({help_flag});
    CHECK(o.exit_code == 0);
    CHECK(o.err.empty());
    for (const char* flag : {"--endpoint",
                             "--embedded",
                             "--data-dir",
                             "--durability",
                             "--bridge",
                             "--metrics",
                             "--journal",
                             "--rate",
                             "--arrival",
                             "--window",
                             "--clients",
                             "--orders",
                             "--duration-s",
                             "--warmup-s",
                             "--retry-ratio",
                             "--retry-delay-ms",
                             "--conflict-ratio",
                             "--timeout-ms",
                             "--drain-ms",
                             "--symbol",
                             "--volume",
                             "--seed",
                             "--baseline",
                             "--rounds",
                             "--prefix",
                             "--json",
                             "--plot",
                             "--no-progress",
                             "--fsync-probe",
                             "--min-success-rate",
                             "--sequential-orders",
                             "--gateway-pid",
                             "--bridge-pid"}) {
      INFO(flag);
      CHECK(o.out.find(std::string("\n  ") + flag + " ") != std::string::npos);
    }
    CHECK_THAT(o.out, Catch::Contains("2 usage; 3 most orders were not FILLED"));
  }
}

TEST_CASE(
    "ordergate-bench refuses a bad flag, value or combination with exit 2 before any run, naming "
    "the flag on stderr",
    "[bench]") {
  struct Case {
    std::vector<std::string> args;
    std::string starts;  // what stderr starts with
  };
  const std::vector<Case> cases = {
      {{"--no-such-flag", "1"}, "ordergate-bench: The following arguments were not expected"},
      {{"--clients", "0"}, "ordergate-bench: --clients: 0 is not a number in [1, 1024]"},
      {{"--rate", "fast"}, "ordergate-bench: --rate: "},
      {{"--seed", "-4"}, "ordergate-bench: --seed: "},
      {{"--duration-s", "0"}, "ordergate-bench: --duration-s: 0 is not a number > 0"},
      {{"--durability", "maybe"}, "ordergate-bench: --durability: maybe is not sync or async"},
      {{"--min-success-rate", "1.5"}, "ordergate-bench: --min-success-rate: "},
      {{"--timeout-ms"}, "ordergate-bench: --timeout-ms: "},
      {{"--orders", "5", "--duration-s", "1"}, "ordergate-bench: --orders: "},
      {{"--baseline"}, "ordergate-bench: --baseline: needs --bridge"},
      {{"--embedded"}, "ordergate-bench: --embedded: needs --bridge"},
      {{"--rounds", "2"}, "ordergate-bench: --rounds: "},
      {{"--arrival", "poisson"}, "ordergate-bench: --arrival: poisson needs --rate"},
      {{"--gateway-pid", "0"}, "ordergate-bench: --gateway-pid: "},
      {{"--bridge-pid", "x"}, "ordergate-bench: --bridge-pid: "},
      {{"--curve-server-key", "/nonexistent/gateway.key"},
       "ordergate-bench: --curve-server-key: and --curve-secret-cert go together"},
      {{"--curve-server-key", "x", "--curve-secret-cert", "/nonexistent/bench.key_secret"},
       "ordergate-bench: --curve-secret-cert: cannot stat /nonexistent/bench.key_secret"},
  };
  for (const Case& c : cases) {
    const Outcome o = RunBench(c.args);
    INFO(c.args.front() << " -> exit " << o.exit_code << ", stderr: " << o.err);
    CHECK(o.exit_code == 2);
    CHECK_THAT(o.err, Catch::StartsWith(c.starts));
    CHECK_THAT(o.err, Catch::EndsWith("\nRun ordergate-bench --help for the flags.\n"));
    CHECK(o.out.empty());  // refused before any run: no report
  }
  // The unknown flag is named, whatever CLI11 says around it.
  CHECK_THAT(RunBench({"--no-such-flag"}).err, Catch::Contains("--no-such-flag"));
}
