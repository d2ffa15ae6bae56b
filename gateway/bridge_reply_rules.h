// Bridge reply rules: what one decoded bridge reply means for the order it answers, as a plain
// function of the reply, of what the pipeline had asked (the order itself, an ORDER_STATUS
// question, or either when both are out on one connection and the reply cannot say which) and of
// the order's signing and asking times. No socket, clock, store or log is touched here, so every
// rule is a row of a table test (tests/gateway/bridge_reply_rules_test.cc) and the pipeline
// (Gateway::Loop::HandleOrderReply) only carries the verdict out.
//
//   const BridgeReply r = DecodeBridgeReply(body);
//   switch (JudgeBridgeReply(r, {.bridge_uuid = o->bridge_uuid, .kind = ReplyKind::kOrder, ...})) {
//     case ReplyVerdict::kFilled: /* record FILLED with `body` */ break;
//     ...
//   }
//
// The rules, in order:
//  1. not a JSON object: kUnparseable (an anomaly; the outcome stays unknown);
//  2. a uuid that is not the order's bridge uuid: kWrongUuid (an anomaly; nothing learned);
//  3. FILLED with a ticket: kFilled; FILLED without one: kFilledNoTicket (MT5 placed nothing,
//     recorded REJECTED BRIDGE_NO_TICKET); REJECTED: kRejected — whatever was asked, because only
//     an order produces them;
//  4. "error" to a question, or to either:
//     a. UNKNOWN_ACTION: kQueriesUnsupported (the bridge does not implement ORDER_STATUS; no OPEN
//        or CLOSE is ever answered so, it is the question that was not understood);
//     b. NOT_FOUND to a question known to be one, asked after the order's signature expired at
//        the bridge (signed + TTL + execution margin): kNotExecuted (proof that no copy of the
//        order can still execute; recorded REJECTED BRIDGE_NOT_EXECUTED);
//     c. anything else: kNothing (asked again later);
//  5. "error" to the order: INVALID_JSON, MISSING_ACTION, UNKNOWN_ACTION are refusals before MT5
//     was touched: kRejected; any other code may have come after execution: kUnsettlingError (an
//     anomaly; the order becomes UNKNOWN at its deadline);
//  6. "ok", "PENDING", no status, a FILLED whose ticket is unreadable: settles nothing — kNothing
//     for a question, kSettlesNothing (an anomaly) for the order or either.
// Thread-safety: a pure function.
#ifndef ORDERGATE_GATEWAY_BRIDGE_REPLY_RULES_H_
#define ORDERGATE_GATEWAY_BRIDGE_REPLY_RULES_H_

#include <cstdint>

#include "absl/strings/string_view.h"
#include "transport/codec.h"

namespace ordergate::gateway {

// What the reply may be the answer to.
enum class ReplyKind : uint8_t {
  kOrder,   // the order's own request
  kQuery,   // an ORDER_STATUS question about it
  kEither,  // both were out on the connection: the reply could be either's
};

enum class ReplyVerdict : uint8_t {
  kFilled,              // record FILLED with the bridge's reply
  kRejected,            // record REJECTED with the bridge's reply
  kFilledNoTicket,      // record REJECTED with ordergate's BRIDGE_NO_TICKET reply
  kNotExecuted,         // record REJECTED with ordergate's BRIDGE_NOT_EXECUTED reply
  kQueriesUnsupported,  // stop asking ORDER_STATUS: the bridge does not implement it
  kNothing,             // learned nothing; nothing unusual (a question asked again later)
  // Anomalies (counted in bridge_anomalies, logged): nothing learned, the outcome stays unknown.
  kUnparseable,
  kWrongUuid,
  kUnsettlingError,
  kSettlesNothing,
};

struct ReplyContext {
  absl::string_view bridge_uuid;  // the uuid ordergate sent the order under
  ReplyKind kind = ReplyKind::kOrder;
  int64_t signed_unix_us = 0;      // when the order's risk signature was made (its send)
  int64_t query_sent_unix_us = 0;  // when the latest ORDER_STATUS question was sent
  int64_t signature_ttl_ms = 0;    // bridge_signature_ttl_ms
  int64_t exec_margin_ms = 0;      // bridge_exec_margin_ms
};

// Whether the verdict settles the order (an outcome to record).
inline bool Settles(ReplyVerdict v) {
  return v == ReplyVerdict::kFilled || v == ReplyVerdict::kRejected ||
         v == ReplyVerdict::kFilledNoTicket || v == ReplyVerdict::kNotExecuted;
}

// Whether the verdict is an anomaly (counted and logged by the pipeline).
inline bool IsAnomaly(ReplyVerdict v) {
  return v == ReplyVerdict::kUnparseable || v == ReplyVerdict::kWrongUuid ||
         v == ReplyVerdict::kUnsettlingError || v == ReplyVerdict::kSettlesNothing;
}

inline ReplyVerdict JudgeBridgeReply(const BridgeReply& r, const ReplyContext& c) {
  if (!r.parsed) return ReplyVerdict::kUnparseable;
  if (r.has_uuid && r.uuid.view() != c.bridge_uuid) return ReplyVerdict::kWrongUuid;
  switch (r.status) {
    case BridgeStatus::kFilled:
      return ReplyVerdict::kFilled;
    case BridgeStatus::kNoTicket:
      return ReplyVerdict::kFilledNoTicket;
    case BridgeStatus::kRejected:
      return ReplyVerdict::kRejected;
    case BridgeStatus::kError: {
      const absl::string_view code = r.error_code.view();
      if (c.kind != ReplyKind::kOrder) {
        if (code == "UNKNOWN_ACTION") return ReplyVerdict::kQueriesUnsupported;
        // "Never seen" is proof only once no copy of the order can still pass the bridge's TTL.
        const int64_t expired_after_us =
            c.signed_unix_us + (c.signature_ttl_ms + c.exec_margin_ms) * 1000;
        if (c.kind == ReplyKind::kQuery && code == "NOT_FOUND" &&
            c.query_sent_unix_us > expired_after_us) {
          return ReplyVerdict::kNotExecuted;
        }
        return ReplyVerdict::kNothing;
      }
      // The bridge refused the request before touching MT5 only for these envelope errors; any
      // other "error" (SERVER_ERROR, ...) may have happened after execution: stay unknown.
      if (code == "INVALID_JSON" || code == "MISSING_ACTION" || code == "UNKNOWN_ACTION") {
        return ReplyVerdict::kRejected;
      }
      return ReplyVerdict::kUnsettlingError;
    }
    case BridgeStatus::kOk:
    case BridgeStatus::kOther:
      // The reply consumed the request, so none will follow: the order becomes UNKNOWN at its
      // bridge deadline, or stays UNKNOWN and is asked again.
      return c.kind == ReplyKind::kQuery ? ReplyVerdict::kNothing : ReplyVerdict::kSettlesNothing;
  }
  return ReplyVerdict::kSettlesNothing;
}

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_BRIDGE_REPLY_RULES_H_
