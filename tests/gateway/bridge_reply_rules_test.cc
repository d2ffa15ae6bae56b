// Every rule of the bridge reply rules (gateway/bridge_reply_rules.h), each a row: a reply body as
// the bridge sends it (decoded by the wire's own decoder), what it may answer, and the verdict.
#include "gateway/bridge_reply_rules.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "transport/codec.h"

namespace {

using ordergate::DecodeBridgeReply;
using ordergate::gateway::IsAnomaly;
using ordergate::gateway::JudgeBridgeReply;
using ordergate::gateway::ReplyContext;
using ordergate::gateway::ReplyKind;
using ordergate::gateway::ReplyVerdict;
using ordergate::gateway::Settles;

constexpr char kUuid[] = "strat-1-000000000042";
constexpr int64_t kSignedUs = 1'000'000'000;
constexpr int64_t kTtlMs = 5000;
constexpr int64_t kMarginMs = 1000;
// The first moment a "not found" proves the order never executed (signed + TTL + margin).
constexpr int64_t kExpiredUs = kSignedUs + (kTtlMs + kMarginMs) * 1000;

ReplyVerdict Judge(const std::string& body, ReplyKind kind, int64_t query_sent_unix_us = 0) {
  ReplyContext c;
  c.bridge_uuid = kUuid;
  c.kind = kind;
  c.signed_unix_us = kSignedUs;
  c.query_sent_unix_us = query_sent_unix_us;
  c.signature_ttl_ms = kTtlMs;
  c.exec_margin_ms = kMarginMs;
  return JudgeBridgeReply(DecodeBridgeReply(body), c);
}

std::string Error(const std::string& code) {
  return R"({"uuid":")" + std::string(kUuid) + R"(","status":"error","error_code":")" + code +
         R"(","message":"m"})";
}

const std::vector<ReplyKind> kEveryKind = {ReplyKind::kOrder, ReplyKind::kQuery,
                                           ReplyKind::kEither};

}  // namespace

TEST_CASE("a reply that is not a JSON object is an anomaly whatever was asked",
          "[bridge_reply_rules]") {
  for (ReplyKind kind : kEveryKind) {
    CHECK(Judge("not json", kind) == ReplyVerdict::kUnparseable);
    CHECK(Judge("[1,2]", kind) == ReplyVerdict::kUnparseable);
  }
  CHECK(IsAnomaly(ReplyVerdict::kUnparseable));
  CHECK_FALSE(Settles(ReplyVerdict::kUnparseable));
}

TEST_CASE("a reply naming another uuid is an anomaly and settles nothing, even FILLED",
          "[bridge_reply_rules]") {
  for (ReplyKind kind : kEveryKind) {
    CHECK(Judge(R"({"uuid":"strat-1-000000000043","status":"FILLED","ticket":7})", kind) ==
          ReplyVerdict::kWrongUuid);
  }
  CHECK(IsAnomaly(ReplyVerdict::kWrongUuid));
  CHECK_FALSE(Settles(ReplyVerdict::kWrongUuid));
}

TEST_CASE("FILLED with a ticket settles FILLED whatever was asked, with or without a uuid",
          "[bridge_reply_rules]") {
  for (ReplyKind kind : kEveryKind) {
    CHECK(Judge(R"({"uuid":"strat-1-000000000042","status":"FILLED","ticket":123})", kind) ==
          ReplyVerdict::kFilled);
    CHECK(Judge(R"({"status":"FILLED","ticket":"123"})", kind) == ReplyVerdict::kFilled);
  }
  CHECK(Settles(ReplyVerdict::kFilled));
}

TEST_CASE("FILLED without a ticket settles REJECTED BRIDGE_NO_TICKET: MT5 placed nothing",
          "[bridge_reply_rules]") {
  for (ReplyKind kind : kEveryKind) {
    CHECK(Judge(R"({"uuid":"strat-1-000000000042","status":"FILLED","ticket":0})", kind) ==
          ReplyVerdict::kFilledNoTicket);
    CHECK(Judge(R"({"uuid":"strat-1-000000000042","status":"FILLED"})", kind) ==
          ReplyVerdict::kFilledNoTicket);
  }
  CHECK(Settles(ReplyVerdict::kFilledNoTicket));
}

TEST_CASE("REJECTED settles REJECTED whatever was asked", "[bridge_reply_rules]") {
  for (ReplyKind kind : kEveryKind) {
    CHECK(Judge(R"({"uuid":"strat-1-000000000042","status":"REJECTED","error":"no money"})",
                kind) == ReplyVerdict::kRejected);
  }
  CHECK(Settles(ReplyVerdict::kRejected));
}

