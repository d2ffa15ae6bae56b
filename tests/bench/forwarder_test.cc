// ordergate-forwarder (bench/forwarder_main.cc) as a real process: its command line in the common
// style of transport/cli_style.h (--help on stdout with exit 0, a bad command line refused with
// exit 2 and a message naming the flag), and a PING relayed to a real ordergate-bridge-sim and
// back, then SIGTERM. Loopback, kernel-chosen ports.
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
#include <zmq.hpp>

namespace {

using Clock = std::chrono::steady_clock;

// A child process with its stdout and stderr on pipes. Killed (SIGKILL) if still running when
// destroyed.
class Child {
 public:
  Child(const std::string& exe, const std::vector<std::string>& args) {
    int out[2], err[2];
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    REQUIRE(pipe2(err, O_CLOEXEC) == 0);
    std::vector<std::string> full = {exe};
    full.insert(full.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : full) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    close(err[1]);
    fds_[0] = out[0];
    fds_[1] = err[0];
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out() const { return out_; }
  const std::string& err() const { return err_; }

  // Reads stdout and stderr until stdout has a whole first line (returned without its newline),
  // both pipes are closed, or timeout_ms passes. The line is empty if none came.
  std::string ReadFirstLine(int timeout_ms) {
    Drain(timeout_ms, [this] { return out_.find('\n') != std::string::npos; });
    const size_t nl = out_.find('\n');
    return nl == std::string::npos ? std::string() : out_.substr(0, nl);
  }

  // Reads both pipes to their end, then reaps the child: its exit code, 128 + signal if killed by
  // one, or -1 if it had not exited within timeout_ms (then it is killed).
  int WaitExit(int timeout_ms) {
    Drain(timeout_ms, [] { return false; });
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    int status = 0;
    while (Clock::now() < deadline) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

 private:
  template <typename Done>
  void Drain(int timeout_ms, Done done) {
    const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string* sinks[2] = {&out_, &err_};
    while (!done() && (fds_[0] >= 0 || fds_[1] >= 0) && Clock::now() < deadline) {
      pollfd p[2] = {{fds_[0], POLLIN, 0}, {fds_[1], POLLIN, 0}};
      if (poll(p, 2, 50) <= 0) continue;
      for (int i = 0; i < 2; ++i) {
        if (fds_[i] < 0 || p[i].revents == 0) continue;
        char buf[4096];
        const ssize_t n = read(fds_[i], buf, sizeof buf);
        if (n > 0) {
          sinks[i]->append(buf, static_cast<size_t>(n));
        } else {
          close(fds_[i]);
          fds_[i] = -1;
        }
      }
    }
  }

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  std::string out_;
  std::string err_;
};

// The endpoint after `prefix` in `line`, or empty.
std::string EndpointAfter(const std::string& line, const std::string& prefix) {
  return line.rfind(prefix, 0) == 0 ? line.substr(prefix.size()) : std::string();
}

}  // namespace

TEST_CASE("The forwarder's --help and -h list its flags on stdout and exit 0",
          "[bench][forwarder]") {
  for (const char* help : {"--help", "-h"}) {
    Child c(ORDERGATE_FORWARDER_BINARY, {help});
    const int code = c.WaitExit(5000);
    INFO(help << "\nstdout:\n" << c.out() << "\nstderr:\n" << c.err());
    CHECK(code == 0);
    CHECK(c.err().empty());
    CHECK(c.out().find("Usage: ordergate-forwarder") != std::string::npos);
    for (const char* flag : {"--listen ENDPOINT=tcp://127.0.0.1:*", "--bridge ENDPOINT REQUIRED",
                             "--io-threads N=1"}) {
      CHECK(c.out().find(flag) != std::string::npos);
    }
  }
}

TEST_CASE("A bad forwarder command line exits 2 with a message on stderr that names the flag",
          "[bench][forwarder]") {
  // Each command line, and what stderr must say about it.
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{}, "--bridge is required"},
      {{"--bridge"}, "--bridge"},
      {{"--bridge", ""}, "--bridge: an empty endpoint"},
      {{"--bridge", "tcp://127.0.0.1:1", "--io-threads", "0"},
       "--io-threads: 0 is not a number >= 1"},
      {{"--bridge", "tcp://127.0.0.1:1", "--io-threads", "many"},
       "--io-threads: many is not a number >= 1"},
      {{"--bridge", "tcp://127.0.0.1:1", "--frobnicate"}, "--frobnicate"},
  };
  for (const auto& [args, message] : cases) {
    Child c(ORDERGATE_FORWARDER_BINARY, args);
    const int code = c.WaitExit(5000);
    INFO((args.empty() ? std::string("(no flags)") : args.back()) << "\nstderr:\n" << c.err());
    CHECK(code == 2);
    CHECK(c.out().empty());
    CHECK(c.err().rfind("ordergate-forwarder: ", 0) == 0);
    CHECK(c.err().find(message) != std::string::npos);
    CHECK(c.err().find("Run ordergate-forwarder --help for the flags.") != std::string::npos);
  }
}

TEST_CASE("The forwarder relays a PING to the simulator and back, and SIGTERM stops it with exit 0",
          "[bench][forwarder]") {
  Child sim(ORDERGATE_BRIDGE_SIM_BINARY,
            {"--bind", "tcp://127.0.0.1:*", "--log-level", "warn", "--no-require-signature"});
  const std::string sim_ep =
      EndpointAfter(sim.ReadFirstLine(10000), "ordergate-bridge-sim listening on ");
  INFO("simulator stderr:\n" << sim.err());
  REQUIRE(sim_ep.rfind("tcp://127.0.0.1:", 0) == 0);

  Child fwd(ORDERGATE_FORWARDER_BINARY,
            {"--listen=tcp://127.0.0.1:*", "--bridge", sim_ep, "--io-threads", "2"});
  const std::string fwd_ep =
      EndpointAfter(fwd.ReadFirstLine(10000), "ordergate-forwarder listening on ");
  INFO("forwarder stderr:\n" << fwd.err());
  REQUIRE(fwd_ep.rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(fwd_ep != sim_ep);

  {
    zmq::context_t ctx(1);
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::rcvtimeo, 5000);
    dealer.connect(fwd_ep);
    const std::string ping = R"({"action":"PING","uuid":"through-the-forwarder"})";
    dealer.send(zmq::message_t(), zmq::send_flags::sndmore);
    dealer.send(zmq::buffer(ping), zmq::send_flags::none);
    zmq::message_t delimiter, body;
    REQUIRE(dealer.recv(delimiter).has_value());
    CHECK(delimiter.size() == 0);
    REQUIRE(dealer.recv(body).has_value());
    const std::string reply = body.to_string();
    INFO(reply);
    CHECK(reply.find(R"("status":"ok")") != std::string::npos);
    CHECK(reply.find(R"("uuid":"through-the-forwarder")") != std::string::npos);
  }

  kill(fwd.pid(), SIGTERM);
  CHECK(fwd.WaitExit(5000) == 0);
  kill(sim.pid(), SIGTERM);
  CHECK(sim.WaitExit(5000) == 0);
}
