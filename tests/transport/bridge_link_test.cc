#include "transport/bridge_link.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "absl/types/span.h"
#include "tests/transport/zmq_test_util.h"
#include "transport/io.h"

namespace ordergate::transport {
namespace {

using testing::Ctx;
using testing::MakeIo;
using testing::ToString;
using testing::WaitFor;

constexpr int64_t kFar = std::numeric_limits<int64_t>::max() / 2;

// Stands in for the MT5 bridge. A ROUTER rather than a REP, so that tests can answer out of order
// (a REP cannot); the link sees the same [empty][json] frames either way.
class FakeBridge {
 public:
  FakeBridge(IoContext& io, const std::string& endpoint)
      : socket_(Ctx(io), zmq::socket_type::router) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 5000);
    // Rebinding the port a previous FakeBridge just closed can race its listener's teardown.
    WaitFor([&] { return bound_; },
            [&] {
              try {
                socket_.bind(endpoint);
                bound_ = true;
              } catch (const zmq::error_t&) {
                zmq_poll(nullptr, 0, 20);
              }
            });
    REQUIRE(bound_);
    endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  }

  const std::string& endpoint() const { return endpoint_; }
  void Close() { socket_.close(); }

  // Receives one request; remembers the link's routing id for replies.
  std::string Receive() {
    zmq::message_t id, delim, body;
    REQUIRE(socket_.recv(id));
    REQUIRE(socket_.recv(delim));
    CHECK(delim.size() == 0);
    REQUIRE(socket_.recv(body));
    CHECK_FALSE(body.more());
    peer_ = ToString(id);
    return ToString(body);
  }

  void Reply(const std::string& body) {
    REQUIRE(socket_.send(zmq::buffer(peer_), zmq::send_flags::sndmore));
    REQUIRE(socket_.send(zmq::str_buffer(""), zmq::send_flags::sndmore));
    REQUIRE(socket_.send(zmq::buffer(body), zmq::send_flags::none));
  }

 private:
  zmq::socket_t socket_;
  std::string endpoint_;
  std::string peer_;
  bool bound_ = false;
};

std::unique_ptr<BridgeLink> ConnectLink(IoContext& io, const std::string& endpoint,
                                        int64_t late_reply_window_ms = 600000) {
  BridgeLinkOptions opts;
  opts.endpoint = endpoint;
  opts.late_reply_window_ms = late_reply_window_ms;
  auto link = BridgeLink::Connect(io, opts);
  REQUIRE(link.ok());
  return std::move(link).value();
}

// One bounded wait step: block until the link has a reply or a connection event, then Poll.
void Step(BridgeLink& link, int64_t now_ns, std::vector<BridgeEvent>* events) {
  PollEntry entries[] = {{link.poll_handle()}, {link.monitor_handle()}};
  (void)PollReadable(absl::MakeSpan(entries), 20);
  link.Poll(now_ns, events);
}

bool WaitUp(BridgeLink& link, bool up) {
  std::vector<BridgeEvent> ignored;
  return WaitFor([&] { return link.IsUp() == up; }, [&] { Step(link, 0, &ignored); });
}

std::vector<BridgeEvent> WaitEvents(BridgeLink& link, int64_t now_ns, size_t n) {
  std::vector<BridgeEvent> events;
  WaitFor([&] { return events.size() >= n; }, [&] { Step(link, now_ns, &events); });
  return events;
}

bool WaitUnmatched(BridgeLink& link, uint64_t n, std::vector<BridgeEvent>* events) {
  return WaitFor([&] { return link.stats().unmatched_replies >= n; },
                 [&] { Step(link, 0, events); });
}

// A loopback port nobody listens on. A plain socket, closed synchronously: a ZeroMQ probe's
// listener outlives zmq_close() for a moment and would accept the link's first connection.
std::string FreeEndpoint() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
  socklen_t len = sizeof(addr);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return "tcp://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
}

