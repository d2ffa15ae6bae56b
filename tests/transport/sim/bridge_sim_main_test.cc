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

using namespace bridge_sim_test;  // NOLINT(google-build-using-namespace): the shared helpers

namespace {

struct Child {
  pid_t pid = -1;
  int out = -1;
  int err = -1;
  std::string endpoint;
};

Child Spawn(const std::vector<std::string>& args) {
  int out[2], err[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  std::vector<std::string> full = {ORDERGATE_BRIDGE_SIM_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  Child c{pid, out[0], err[0], {}};
  // Wait for the "listening" line.
  std::string line;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (line.find('\n') == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.out, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    const ssize_t n = read(c.out, buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  const std::string prefix = "ordergate-bridge-sim listening on ";
  INFO(line);
  REQUIRE(line.rfind(prefix, 0) == 0);
  c.endpoint = line.substr(prefix.size(), line.find('\n') - prefix.size());
  return c;
}

// The exit code, or -1 if it did not exit within timeout_ms (then it is killed).
int WaitExit(Child& c, int timeout_ms) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    const pid_t r = waitpid(c.pid, &status, WNOHANG);
    if (r == c.pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(c.pid, SIGKILL);
  waitpid(c.pid, &status, 0);
  return -1;
}

std::string ReadAll(int fd) {
  std::string s;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, static_cast<size_t>(n));
  close(fd);
  return s;
}

struct Exited {
  int code = -1;  // the exit code; -1 if it had not exited within the deadline (then killed)
  std::string out;
  std::string err;
};

// Runs the binary with `args` to its end (at most 5 s), capturing stdout and stderr. For command
// lines that must not start a simulator: one that starts is killed and reported as -1.
Exited RunToExit(const std::vector<std::string>& args) {
  int out[2], err[2];
  REQUIRE(pipe2(out, O_CLOEXEC) == 0);
  REQUIRE(pipe2(err, O_CLOEXEC) == 0);
  std::vector<std::string> full = {ORDERGATE_BRIDGE_SIM_BINARY};
  full.insert(full.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : full) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(out[1], 1);
    dup2(err[1], 2);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  Exited r;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&r.out, &r.err};
  int open_fds = 2;
  while (open_fds > 0 && std::chrono::steady_clock::now() < deadline) {
    if (poll(fds, 2, 100) <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else {
        close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (const pollfd& p : fds) {
    if (p.fd >= 0) close(p.fd);
  }
  Child c{pid, -1, -1, {}};
  r.code = WaitExit(c, 1000);
  return r;
}

}  // namespace

TEST_CASE("The binary prints its endpoint, stops on SIGTERM with exit 0 and prints its counters",
          "[transport][sim]") {
  Child c = Spawn({"--bind", "tcp://127.0.0.1:*", "--no-require-signature", "--log-level", "warn"});
  CHECK(c.endpoint.rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(c.endpoint.find('*') == std::string::npos);
  {
    Dealer d(c.endpoint);
    CHECK(Json(d.Call(R"({"action":"OPEN","uuid":"b","symbol":"EURUSD","type":"BUY","volume":1})"))
              .S("status") == "FILLED");
  }
  kill(c.pid, SIGTERM);
  CHECK(WaitExit(c, 5000) == 0);
  close(c.out);
  const std::string err = ReadAll(c.err);
  CHECK(err.find("requests=1 executed=1") != std::string::npos);
}

TEST_CASE(
    "The crash fault journals the order, then exits 3 without replying, and a restart remembers it",
    "[transport][sim]") {
  TempDir dir;
  const std::string journal = dir.File("journal.jsonl");
  Child c = Spawn({"--bind", "tcp://127.0.0.1:*", "--journal", journal, "--fault-crash", "1",
                   "--log-level", "error"});
  {
    Dealer d(c.endpoint);
    d.Send(OpenBody("boom"));
    CHECK_FALSE(d.Recv(500).has_value());
  }
  CHECK(WaitExit(c, 5000) == 3);
  close(c.out);
  close(c.err);
  const auto lines = ReadLines(journal);
  REQUIRE(lines.size() == 1);
  CHECK(Json(lines[0]).S("uuid") == "boom");

  Child again =
      Spawn({"--bind", "tcp://127.0.0.1:*", "--journal", journal, "--log-level", "error"});
  {
    Dealer d(again.endpoint);
    Json st(d.Call(R"({"action":"ORDER_STATUS","uuid":"boom"})"));
    CHECK(st.S("status") == "FILLED");
    CHECK(st.I("ticket") == 100000001);
    CHECK(Json(d.Call(OpenBody("next"))).I("ticket") == 100000002);
  }
  kill(again.pid, SIGTERM);
  CHECK(WaitExit(again, 5000) == 0);
  close(again.out);
  close(again.err);
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
  Child c = Spawn({"--bind", "tcp://127.0.0.1:1", "--log-level", "info", "--bind",
                   "tcp://127.0.0.1:*", "--log-level=error", "--no-require-signature"});
  CHECK(c.endpoint.rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(c.endpoint != "tcp://127.0.0.1:1");
  kill(c.pid, SIGTERM);
  CHECK(WaitExit(c, 5000) == 0);
  close(c.out);
  const std::string err = ReadAll(c.err);
  // The last --log-level, error, silences the info line of the options that the first would log;
  // the seed line is printed whatever the level.
  CHECK(err.find(" info [") == std::string::npos);
  CHECK(err.find("ordergate-bridge-sim: seed=") != std::string::npos);
}
