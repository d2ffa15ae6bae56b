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

TEST_CASE(
    "After a reload removes a key, its open connection's requests are dropped unread and counted, "
    "the warning names its identity, a new connection with it is refused, and the other client "
    "keeps being answered",
    "[transport][reload]") {
  auto io = MakeIo();
  CurveSetup setup;
  auto fe = setup.Bind(*io);
  zmq::socket_t a = Client(*io, fe->endpoint(), setup.server.public_key, &setup.a);
  zmq::socket_t b = Client(*io, fe->endpoint(), setup.server.public_key, &setup.b);
  std::vector<std::string> ids;
  REQUIRE(RoundTrip(*fe, a, "a before", &ids));
  REQUIRE(RoundTrip(*fe, b, "b before", &ids));

  // b's request is queued before the swap and read after it: dropped too.
  REQUIRE(b.send(zmq::str_buffer("b queued"), zmq::send_flags::dontwait));
  auto previous = fe->ReplaceCurveClients({{setup.a.public_key, "strategy-a"}});
  REQUIRE(previous.ok());
  CHECK(previous->size() == 2);
  CHECK(previous->at(setup.b.public_key) == "strategy-b");
  REQUIRE(b.send(zmq::str_buffer("b after"), zmq::send_flags::dontwait));
  CHECK(Serve(*fe, &ids, [&] { return fe->stats().curve_revoked_requests == 2; }));
  REQUIRE(RoundTrip(*fe, a, "a after", &ids));
  // Nothing of b's came through, nor went back.
  CHECK(ids == std::vector<std::string>{"strategy-a", "strategy-b", "strategy-a"});
  zmq::message_t m;
  CHECK_FALSE(b.recv(m, zmq::recv_flags::dontwait));
  CHECK(fe->stats().requests_dropped == 0);      // not a malformed frame
  CHECK(fe->stats().connections_admitted == 2);  // the connection itself stays open

  const std::vector<std::string> warnings = setup.Warnings();
  REQUIRE(warnings.size() == 1);  // two drops within a second: one line
  CHECK(warnings[0].find("from revoked client(s)") != std::string::npos);
  CHECK(warnings[0].find("\"strategy-b\" (key " + setup.b.public_key) != std::string::npos);

  // A new connection with the removed key fails its handshake.
  zmq::socket_t b2 = Client(*io, fe->endpoint(), setup.server.public_key, &setup.b);
  CHECK_FALSE(RoundTrip(*fe, b2, "b reconnected", &ids, 1000));
  CHECK(Serve(*fe, &ids, [&] { return fe->stats().curve_unknown_key == 1; }));
  CHECK(fe->stats().curve_revoked_requests == 2);
}

TEST_CASE(
    "A key added by a reload connects without a restart, a key put back is read again on its "
    "open connection, and a renamed key keeps its old name until it reconnects",
    "[transport][reload]") {
  auto io = MakeIo();
  CurveSetup setup;
  auto fe = setup.Bind(*io);
  std::vector<std::string> ids;
  CurveKeyPair c = Pair();
  zmq::socket_t early = Client(*io, fe->endpoint(), setup.server.public_key, &c);
  CHECK_FALSE(RoundTrip(*fe, early, "c before", &ids, 1000));
  CHECK(Serve(*fe, &ids, [&] { return fe->stats().curve_unknown_key == 1; }));

  REQUIRE(fe->ReplaceCurveClients({{setup.a.public_key, "strategy-a"},
                                   {setup.b.public_key, "strategy-b"},
                                   {c.public_key, "strategy-c"}})
              .ok());
  zmq::socket_t added = Client(*io, fe->endpoint(), setup.server.public_key, &c);
  REQUIRE(RoundTrip(*fe, added, "c after", &ids));
  CHECK(ids == std::vector<std::string>{"strategy-c"});

  // Removed, then put back: the open connection is read again.
  REQUIRE(fe->ReplaceCurveClients({{setup.a.public_key, "strategy-a"}}).ok());
  CHECK_FALSE(RoundTrip(*fe, added, "c removed", &ids, 500));
  CHECK(fe->stats().curve_revoked_requests == 1);
  REQUIRE(
      fe->ReplaceCurveClients({{setup.a.public_key, "strategy-a"}, {c.public_key, "c-new"}}).ok());
  ids.clear();
  REQUIRE(RoundTrip(*fe, added, "c back", &ids));
  // The same key now has a new name: the open connection keeps the one it was admitted under, a
  // new connection gets the new one.
  zmq::socket_t renamed = Client(*io, fe->endpoint(), setup.server.public_key, &c);
  REQUIRE(RoundTrip(*fe, renamed, "c renamed", &ids));
  CHECK(ids == std::vector<std::string>{"strategy-c", "c-new"});
  CHECK(fe->stats().curve_revoked_requests == 1);
}

TEST_CASE(
    "A reload with a key that is not Z85 is refused and the allowlist in force stays, and a front "
    "end without CURVE has none to replace",
    "[transport][reload]") {
  auto io = MakeIo();
  CurveSetup setup;
  auto fe = setup.Bind(*io);
  zmq::socket_t a = Client(*io, fe->endpoint(), setup.server.public_key, &setup.a);
  std::vector<std::string> ids;
  REQUIRE(RoundTrip(*fe, a, "a before", &ids));
  auto bad = fe->ReplaceCurveClients({{"not a key", "strategy-x"}});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(bad.status().message().find("strategy-x") != std::string::npos);
  // Both clients still get in, the open connection and new ones.
  REQUIRE(RoundTrip(*fe, a, "a after", &ids));
  zmq::socket_t b = Client(*io, fe->endpoint(), setup.server.public_key, &setup.b);
  REQUIRE(RoundTrip(*fe, b, "b after", &ids));
  CHECK(ids == std::vector<std::string>{"strategy-a", "strategy-a", "strategy-b"});
  CHECK(fe->stats().curve_revoked_requests == 0);
  // The list in force is the one given at Bind: the next replacement returns it.
  auto previous = fe->ReplaceCurveClients({{setup.a.public_key, "strategy-a"}});
  REQUIRE(previous.ok());
  CHECK(previous->size() == 2);

  auto io2 = MakeIo();
  FrontEndOptions plain;
  plain.endpoint = "tcp://127.0.0.1:*";
  auto pfe = FrontEnd::Bind(*io2, plain);
  REQUIRE(pfe.ok());
  CHECK((*pfe)->ReplaceCurveClients({{setup.a.public_key, "strategy-a"}}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
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
