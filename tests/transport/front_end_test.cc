#include "transport/front_end.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "absl/types/span.h"
#include "tests/transport/zmq_test_util.h"
#include "transport/client.h"
#include "transport/io.h"

namespace ordergate::transport {
namespace {

using testing::Ctx;
using testing::MakeIo;
using testing::ToString;

std::unique_ptr<FrontEnd> BindFrontEnd(IoContext& io, int64_t max_message_bytes = 1 << 20) {
  FrontEndOptions opts;
  opts.endpoint = "tcp://127.0.0.1:*";
  opts.max_message_bytes = max_message_bytes;
  auto fe = FrontEnd::Bind(io, opts);
  REQUIRE(fe.ok());
  return std::move(fe).value();
}

// Waits (blocking in zmq_poll) for the next frame sequence that is not kNone.
ReceiveResult ReceiveNext(FrontEnd& fe, InboundRequest* req, int timeout_ms = 5000) {
  ReceiveResult result = ReceiveResult::kNone;
  testing::WaitFor([&] { return result != ReceiveResult::kNone; },
                   [&] {
                     PollEntry entry{fe.poll_handle()};
                     (void)PollReadable(absl::MakeSpan(&entry, 1), 50);
                     result = fe.TryReceive(req);
                   },
                   timeout_ms);
  return result;
}

zmq::socket_t Connect(IoContext& io, zmq::socket_type type, const std::string& endpoint) {
  zmq::socket_t s(Ctx(io), type);
  s.set(zmq::sockopt::linger, 0);
  s.set(zmq::sockopt::rcvtimeo, 5000);
  s.connect(endpoint);
  return s;
}

TEST_CASE("A REQ client's request reaches the front end and the reply reaches the client",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    auto fe = BindFrontEnd(*io);
    CHECK(fe->endpoint().rfind("tcp://127.0.0.1:", 0) == 0);
    CHECK(fe->endpoint().find('*') == std::string::npos);
    zmq::socket_t req = Connect(*io, zmq::socket_type::req, fe->endpoint());
    REQUIRE(req.send(zmq::str_buffer(R"({"action":"PING"})"), zmq::send_flags::none));

    InboundRequest in;
    REQUIRE(ReceiveNext(*fe, &in) == ReceiveResult::kMessage);
    CHECK(in.body == R"({"action":"PING"})");
    CHECK(in.route.delimiter);
    CHECK(in.route.id_size > 0);
    REQUIRE(fe->Reply(in.route, R"({"status":"ok"})").ok());

    zmq::message_t reply;
    REQUIRE(req.recv(reply));
    CHECK(ToString(reply) == R"({"status":"ok"})");
    CHECK_FALSE(reply.more());
    CHECK(fe->dropped_count() == 0);
  }
}

TEST_CASE("A DEALER client is answered with the empty delimiter exactly when it sent one",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    auto fe = BindFrontEnd(*io);

    SECTION("with the delimiter, as the contract says") {
      auto client = OrderClient::Connect(*io, fe->endpoint());
      REQUIRE(client.ok());
      REQUIRE((*client)->Send("one").ok());
      REQUIRE((*client)->Send("two").ok());
      InboundRequest in;
      REQUIRE(ReceiveNext(*fe, &in) == ReceiveResult::kMessage);
      CHECK(in.body == "one");
      CHECK(in.route.delimiter);
      const ReplyRoute first = in.route;
      REQUIRE(ReceiveNext(*fe, &in) == ReceiveResult::kMessage);
      CHECK(in.body == "two");
      // Many requests outstanding: answer in reverse order.
      REQUIRE(fe->Reply(in.route, "reply-two").ok());
      REQUIRE(fe->Reply(first, "reply-one").ok());
      std::string body;
      REQUIRE((*client)->Receive(&body, 5000).ok());
      CHECK(body == "reply-two");
      REQUIRE((*client)->Receive(&body, 5000).ok());
      CHECK(body == "reply-one");
    }

    SECTION("without the delimiter") {
      zmq::socket_t dealer = Connect(*io, zmq::socket_type::dealer, fe->endpoint());
      REQUIRE(dealer.send(zmq::str_buffer("bare"), zmq::send_flags::none));
      InboundRequest in;
      REQUIRE(ReceiveNext(*fe, &in) == ReceiveResult::kMessage);
      CHECK(in.body == "bare");
      CHECK_FALSE(in.route.delimiter);
      REQUIRE(fe->Reply(in.route, "bare-reply").ok());
      zmq::message_t reply;
      REQUIRE(dealer.recv(reply));
      CHECK(ToString(reply) == "bare-reply");
      CHECK_FALSE(reply.more());
    }
  }
}