TEST_CASE("Pipelined replies are correlated by uuid even when they arrive out of order",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  FakeBridge bridge(*io, "tcp://127.0.0.1:*");
  auto link = ConnectLink(*io, bridge.endpoint());
  REQUIRE(WaitUp(*link, true));

  REQUIRE(link->Send(1, "a", R"({"action":"OPEN","uuid":"a"})", kFar).ok());
  REQUIRE(link->Send(2, "b", R"({"action":"OPEN","uuid":"b"})", kFar).ok());
  REQUIRE(link->Send(3, "c", R"({"action":"OPEN","uuid":"c"})", kFar).ok());
  CHECK(link->outstanding() == 3);
  CHECK(bridge.Receive() == R"({"action":"OPEN","uuid":"a"})");
  CHECK(bridge.Receive() == R"({"action":"OPEN","uuid":"b"})");
  CHECK(bridge.Receive() == R"({"action":"OPEN","uuid":"c"})");

  bridge.Reply(R"({"status":"FILLED","uuid":"c","ticket":3})");
  bridge.Reply(R"({"uuid":"a","status":"FILLED","ticket":1})");
  bridge.Reply(R"({"nested":{"uuid":"c"},"uuid":"b","ticket":2})");
  auto events = WaitEvents(*link, 0, 3);
  REQUIRE(events.size() == 3);
  CHECK(events[0].kind == BridgeEventKind::kReply);
  CHECK(events[0].token == 3);
  CHECK(events[0].body == R"({"status":"FILLED","uuid":"c","ticket":3})");
  CHECK(events[1].token == 1);
  CHECK(events[2].token == 2);
  CHECK(events[2].kind == BridgeEventKind::kReply);
  CHECK(link->outstanding() == 0);
  CHECK(link->stats().sent == 3);
  CHECK(link->stats().replies == 3);
  CHECK(link->stats().unmatched_replies == 0);
}

TEST_CASE(
    "A timed-out request still counts as unanswered until its late reply, its window's end or a "
    "dropped connection, and every reply reports its send time",
    "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  FakeBridge bridge(*io, "tcp://127.0.0.1:*");
  auto link = ConnectLink(*io, bridge.endpoint());
  REQUIRE(WaitUp(*link, true));

  REQUIRE(link->Send(1, "a", R"({"uuid":"a"})", 1000).ok());
  REQUIRE(link->Send(2, "b", R"({"uuid":"b"})", kFar).ok());
  REQUIRE(link->Send(3, "c", R"({"uuid":"c"})", kFar).ok());
  CHECK(link->unanswered() == 3);
  std::vector<BridgeEvent> events;
  link->Poll(2000, &events);  // a's deadline: reported, but the bridge still holds it
  REQUIRE(events.size() == 1);
  CHECK(events[0].kind == BridgeEventKind::kTimedOut);
  CHECK(link->outstanding() == 2);
  CHECK(link->unanswered() == 3);
  for (int i = 0; i < 3; ++i) bridge.Receive();
  bridge.Reply(R"({"uuid":"a","status":"FILLED","ticket":1})");
  bridge.Reply(R"({"uuid":"b","status":"FILLED","ticket":2})");
  events = WaitEvents(*link, 2000, 2);
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == BridgeEventKind::kLateReply);
  CHECK(events[0].sent_ns > 0);
  CHECK(events[1].sent_ns >= events[0].sent_ns);
  CHECK(link->unanswered() == 1);
  bridge.Close();
  REQUIRE(WaitUp(*link, false));
  CHECK(link->unanswered() == 0);
}

TEST_CASE("Replies without a uuid are correlated by arrival order among requests sent without one",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  FakeBridge bridge(*io, "tcp://127.0.0.1:*");
  auto link = ConnectLink(*io, bridge.endpoint());
  REQUIRE(WaitUp(*link, true));

  REQUIRE(link->Send(10, "", R"({"action":"GET_ACCOUNT"})", kFar).ok());
  REQUIRE(link->Send(20, "u", R"({"action":"OPEN","uuid":"u"})", kFar).ok());
  REQUIRE(link->Send(11, "", R"({"action":"GET_POSITIONS"})", kFar).ok());
  for (int i = 0; i < 3; ++i) bridge.Receive();

  bridge.Reply(R"({"status":"ok","n":1})");
  bridge.Reply(R"({"uuid":null,"n":2})");
  bridge.Reply(R"({"uuid":"u"})");
  auto events = WaitEvents(*link, 0, 3);
  REQUIRE(events.size() == 3);
  CHECK(events[0].token == 10);
  CHECK(events[0].body == R"({"status":"ok","n":1})");
  CHECK(events[1].token == 11);
  CHECK(events[2].token == 20);
  CHECK(link->stats().unmatched_replies == 0);
}

