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

#include "tests/support/child_process.h"

namespace {

using ordergate::test_support::Child;

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
