// What one client can cost the front end: replies queued for a peer that does not read, connections
// beyond the cap, connections that never finish a handshake. Real sockets on loopback.
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "absl/types/span.h"
#include "tests/transport/zmq_test_util.h"
#include "transport/front_end.h"
#include "transport/io.h"

namespace ordergate::transport {
namespace {

using testing::Ctx;
using testing::MakeIo;
using testing::ToString;

std::unique_ptr<FrontEnd> BindWith(IoContext& io, FrontEndOptions opts) {
  opts.endpoint = "tcp://127.0.0.1:*";
  auto fe = FrontEnd::Bind(io, opts);
  REQUIRE(fe.ok());
  return std::move(fe).value();
}

zmq::socket_t Dealer(IoContext& io, const std::string& endpoint) {
  zmq::socket_t s(Ctx(io), zmq::socket_type::dealer);
  s.set(zmq::sockopt::linger, 0);
  s.connect(endpoint);
  return s;
}

// Answers every request with its own body until `done` holds or timeout_ms passes.
bool ServeUntil(FrontEnd& fe, const std::function<bool()>& done, int timeout_ms = 5000) {
  InboundRequest in;
  return testing::WaitFor(
      done,
      [&] {
        PollEntry entry{fe.poll_handle()};
        (void)PollReadable(absl::MakeSpan(&entry, 1), 20);
        while (fe.TryReceive(&in) == ReceiveResult::kMessage) {
          (void)fe.Reply(in.route, in.body);
        }
      },
      timeout_ms);
}

// Sends `body` from `dealer` and serves the front end until the echo comes back; false if it does
// not within timeout_ms.
bool RoundTrip(FrontEnd& fe, zmq::socket_t& dealer, const std::string& body,
               int timeout_ms = 3000) {
  if (!dealer.send(zmq::buffer(body), zmq::send_flags::dontwait)) return false;
  bool answered = false;
  zmq::message_t reply;
  ServeUntil(
      fe,
      [&] {
        if (!answered && dealer.recv(reply, zmq::recv_flags::dontwait)) {
          answered = ToString(reply) == body;
        }
        return answered;
      },
      timeout_ms);
  return answered;
}

TEST_CASE(
    "Replies to a peer that does not read stop at the default send_hwm and the rest are "
    "dropped and counted",
    "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    auto fe = BindWith(*io, FrontEndOptions{});
    zmq::socket_t dealer = Dealer(*io, fe->endpoint());
    REQUIRE(dealer.send(zmq::str_buffer("hello"), zmq::send_flags::none));
    InboundRequest in;
    REQUIRE(testing::WaitFor([&] { return fe->TryReceive(&in) == ReceiveResult::kMessage; },
                             [&] {
                               PollEntry entry{fe->poll_handle()};
                               (void)PollReadable(absl::MakeSpan(&entry, 1), 20);
                             }));
    // 20 000 replies of 1 KiB to a client that reads none of them (the old front end queued all
    // 20 MiB: send_hwm was 100 000).
    constexpr int kReplies = 20000;
    const std::string body(1024, 'r');
    for (int i = 0; i < kReplies; ++i) REQUIRE(fe->Reply(in.route, body).ok());
    const FrontEndStats stats = fe->stats();
    // What got through sits in the ROUTER's queue (send_hwm), the two kernel buffers and the
    // client's own queue (its receive HWM, 1000 by default).
    CHECK(stats.replies_dropped_full >= kReplies - 3000);
    CHECK(stats.replies_dropped_gone == 0);

    // The client, reading now, gets exactly the replies that were not counted as dropped.
    uint64_t received = 0;
    zmq::message_t frame;
    dealer.set(zmq::sockopt::rcvtimeo, 500);
    while (dealer.recv(frame)) {
      if (!frame.more()) ++received;
    }
    CHECK(received + stats.replies_dropped_full == kReplies);
  }
}

TEST_CASE("A reply to a peer that has disconnected is dropped and counted as gone", "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    auto fe = BindWith(*io, FrontEndOptions{});
    InboundRequest in;
    {
      zmq::socket_t dealer = Dealer(*io, fe->endpoint());
      REQUIRE(dealer.send(zmq::str_buffer("bye"), zmq::send_flags::none));
      REQUIRE(testing::WaitFor([&] { return fe->TryReceive(&in) == ReceiveResult::kMessage; },
                               [&] {
                                 PollEntry entry{fe->poll_handle()};
                                 (void)PollReadable(absl::MakeSpan(&entry, 1), 20);
                               }));
    }
    REQUIRE(testing::WaitFor([&] { return fe->stats().connections_open == 0; },
                             [] { std::this_thread::sleep_for(std::chrono::milliseconds(10)); }));
    // The ROUTER forgets the peer once its pipe is gone; that follows the disconnect closely.
    REQUIRE(testing::WaitFor(
        [&] {
          REQUIRE(fe->Reply(in.route, "late").ok());
          return fe->stats().replies_dropped_gone > 0;
        },
        [] { std::this_thread::sleep_for(std::chrono::milliseconds(10)); }));
    CHECK(fe->stats().replies_dropped_full == 0);
  }
}