TEST_CASE("A reply whose uuid matches no request is counted and never given to another order",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  FakeBridge bridge(*io, "tcp://127.0.0.1:*");
  auto link = ConnectLink(*io, bridge.endpoint());
  REQUIRE(WaitUp(*link, true));

  REQUIRE(link->Send(1, "a", R"({"uuid":"a"})", kFar).ok());
  bridge.Receive();
  bridge.Reply(R"({"uuid":"zzz","status":"FILLED"})");
  bridge.Reply(R"({"status":"error","error_code":"INVALID_JSON"})");  // no uuid-less request sent
  bridge.Reply("not json");
  std::vector<BridgeEvent> events;
  REQUIRE(WaitUnmatched(*link, 3, &events));
  CHECK(events.empty());
  CHECK(link->outstanding() == 1);

  bridge.Reply(R"({"uuid":"a","status":"FILLED"})");
  events = WaitEvents(*link, 0, 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].token == 1);
  CHECK(events[0].kind == BridgeEventKind::kReply);
  CHECK(link->stats().unmatched_replies == 3);
}

TEST_CASE("A request past its deadline is reported timed out once, then its late reply as late",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  FakeBridge bridge(*io, "tcp://127.0.0.1:*");

  SECTION("within the late-reply window") {
    auto link = ConnectLink(*io, bridge.endpoint());
    REQUIRE(WaitUp(*link, true));
    REQUIRE(link->Send(7, "late", R"({"uuid":"late"})", 1000).ok());
    bridge.Receive();
    CHECK(link->NextDeadlineNs() == 1000);

    std::vector<BridgeEvent> events;
    link->Poll(999, &events);
    CHECK(events.empty());
    CHECK(link->outstanding() == 1);
    link->Poll(1000, &events);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == BridgeEventKind::kTimedOut);
    CHECK(events[0].token == 7);
    CHECK(events[0].body.empty());
    CHECK(link->outstanding() == 0);
    CHECK(link->NextDeadlineNs() == std::numeric_limits<int64_t>::max());
    events.clear();
    link->Poll(5000, &events);
    CHECK(events.empty());

    bridge.Reply(R"({"uuid":"late","status":"FILLED","ticket":9})");
    events = WaitEvents(*link, 6000, 1);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == BridgeEventKind::kLateReply);
    CHECK(events[0].token == 7);
    CHECK(events[0].body == R"({"uuid":"late","status":"FILLED","ticket":9})");
    CHECK(link->stats().timeouts == 1);
    CHECK(link->stats().late_replies == 1);
    CHECK(link->stats().replies == 0);
  }

  SECTION("a reply already queued when the deadline is checked still counts as on time") {
    auto link = ConnectLink(*io, bridge.endpoint());
    REQUIRE(WaitUp(*link, true));
    REQUIRE(link->Send(9, "q", R"({"uuid":"q"})", 1000).ok());
    bridge.Receive();
    bridge.Reply(R"({"uuid":"q"})");
    PollEntry entry{link->poll_handle()};
    REQUIRE(testing::WaitFor([&] { return entry.readable; },
                             [&] { (void)PollReadable(absl::MakeSpan(&entry, 1), 20); }));
    std::vector<BridgeEvent> events;
    link->Poll(5000, &events);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == BridgeEventKind::kReply);
    CHECK(events[0].token == 9);
    CHECK(link->stats().timeouts == 0);
  }

  SECTION("after the late-reply window the entry is gone and its reply is unmatched") {
    auto link = ConnectLink(*io, bridge.endpoint(), /*late_reply_window_ms=*/1);
    REQUIRE(WaitUp(*link, true));
    REQUIRE(link->Send(8, "x", R"({"uuid":"x"})", 1000).ok());
    bridge.Receive();
    std::vector<BridgeEvent> events;
    link->Poll(1000, &events);
    REQUIRE(events.size() == 1);
    CHECK(events[0].kind == BridgeEventKind::kTimedOut);
    events.clear();
    link->Poll(1000 + 1'000'000, &events);  // deadline + window: removed silently
    CHECK(events.empty());

    bridge.Reply(R"({"uuid":"x"})");
    REQUIRE(WaitUnmatched(*link, 1, &events));
    CHECK(events.empty());
  }
}

