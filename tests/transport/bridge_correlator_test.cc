// BridgeCorrelator (transport/bridge_correlator.h): which request a bridge reply answers, and the
// requests' deadlines, without a socket. The ZeroMQ half is covered by bridge_link_test.cc.
#include "transport/bridge_correlator.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using ordergate::transport::BridgeCorrelator;
using ordergate::transport::BridgeEvent;
using ordergate::transport::BridgeEventKind;

namespace {

constexpr int64_t kMs = 1000000;

std::string Reply(const std::string& uuid, const std::string& status = "FILLED") {
  return "{\"uuid\":\"" + uuid + "\",\"status\":\"" + status + "\"}";
}

}  // namespace

TEST_CASE("a reply goes to the oldest request with its uuid, the next one to the next",
          "[bridge_correlator]") {
  BridgeCorrelator c(600000 * kMs);
  c.OnSent(1, "u-1", 100 * kMs, 1);
  c.OnSent(2, "u-1", 100 * kMs, 2);
  c.OnSent(3, "u-2", 100 * kMs, 3);
  std::vector<BridgeEvent> ev;
  c.OnReply(Reply("u-1"), &ev);
  c.OnReply(Reply("u-2"), &ev);
  c.OnReply(Reply("u-1"), &ev);
  REQUIRE(ev.size() == 3);
  CHECK(ev[0].token == 1);
  CHECK(ev[0].sent_ns == 1);
  CHECK(ev[0].kind == BridgeEventKind::kReply);
  CHECK(ev[1].token == 3);
  CHECK(ev[2].token == 2);
  CHECK(c.outstanding() == 0);
  CHECK(c.unanswered() == 0);
  CHECK(c.stats().sent == 3);
  CHECK(c.stats().replies == 3);
}

TEST_CASE("replies without a uuid are matched in send order among requests sent without one",
          "[bridge_correlator]") {
  BridgeCorrelator c(0);
  c.OnSent(1, "", 100 * kMs, 0);
  c.OnSent(2, "u-1", 100 * kMs, 0);
  c.OnSent(3, "", 100 * kMs, 0);
  std::vector<BridgeEvent> ev;
  c.OnReply("{\"status\":\"ok\"}", &ev);
  c.OnReply("{\"uuid\":null,\"status\":\"ok\"}", &ev);
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].token == 1);
  CHECK(ev[1].token == 3);
  CHECK(c.outstanding() == 1);
}

TEST_CASE("a reply that is not an object, has a non-string uuid or matches nothing is dropped",
          "[bridge_correlator]") {
  BridgeCorrelator c(0);
  c.OnSent(1, "u-1", 100 * kMs, 0);
  std::vector<BridgeEvent> ev;
  c.OnReply("not json", &ev);
  c.OnReply("[1,2]", &ev);
  c.OnReply("{\"uuid\":7}", &ev);
  c.OnReply(Reply("u-9"), &ev);
  c.OnUnreadableReply();
  CHECK(ev.empty());
  CHECK(c.stats().unmatched_replies == 5);
  CHECK(c.IsCorrelated(1));
}

TEST_CASE("a request times out once at its deadline and its late reply is still delivered",
          "[bridge_correlator]") {
  BridgeCorrelator c(1000 * kMs);
  c.OnSent(1, "u-1", 100 * kMs, 0);
  CHECK(c.NextDeadlineNs() == 100 * kMs);
  std::vector<BridgeEvent> ev;
  c.FireDeadlines(99 * kMs, &ev);
  CHECK(ev.empty());
  c.FireDeadlines(100 * kMs, &ev);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].kind == BridgeEventKind::kTimedOut);
  c.FireDeadlines(200 * kMs, &ev);
  CHECK(ev.size() == 1);  // reported once
  CHECK(c.outstanding() == 0);
  CHECK(c.unanswered() == 1);  // still queued at a REP bridge
  CHECK(c.IsCorrelated(1));
  c.OnReply(Reply("u-1"), &ev);
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].kind == BridgeEventKind::kLateReply);
  CHECK(ev[1].token == 1);
  CHECK_FALSE(c.IsCorrelated(1));
  CHECK(c.unanswered() == 0);
}

TEST_CASE("a timed-out request stops lingering when its late-reply window ends",
          "[bridge_correlator]") {
  BridgeCorrelator c(50 * kMs);
  c.OnSent(1, "u-1", 100 * kMs, 0);
  std::vector<BridgeEvent> ev;
  c.FireDeadlines(100 * kMs, &ev);
  c.FireDeadlines(149 * kMs, &ev);
  CHECK(c.IsCorrelated(1));
  c.FireDeadlines(150 * kMs, &ev);
  CHECK_FALSE(c.IsCorrelated(1));
  c.OnReply(Reply("u-1"), &ev);
  CHECK(ev.size() == 1);
  CHECK(c.stats().unmatched_replies == 1);
}

TEST_CASE(
    "after a disconnect no reply matches a request of the old connection, which still "
    "times out",
    "[bridge_correlator]") {
  BridgeCorrelator c(1000 * kMs);
  c.OnSent(1, "u-1", 100 * kMs, 0);
  c.OnSent(2, "u-2", 50 * kMs, 0);
  std::vector<BridgeEvent> ev;
  c.FireDeadlines(50 * kMs, &ev);  // u-2 lingers
  c.OnDisconnected();
  CHECK(c.stats().disconnects == 1);
  CHECK(c.unanswered() == 0);
  CHECK_FALSE(c.IsCorrelated(1));
  CHECK_FALSE(c.IsCorrelated(2));
  c.OnSent(3, "u-1", 200 * kMs, 0);  // the same uuid again, on the new connection
  c.OnReply(Reply("u-1"), &ev);
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].token == 3);  // never the orphaned request 1
  c.FireDeadlines(100 * kMs, &ev);
  REQUIRE(ev.size() == 3);
  CHECK(ev[2].token == 1);
  CHECK(ev[2].kind == BridgeEventKind::kTimedOut);
}

TEST_CASE("a forgotten request is never reported again and its reply goes to a newer one",
          "[bridge_correlator]") {
  BridgeCorrelator c(1000 * kMs);
  c.OnSent(1, "u-1", 100 * kMs, 0);
  c.OnSent(2, "u-1", 300 * kMs, 0);
  c.Forget(1);
  CHECK(c.NextDeadlineNs() == 300 * kMs);
  std::vector<BridgeEvent> ev;
  c.FireDeadlines(200 * kMs, &ev);
  CHECK(ev.empty());
  c.OnReply(Reply("u-1"), &ev);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].token == 2);
  CHECK(c.NextDeadlineNs() == INT64_MAX);
}