TEST_CASE(
    "Connections beyond max_connections are refused and new ones are admitted again after "
    "peers leave",
    "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    FrontEndOptions opts;
    opts.max_connections = 3;
    auto fe = BindWith(*io, opts);
    REQUIRE(fe->max_connections() == 3);

    std::vector<zmq::socket_t> admitted;
    for (int i = 0; i < 3; ++i) {
      admitted.push_back(Dealer(*io, fe->endpoint()));
      REQUIRE(RoundTrip(*fe, admitted.back(), "admitted-" + std::to_string(i)));
    }
    CHECK(fe->stats().connections_admitted == 3);

    // The fourth is refused at the end of its handshake, quickly, and its request never arrives.
    zmq::socket_t fourth = Dealer(*io, fe->endpoint());
    REQUIRE(fourth.send(zmq::str_buffer("refused"), zmq::send_flags::none));
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(ServeUntil(
        *fe, [&] { return fe->stats().connections_refused == 1; }, 2000));
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(1));
    REQUIRE(testing::WaitFor([&] { return fe->stats().connections_open == 3; },
                             [] { std::this_thread::sleep_for(std::chrono::milliseconds(10)); }));
    CHECK_FALSE(RoundTrip(*fe, fourth, "still-refused", 300));
    // The admitted ones are still served.
    CHECK(RoundTrip(*fe, admitted[2], "still-served"));

    // Two leave: two new connections are admitted, the next one is refused again.
    admitted.erase(admitted.begin(), admitted.begin() + 2);
    REQUIRE(testing::WaitFor([&] { return fe->stats().connections_admitted == 1; },
                             [] { std::this_thread::sleep_for(std::chrono::milliseconds(10)); }));
    for (int i = 0; i < 2; ++i) {
      admitted.push_back(Dealer(*io, fe->endpoint()));
      CHECK(RoundTrip(*fe, admitted.back(), "again-" + std::to_string(i)));
    }
    zmq::socket_t sixth = Dealer(*io, fe->endpoint());
    CHECK_FALSE(RoundTrip(*fe, sixth, "refused-again", 500));
    CHECK(fe->stats().connections_refused == 2);
    CHECK(fe->stats().connections_admitted == 3);
  }
}

TEST_CASE("A TCP connection that never speaks ZMTP is closed after handshake_timeout_ms",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    FrontEndOptions opts;
    opts.handshake_timeout_ms = 300;
    auto fe = BindWith(*io, opts);
    const std::string& ep = fe->endpoint();
    const int port = std::stoi(ep.substr(ep.rfind(':') + 1));
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
    CHECK(testing::WaitFor([&] { return fe->stats().connections_open == 1; },
                           [] { std::this_thread::sleep_for(std::chrono::milliseconds(5)); }));
    // libzmq's default would hold it 30 s.
    CHECK(testing::WaitFor([&] { return fe->stats().connections_open == 0; },
                           [] { std::this_thread::sleep_for(std::chrono::milliseconds(10)); },
                           2000));
    CHECK(fe->stats().handshake_failures == 1);
    ::close(fd);
  }
}

TEST_CASE(
    "The connection cap leaves descriptor_reserve descriptors of the limit to the rest of "
    "the process",
    "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  auto limit = RaiseDescriptorLimit();
  REQUIRE(limit.ok());
  CHECK(limit->soft == limit->hard);
  {
    FrontEndOptions opts;
    opts.max_connections = 1'000'000;
    opts.descriptor_reserve = 512;
    auto fe = BindWith(*io, opts);
    CHECK(static_cast<uint64_t>(fe->max_connections()) ==
          std::min<uint64_t>(1'000'000, limit->soft - 512));
  }
  if (limit->soft <= 1'000'000) {
    FrontEndOptions opts;
    opts.endpoint = "tcp://127.0.0.1:*";
    opts.descriptor_reserve = static_cast<int>(limit->soft);
    auto fe = FrontEnd::Bind(*io, opts);
    REQUIRE_FALSE(fe.ok());
    CHECK(fe.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(fe.status().message().find("RLIMIT_NOFILE") != absl::string_view::npos);
  }
  FrontEndOptions bad;
  bad.send_hwm = 0;
  auto fe = FrontEnd::Bind(*io, bad);
  REQUIRE_FALSE(fe.ok());
  CHECK(fe.status().code() == absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace ordergate::transport