TEST_CASE("IsUp is false until a bridge exists, true once it binds and false again after it closes",
          "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  const std::string endpoint = FreeEndpoint();
  auto link = ConnectLink(*io, endpoint);

  std::vector<BridgeEvent> events;
  Step(*link, 0, &events);
  CHECK_FALSE(link->IsUp());
  // ZMQ_IMMEDIATE: nothing is queued for a bridge that is not there.
  const absl::Status refused = link->Send(1, "a", "{}", kFar);
  CHECK(refused.code() == absl::StatusCode::kUnavailable);
  CHECK(link->outstanding() == 0);
  CHECK(link->stats().sent == 0);

  {
    FakeBridge bridge(*io, endpoint);
    REQUIRE(WaitUp(*link, true));
    REQUIRE(link->Send(2, "b", R"({"uuid":"b"})", kFar).ok());
    CHECK(bridge.Receive() == R"({"uuid":"b"})");
    bridge.Close();
    REQUIRE(WaitUp(*link, false));
  }
  CHECK(link->stats().disconnects >= 1);
  CHECK(link->Send(3, "c", "{}", kFar).code() == absl::StatusCode::kUnavailable);
}

TEST_CASE(
    "After a disconnect, orphaned requests time out and replies on the new connection skip them",
    "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  const std::string endpoint = FreeEndpoint();
  auto link = ConnectLink(*io, endpoint);
  std::vector<BridgeEvent> events;

  {
    FakeBridge first(*io, endpoint);
    REQUIRE(WaitUp(*link, true));
    REQUIRE(link->Send(1, "o1", R"({"uuid":"o1"})", 1000).ok());
    REQUIRE(link->Send(2, "", R"({"action":"GET_ACCOUNT"})", 1000).ok());
    first.Receive();
    first.Receive();
    first.Close();
    REQUIRE(WaitUp(*link, false));
  }
  CHECK(link->outstanding() == 2);  // orphaned, but they still owe a timeout

  FakeBridge second(*io, endpoint);
  REQUIRE(WaitUp(*link, true));
  REQUIRE(link->Send(3, "o1", R"({"uuid":"o1","again":true})", 1000).ok());
  CHECK(second.Receive() == R"({"uuid":"o1","again":true})");

  second.Reply(R"({"uuid":"o1","n":1})");
  events = WaitEvents(*link, 0, 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].token == 3);  // not token 1, though it is older
  CHECK(events[0].kind == BridgeEventKind::kReply);

  second.Reply(R"({"uuid":"o1","n":2})");
  second.Reply(R"({"status":"ok"})");
  events.clear();
  REQUIRE(WaitUnmatched(*link, 2, &events));
  CHECK(events.empty());

  link->Poll(1000, &events);
  REQUIRE(events.size() == 2);
  CHECK(events[0].kind == BridgeEventKind::kTimedOut);
  CHECK(events[1].kind == BridgeEventKind::kTimedOut);
  CHECK(((events[0].token == 1 && events[1].token == 2) ||
         (events[0].token == 2 && events[1].token == 1)));
  CHECK(link->outstanding() == 0);
  CHECK(link->NextDeadlineNs() == std::numeric_limits<int64_t>::max());

  // Removed right after the timeout: no lingering for a late reply that cannot come.
  events.clear();
  second.Reply(R"({"uuid":"o1","n":3})");
  REQUIRE(WaitUnmatched(*link, 3, &events));
  CHECK(events.empty());
  CHECK(link->stats().late_replies == 0);
}

TEST_CASE("Forget stops correlating a request and suppresses its timeout", "[transport]") {
  auto io = MakeIo();
  REQUIRE(io);
  FakeBridge bridge(*io, "tcp://127.0.0.1:*");
  auto link = ConnectLink(*io, bridge.endpoint());
  REQUIRE(WaitUp(*link, true));

  REQUIRE(link->Send(1, "f", R"({"uuid":"f","n":1})", 1000).ok());
  REQUIRE(link->Send(2, "f", R"({"uuid":"f","n":2})", 2000).ok());
  bridge.Receive();
  bridge.Receive();
  link->Forget(1);
  CHECK(link->outstanding() == 1);
  CHECK(link->NextDeadlineNs() == 2000);

  bridge.Reply(R"({"uuid":"f","r":1})");
  auto events = WaitEvents(*link, 0, 1);
  REQUIRE(events.size() == 1);
  CHECK(events[0].token == 2);

  bridge.Reply(R"({"uuid":"f","r":2})");
  events.clear();
  REQUIRE(WaitUnmatched(*link, 1, &events));
  CHECK(events.empty());

  link->Poll(5000, &events);
  CHECK(events.empty());
  CHECK(link->stats().timeouts == 0);
  CHECK(link->outstanding() == 0);
  link->Forget(99);  // unknown token: nothing happens
}

}  // namespace
}  // namespace ordergate::transport