TEST_CASE(
    "UNKNOWN_ACTION to a question means the bridge has no ORDER_STATUS; to the order it is "
    "a refusal before MT5",
    "[bridge_reply_rules]") {
  CHECK(Judge(Error("UNKNOWN_ACTION"), ReplyKind::kQuery) == ReplyVerdict::kQueriesUnsupported);
  CHECK(Judge(Error("UNKNOWN_ACTION"), ReplyKind::kEither) == ReplyVerdict::kQueriesUnsupported);
  CHECK(Judge(Error("UNKNOWN_ACTION"), ReplyKind::kOrder) == ReplyVerdict::kRejected);
  CHECK_FALSE(IsAnomaly(ReplyVerdict::kQueriesUnsupported));
  CHECK_FALSE(Settles(ReplyVerdict::kQueriesUnsupported));
}

TEST_CASE(
    "NOT_FOUND proves an order never executed only to a question asked after its "
    "signature expired",
    "[bridge_reply_rules]") {
  CHECK(Judge(Error("NOT_FOUND"), ReplyKind::kQuery, kExpiredUs + 1) == ReplyVerdict::kNotExecuted);
  CHECK(Settles(ReplyVerdict::kNotExecuted));
  // At the expiry itself, or before it, a copy of the order could still pass the bridge's TTL.
  CHECK(Judge(Error("NOT_FOUND"), ReplyKind::kQuery, kExpiredUs) == ReplyVerdict::kNothing);
  CHECK(Judge(Error("NOT_FOUND"), ReplyKind::kQuery, kSignedUs + 1000) == ReplyVerdict::kNothing);
  // A reply that could be the order's own is no proof of anything.
  CHECK(Judge(Error("NOT_FOUND"), ReplyKind::kEither, kExpiredUs + 1) == ReplyVerdict::kNothing);
  // To the order itself, an unknown error code may have come after execution.
  CHECK(Judge(Error("NOT_FOUND"), ReplyKind::kOrder, kExpiredUs + 1) ==
        ReplyVerdict::kUnsettlingError);
}

TEST_CASE(
    "the envelope errors refuse an order before MT5 is touched; to a question they teach "
    "nothing",
    "[bridge_reply_rules]") {
  for (const char* code : {"INVALID_JSON", "MISSING_ACTION"}) {
    CHECK(Judge(Error(code), ReplyKind::kOrder) == ReplyVerdict::kRejected);
    CHECK(Judge(Error(code), ReplyKind::kQuery, kExpiredUs + 1) == ReplyVerdict::kNothing);
    CHECK(Judge(Error(code), ReplyKind::kEither, kExpiredUs + 1) == ReplyVerdict::kNothing);
  }
}

TEST_CASE(
    "any other error to the order may have come after execution: an anomaly, the outcome "
    "stays unknown",
    "[bridge_reply_rules]") {
  CHECK(Judge(Error("SERVER_ERROR"), ReplyKind::kOrder) == ReplyVerdict::kUnsettlingError);
  CHECK(Judge(R"({"uuid":"strat-1-000000000042","status":"error"})", ReplyKind::kOrder) ==
        ReplyVerdict::kUnsettlingError);
  CHECK(Judge(Error("SERVER_ERROR"), ReplyKind::kQuery) == ReplyVerdict::kNothing);
  CHECK(IsAnomaly(ReplyVerdict::kUnsettlingError));
  CHECK_FALSE(Settles(ReplyVerdict::kUnsettlingError));
}

TEST_CASE(
    "ok, PENDING, no status or an unreadable ticket settle nothing: an anomaly for the "
    "order, nothing for a question",
    "[bridge_reply_rules]") {
  const std::vector<std::string> bodies = {
      R"({"uuid":"strat-1-000000000042","status":"ok"})",
      R"({"uuid":"strat-1-000000000042","status":"PENDING"})",
      R"({"uuid":"strat-1-000000000042"})",
      R"({"uuid":"strat-1-000000000042","status":"FILLED","ticket":"12x"})",
  };
  for (const std::string& body : bodies) {
    INFO(body);
    CHECK(Judge(body, ReplyKind::kOrder) == ReplyVerdict::kSettlesNothing);
    CHECK(Judge(body, ReplyKind::kEither) == ReplyVerdict::kSettlesNothing);
    CHECK(Judge(body, ReplyKind::kQuery) == ReplyVerdict::kNothing);
  }
  CHECK(IsAnomaly(ReplyVerdict::kSettlesNothing));
  CHECK_FALSE(IsAnomaly(ReplyVerdict::kNothing));
  CHECK_FALSE(Settles(ReplyVerdict::kNothing));
}