TEST_CASE("Malformed envelopes are dropped and counted while the next valid request gets through",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    auto fe = BindFrontEnd(*io);
    zmq::socket_t dealer = Connect(*io, zmq::socket_type::dealer, fe->endpoint());
    constexpr auto kMore = zmq::send_flags::sndmore;
    // [empty] alone: a delimiter with no body.
    REQUIRE(dealer.send(zmq::str_buffer(""), zmq::send_flags::none));
    // [empty][a][b]: more than one body frame after the delimiter.
    REQUIRE(dealer.send(zmq::str_buffer(""), kMore));
    REQUIRE(dealer.send(zmq::str_buffer("a"), kMore));
    REQUIRE(dealer.send(zmq::str_buffer("b"), zmq::send_flags::none));
    // [x][y]: two frames and no delimiter.
    REQUIRE(dealer.send(zmq::str_buffer("x"), kMore));
    REQUIRE(dealer.send(zmq::str_buffer("y"), zmq::send_flags::none));
    // Then a valid request.
    REQUIRE(dealer.send(zmq::str_buffer(""), kMore));
    REQUIRE(dealer.send(zmq::str_buffer("valid"), zmq::send_flags::none));

    InboundRequest in;
    int dropped = 0;
    ReceiveResult r;
    while ((r = ReceiveNext(*fe, &in)) == ReceiveResult::kDropped) ++dropped;
    REQUIRE(r == ReceiveResult::kMessage);
    CHECK(in.body == "valid");
    CHECK(dropped == 3);
    CHECK(fe->dropped_count() == 3);
    REQUIRE(fe->Reply(in.route, "ok").ok());
    zmq::message_t frame;
    REQUIRE(dealer.recv(frame));
    CHECK(frame.size() == 0);
    REQUIRE(dealer.recv(frame));
    CHECK(ToString(frame) == "ok");
  }
}

TEST_CASE("A frame above max_message_bytes disconnects that peer while other peers are served",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    auto fe = BindFrontEnd(*io, /*max_message_bytes=*/1024);
    zmq::socket_t big = Connect(*io, zmq::socket_type::dealer, fe->endpoint());
    auto small = OrderClient::Connect(*io, fe->endpoint());
    REQUIRE(small.ok());

    REQUIRE(big.send(zmq::str_buffer(""), zmq::send_flags::sndmore));
    REQUIRE(
        big.send(zmq::const_buffer(std::string(4096, 'x').data(), 4096), zmq::send_flags::none));
    // A body just under the limit is still delivered: the gateway answers OVERSIZE itself.
    const std::string near_limit(1000, 'y');
    REQUIRE((*small)->Send(near_limit).ok());

    InboundRequest in;
    REQUIRE(ReceiveNext(*fe, &in) == ReceiveResult::kMessage);
    CHECK(in.body == near_limit);
    REQUIRE(fe->Reply(in.route, "served").ok());
    std::string body;
    REQUIRE((*small)->Receive(&body, 5000).ok());
    CHECK(body == "served");
    // The oversized frame never surfaces.
    CHECK(ReceiveNext(*fe, &in, /*timeout_ms=*/300) == ReceiveResult::kNone);
  }
}

TEST_CASE("Binding an unusable endpoint is reported as a status, not an exception", "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    FrontEndOptions opts;
    opts.endpoint = "bogus://nowhere";
    auto bad = FrontEnd::Bind(*io, opts);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.status().code() == absl::StatusCode::kInvalidArgument);

    auto first = BindFrontEnd(*io);
    opts.endpoint = first->endpoint();
    // One front end per context (it holds the context's ZAP handler): the address in use is
    // tried from a second context.
    auto other_io = MakeIo();
    REQUIRE(other_io);
    auto taken = FrontEnd::Bind(*other_io, opts);
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.status().code() == absl::StatusCode::kUnavailable);
    taken = FrontEnd::Bind(*io, FrontEndOptions{});
    REQUIRE_FALSE(taken.ok());
    CHECK(taken.status().code() == absl::StatusCode::kAlreadyExists);
  }
}

TEST_CASE("OrderClient::Receive gives up with kDeadlineExceeded when no reply comes",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  {
    auto fe = BindFrontEnd(*io);
    auto client = OrderClient::Connect(*io, fe->endpoint());
    REQUIRE(client.ok());
    std::string body = "untouched";
    const absl::Status s = (*client)->Receive(&body, 50);
    CHECK(s.code() == absl::StatusCode::kDeadlineExceeded);
    CHECK(body == "untouched");

    PollEntry entry{(*client)->poll_handle()};
    auto n = PollReadable(absl::MakeSpan(&entry, 1), 0);
    REQUIRE(n.ok());
    CHECK(*n == 0);
    CHECK_FALSE(entry.readable);
  }
}

}  // namespace
}  // namespace ordergate::transport
