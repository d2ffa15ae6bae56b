// The ordergate-bridge-sim binary (main.cc) as a subprocess: its start-up line, SIGTERM, the crash
// fault, and its command line (the common style of transport/cli_style.h: --help on stdout with
// exit 0, a bad command line refused with exit 2 and a message naming the flag, the last of a
// repeated flag counts).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "sim_test_util.h"
#include "tests/support/child_process.h"

using namespace bridge_sim_test;  // NOLINT(google-build-using-namespace): the shared helpers

namespace {

using ordergate::test_support::Child;

// The endpoint of the simulator's "listening on ENDPOINT" line, which it must print within 10 s.
std::string Listening(Child& c) {
  const std::string line = c.ReadFirstLine(10000);
  const std::string prefix = "ordergate-bridge-sim listening on ";
  INFO(line << "\nstderr:\n" << c.err());
  REQUIRE(line.rfind(prefix, 0) == 0);
  return line.substr(prefix.size());
}

struct Exited {
  int code = -1;  // the exit code; -1 if it had not exited within the deadline (then killed)
  std::string out;
  std::string err;
};

// Runs the binary with `args` to its end (at most 5 s), capturing stdout and stderr. For command
// lines that must not start a simulator: one that starts is killed and reported as -1.
Exited RunToExit(const std::vector<std::string>& args) {
  Child c(ORDERGATE_BRIDGE_SIM_BINARY, args);
  Exited r;
  r.code = c.WaitExit(5000);
  r.out = c.out();
  r.err = c.err();
  return r;
}

}  // namespace

