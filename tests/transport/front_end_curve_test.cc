// The front end as a CURVE server (FrontEndOptions::curve_secret_key): who gets in, under which
// name, and what the refused get and leave behind. Real sockets on loopback.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "absl/types/span.h"
#include "tests/transport/zmq_test_util.h"
#include "transport/curve_cert.h"
#include "transport/front_end.h"
#include "transport/io.h"

namespace ordergate::transport {
namespace {

using testing::Ctx;
using testing::MakeIo;
using testing::ToString;

CurveKeyPair Pair() {
  auto p = GenerateCurveKeyPair();
  REQUIRE(p.ok());
  return *p;
}

struct CurveSetup {
  CurveKeyPair server = Pair();
  CurveKeyPair a = Pair();
  CurveKeyPair b = Pair();
  std::mutex mu;
  std::vector<std::string> warnings;  // what on_auth_refusals said

  std::unique_ptr<FrontEnd> Bind(IoContext& io) {
    FrontEndOptions opts;
    opts.endpoint = "tcp://127.0.0.1:*";
    opts.curve_secret_key = server.secret_key;
    opts.curve_clients = {{a.public_key, "strategy-a"}, {b.public_key, "strategy-b"}};
    opts.handshake_timeout_ms = 1000;
    opts.on_auth_refusals = [this](absl::string_view line) {
      std::lock_guard<std::mutex> lock(mu);
      warnings.emplace_back(line);
    };
    auto fe = FrontEnd::Bind(io, opts);
    REQUIRE(fe.ok());
    return std::move(fe).value();
  }
  std::vector<std::string> Warnings() {
    std::lock_guard<std::mutex> lock(mu);
    return warnings;
  }
};

// A DEALER that speaks CURVE with `mine` to a server whose public key is `server_public`; with
// `mine` empty, a DEALER with no key at all (the NULL mechanism).
zmq::socket_t Client(IoContext& io, const std::string& endpoint, const std::string& server_public,
                     const CurveKeyPair* mine) {
  zmq::socket_t s(Ctx(io), zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  if (mine != nullptr) {
    s.set(zmq::sockopt::curve_serverkey, server_public);
    s.set(zmq::sockopt::curve_publickey, mine->public_key);
    s.set(zmq::sockopt::curve_secretkey, mine->secret_key);
  }
  s.connect(endpoint);
  return s;
}

// Serves `fe` (echoing each body and recording each identity) until `done` or timeout_ms.
bool Serve(FrontEnd& fe, std::vector<std::string>* identities, const std::function<bool()>& done,
           int timeout_ms = 3000) {
  InboundRequest in;
  return testing::WaitFor(
      done,
      [&] {
        PollEntry entry{fe.poll_handle()};
        (void)PollReadable(absl::MakeSpan(&entry, 1), 20);
        while (fe.TryReceive(&in) == ReceiveResult::kMessage) {
          if (identities != nullptr) identities->push_back(in.identity);
          (void)fe.Reply(in.route, in.body);
        }
      },
      timeout_ms);
}

// Sends `body` and serves until its echo comes back (true) or timeout_ms passes (false).
bool RoundTrip(FrontEnd& fe, zmq::socket_t& client, const std::string& body,
               std::vector<std::string>* identities, int timeout_ms = 3000) {
  if (!client.send(zmq::buffer(body), zmq::send_flags::dontwait)) return false;
  bool echoed = false;
  zmq::message_t m;
  Serve(
      fe, identities,
      [&] {
        if (client.recv(m, zmq::recv_flags::dontwait)) echoed = ToString(m) == body;
        return echoed;
      },
      timeout_ms);
  return echoed;
}

uint16_t PortOf(const std::string& endpoint) {
  return static_cast<uint16_t>(std::stoi(endpoint.substr(endpoint.rfind(':') + 1)));
}

TEST_CASE("An allowlisted CURVE client's requests arrive with its certificate's name as identity",
          "[transport]") {
  auto io = MakeIo();
  CurveSetup setup;
  auto fe = setup.Bind(*io);
  zmq::socket_t a = Client(*io, fe->endpoint(), setup.server.public_key, &setup.a);
  zmq::socket_t b = Client(*io, fe->endpoint(), setup.server.public_key, &setup.b);
  std::vector<std::string> ids;
  REQUIRE(RoundTrip(*fe, a, "from a", &ids));
  REQUIRE(RoundTrip(*fe, b, "from b", &ids));
  REQUIRE(RoundTrip(*fe, a, "from a again", &ids));
  CHECK(ids == std::vector<std::string>{"strategy-a", "strategy-b", "strategy-a"});
  CHECK(fe->stats().connections_admitted == 2);
  CHECK(fe->stats().curve_unknown_key == 0);
  CHECK(fe->stats().curve_handshake_failed == 0);
}

TEST_CASE("Without CURVE a request's identity is empty", "[transport]") {
  auto io = MakeIo();
  FrontEndOptions opts;
  opts.endpoint = "tcp://127.0.0.1:*";
  auto fe = FrontEnd::Bind(*io, opts);
  REQUIRE(fe.ok());
  zmq::socket_t plain = Client(*io, (*fe)->endpoint(), "", nullptr);
  std::vector<std::string> ids;
  REQUIRE(RoundTrip(**fe, plain, "plain", &ids));
  CHECK(ids == std::vector<std::string>{""});
}

TEST_CASE("An allowlisted client cannot claim another's name: the identity follows its key",
          "[transport]") {
  auto io = MakeIo();
  CurveSetup setup;
  auto fe = setup.Bind(*io);
  // Client a names itself strategy-b everywhere it can: routing id and body.
  zmq::socket_t a(Ctx(*io), zmq::socket_type::dealer);
  a.set(zmq::sockopt::linger, 0);
  a.set(zmq::sockopt::routing_id, "strategy-b");
  a.set(zmq::sockopt::curve_serverkey, setup.server.public_key);
  a.set(zmq::sockopt::curve_publickey, setup.a.public_key);
  a.set(zmq::sockopt::curve_secretkey, setup.a.secret_key);
  a.connect(fe->endpoint());
  std::vector<std::string> ids;
  REQUIRE(RoundTrip(*fe, a, R"({"identity":"strategy-b","User-Id":"strategy-b"})", &ids));
  CHECK(ids == std::vector<std::string>{"strategy-a"});

  // Presenting b's public key without b's secret key cannot complete the handshake.
  CurveKeyPair forged{setup.b.public_key, setup.a.secret_key};
  zmq::socket_t impostor = Client(*io, fe->endpoint(), setup.server.public_key, &forged);
  ids.clear();
  CHECK_FALSE(RoundTrip(*fe, impostor, "as b", &ids, 1500));
  CHECK(ids.empty());
}

TEST_CASE(
    "An unknown key, a client without a key and a raw TCP connection get nothing and are "
    "counted",
    "[transport]") {
  auto io = MakeIo();
  CurveSetup setup;
  auto fe = setup.Bind(*io);
  std::vector<std::string> ids;
  const auto started = std::chrono::steady_clock::now();

  CurveKeyPair stranger = Pair();
  zmq::socket_t unknown = Client(*io, fe->endpoint(), setup.server.public_key, &stranger);
  CHECK_FALSE(RoundTrip(*fe, unknown, "unknown", &ids, 1000));
  CHECK(Serve(*fe, &ids, [&] { return fe->stats().curve_unknown_key == 1; }));

  zmq::socket_t keyless = Client(*io, fe->endpoint(), "", nullptr);
  CHECK_FALSE(RoundTrip(*fe, keyless, "no key", &ids, 1000));
  CHECK(Serve(*fe, &ids, [&] { return fe->stats().curve_handshake_failed >= 1; }));
  zmq::message_t m;
  CHECK_FALSE(keyless.recv(m, zmq::recv_flags::dontwait));
  keyless.close();  // it would go on reconnecting, each attempt refused and counted
  const uint64_t after_keyless = fe->stats().curve_handshake_failed;

  // Not ZMTP at all: an HTTP request on the port. The server closes the connection without a byte
  // of application data.
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(PortOf(fe->endpoint()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  const char http[] = "GET /orders HTTP/1.0\r\n\r\n";
  REQUIRE(write(fd, http, sizeof http - 1) == static_cast<ssize_t>(sizeof http - 1));
  std::string received;
  bool closed = false;
  CHECK(Serve(*fe, &ids, [&] {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 0) == 1) {
      char buf[256];
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n <= 0) closed = true;
      if (n > 0) received.append(buf, static_cast<size_t>(n));
    }
    return closed && fe->stats().curve_handshake_failed > after_keyless;
  }));
  close(fd);
  // libzmq may have sent its own greeting's first bytes before reading ours; never a reply.
  CHECK(received.find("GET") == std::string::npos);
  CHECK(received.size() <= 64);

  CHECK(ids.empty());  // nothing of theirs reached the gateway
  const FrontEndStats stats = fe->stats();
  CHECK(stats.curve_unknown_key == 1);
  CHECK(stats.connections_admitted == 0);
  CHECK_FALSE(unknown.recv(m, zmq::recv_flags::dontwait));

  // The warnings name the peer and the reason; the first refusal is reported at once, the rest
  // within a second with their count.
  CHECK(Serve(
      *fe, nullptr, [&] { return setup.Warnings().size() >= 2; }, 3000));
  const std::vector<std::string> warnings = setup.Warnings();
  REQUIRE_FALSE(warnings.empty());
  CHECK(warnings[0].find("127.0.0.1") != std::string::npos);
  CHECK(warnings[0].find("unknown CURVE key " + stranger.public_key) != std::string::npos);
  // At most one a second (and the first at once).
  const auto elapsed_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  CHECK(static_cast<int64_t>(warnings.size()) <= elapsed_s + 1);
}

TEST_CASE("A CURVE front end refuses a secret key that is not Z85", "[transport]") {
  auto io = MakeIo();
  FrontEndOptions opts;
  opts.endpoint = "tcp://127.0.0.1:*";
  opts.curve_secret_key = "not a key";
  auto fe = FrontEnd::Bind(*io, opts);
  REQUIRE_FALSE(fe.ok());
  CHECK(fe.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ordergate::transport