TEST_CASE("The binary prints its endpoint, stops on SIGTERM with exit 0 and prints its counters",
          "[transport][sim]") {
  Child c(ORDERGATE_BRIDGE_SIM_BINARY,
          {"--bind", "tcp://127.0.0.1:*", "--no-require-signature", "--log-level", "warn"});
  const std::string c_endpoint = Listening(c);
  CHECK(c_endpoint.rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(c_endpoint.find('*') == std::string::npos);
  {
    Dealer d(c_endpoint);
    CHECK(Json(d.Call(R"({"action":"OPEN","uuid":"b","symbol":"EURUSD","type":"BUY","volume":1})"))
              .S("status") == "FILLED");
  }
  kill(c.pid(), SIGTERM);
  CHECK(c.WaitExit(5000) == 0);
  const std::string err = c.err();
  CHECK(err.find("requests=1 executed=1") != std::string::npos);
}

TEST_CASE(
    "The crash fault journals the order, then exits 3 without replying, and a restart remembers it",
    "[transport][sim]") {
  TempDir dir;
  const std::string journal = dir.File("journal.jsonl");
  Child c(ORDERGATE_BRIDGE_SIM_BINARY, {"--bind", "tcp://127.0.0.1:*", "--journal", journal,
                                        "--fault-crash", "1", "--log-level", "error"});
  const std::string c_endpoint = Listening(c);
  {
    Dealer d(c_endpoint);
    d.Send(OpenBody("boom"));
    CHECK_FALSE(d.Recv(500).has_value());
  }
  CHECK(c.WaitExit(5000) == 3);
  const auto lines = ReadLines(journal);
  REQUIRE(lines.size() == 1);
  CHECK(Json(lines[0]).S("uuid") == "boom");

  Child again(ORDERGATE_BRIDGE_SIM_BINARY,
              {"--bind", "tcp://127.0.0.1:*", "--journal", journal, "--log-level", "error"});
  const std::string again_endpoint = Listening(again);
  {
    Dealer d(again_endpoint);
    Json st(d.Call(R"({"action":"ORDER_STATUS","uuid":"boom"})"));
    CHECK(st.S("status") == "FILLED");
    CHECK(st.I("ticket") == 100000001);
    CHECK(Json(d.Call(OpenBody("next"))).I("ticket") == 100000002);
  }
  kill(again.pid(), SIGTERM);
  CHECK(again.WaitExit(5000) == 0);
}

TEST_CASE("The binary's --help and -h print every flag on stdout and exit 0", "[transport][sim]") {
  for (const char* help : {"--help", "-h"}) {
    const Exited r = RunToExit({help});
    INFO(help << "\nstdout:\n" << r.out << "\nstderr:\n" << r.err);
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    CHECK(r.out.find("Usage: ordergate-bridge-sim") != std::string::npos);
    for (const char* flag : {"--bind ENDPOINT=tcp://127.0.0.1:5556",
                             "--workers N=1",
                             "--no-require-signature",
                             "--signature-ttl-ms MS=5000",
                             "--no-order-status",
                             "--journal FILE",
                             "--latency MODEL=fixed:0",
                             "--seed N",
                             "--fault-no-reply P=0",
                             "--fault-late P=0",
                             "--fault-late-ms MS=1000",
                             "--fault-reject P=0",
                             "--fault-crash P=0",
                             "--fault-no-ticket P=0",
                             "--fault-odd-reply P=0",
                             "--fault-odd-reply-kinds LIST=all",
                             "--fault-odd-reply-executed P=0.5",
                             "--fault-stall P=0",
                             "--fault-stall-ms MS=4000",
                             "--socket-hwm N=100000",
                             "--mt5-disconnected",
                             "--balance X=10000",
                             "--quote X=1.1",
                             "--order-status-capacity N=1000000",
                             "--log-level LEVEL=info"}) {
      CHECK(r.out.find(flag) != std::string::npos);
    }
  }
}

TEST_CASE("A bad command line exits 2 with a message on stderr that names the flag",
          "[transport][sim]") {
  // Each command line, and what stderr must say about it.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--frobnicate"}, "--frobnicate"},
      {{"--bind", "tcp://127.0.0.1:*", "stray"}, "stray"},
      {{"--workers"}, "--workers"},
      {{"--workers", "two"}, "--workers: two is not a number in [1, 1024]"},
      {{"--workers", "0"}, "--workers: 0 is not a number in [1, 1024]"},
      {{"--latency", "fixed:-3"}, "--latency: bad latency model 'fixed:-3'"},
      {{"--fault-odd-reply-kinds", "okay"}, "--fault-odd-reply-kinds: unknown odd reply 'okay'"},
      {{"--socket-hwm", "-1"}, "--socket-hwm: -1 is not a number in [0, 100000000]"},
      {{"--fault-late", "1.5"}, "--fault-late: 1.5 is not a number in [0, 1]"},
      {{"--fault-stall-ms", "-1"}, "--fault-stall-ms: -1 is not a number >= 0"},
      {{"--seed", "-4"}, "--seed: -4 is not a number >= 0"},
      {{"--order-status-capacity", "-1"}, "--order-status-capacity: -1 is not a number >= 1"},
      {{"--balance", "lots"}, "--balance"},
      {{"--log-level", "loud"}, "--log-level: unknown level loud"},
      {{"--fault-odd-reply", "0.7", "--fault-stall", "0.7"},
       "--fault-odd-reply + --fault-stall: the probabilities sum to 1.4"},
  };
  for (const auto& [args, message] : cases) {
    const Exited r = RunToExit(args);
    INFO(args[0] << " ...\nstderr:\n" << r.err);
    CHECK(r.code == 2);
    CHECK(r.out.empty());
    CHECK(r.err.rfind("ordergate-bridge-sim: ", 0) == 0);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(r.err.find("Run ordergate-bridge-sim --help for the flags.") != std::string::npos);
  }
}

TEST_CASE("A flag given twice counts its last value as the scripts that prepend --bind expect",
          "[transport][sim]") {
  // Port 1 would need root and fails to bind: only the second --bind can start the simulator.
  Child c(ORDERGATE_BRIDGE_SIM_BINARY,
          {"--bind", "tcp://127.0.0.1:1", "--log-level", "info", "--bind", "tcp://127.0.0.1:*",
           "--log-level=error", "--no-require-signature"});
  const std::string c_endpoint = Listening(c);
  CHECK(c_endpoint.rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(c_endpoint != "tcp://127.0.0.1:1");
  kill(c.pid(), SIGTERM);
  CHECK(c.WaitExit(5000) == 0);
  const std::string err = c.err();
  // The last --log-level, error, silences the info line of the options that the first would log;
  // the seed line is printed whatever the level.
  CHECK(err.find(" info [") == std::string::npos);
  CHECK(err.find("ordergate-bridge-sim: seed=") != std::string::npos);
}
