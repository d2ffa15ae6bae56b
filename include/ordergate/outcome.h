// Outcome: the final answer for one submission of an Order (gateway.h), the embedded form of the
// wire reply (docs/protocol.md, section 2). The embedded gateway never answers PENDING: a caller
// gets its Outcome when the order is FILLED, REJECTED or UNKNOWN.
//
//   gw->Submit(order, [](const ordergate::Outcome& out) {
//     switch (out.status) {
//       case ordergate::OutcomeStatus::kFilled:   /* out.ticket, out.price */ break;
//       case ordergate::OutcomeStatus::kRejected: /* out.error_code; out.recorded says whether the
//                                                    uuid is spent */ break;
//       case ordergate::OutcomeStatus::kUnknown:  /* may have executed: never resubmit as a new
//                                                    uuid; GatewayOptions::on_resolved tells */
//         break;
//       case ordergate::OutcomeStatus::kInFlight: break;  // only from Gateway::Status()
//     }
//   });
#ifndef ORDERGATE_OUTCOME_H_
#define ORDERGATE_OUTCOME_H_

#include <cstdint>
#include <string>

namespace ordergate {

enum class OutcomeStatus : uint8_t {
  // The bridge executed the order: ticket and price are set. Recorded: every later submission of
  // the uuid gets this same outcome with duplicate = true.
  kFilled = 0,
  // Refused. recorded = true: by the bridge (e.g. "MT5_ORDER_FAILED", "RISK_SIGNATURE_INVALID",
  // "BRIDGE_NO_TICKET"); the uuid is spent, a new attempt needs a new uuid. recorded = false: by
  // ordergate before anything was sent ("INVALID_VOLUME" and the other field checks,
  // "IDEMPOTENCY_CONFLICT", "GATEWAY_BUSY", "BRIDGE_DOWN", "STORE_UNAVAILABLE"); the same uuid may
  // be submitted again once the cause is fixed.
  kRejected = 1,
  // The bridge did not answer within bridge_timeout_ms (error_code "BRIDGE_TIMEOUT"), or the
  // gateway closed while the order was at the bridge ("GATEWAY_STOPPED"): the order may have
  // executed. Never submit it again under a new uuid; its resolution arrives through
  // GatewayOptions::on_resolved (this process or a later one on the same data directory) and
  // through Gateway::Status(). A resubmission of the uuid answers UNKNOWN again, sending nothing.
  kUnknown = 2,
  // Only from Gateway::Status() and Client::Status() (client.h): reserved and at the bridge now;
  // the outcome is on its way.
  kInFlight = 3,
};

struct Outcome {
  std::string uuid;
  OutcomeStatus status = OutcomeStatus::kRejected;
  int64_t ticket = 0;      // kFilled: the MT5 position/deal ticket (> 0)
  double price = 0;        // kFilled: execution price (OPEN's price, CLOSE's close_price), or 0
  double volume = 0;       // kFilled OPEN: the executed volume, as the bridge reported it
  std::string error_code;  // kRejected / kUnknown: as on the wire, e.g. "GATEWAY_BUSY"
  std::string message;     // kRejected / kUnknown: the bridge's or ordergate's error_msg
  bool recorded = false;   // the outcome is durable in the store (see kRejected)
  bool duplicate = false;  // the outcome of an earlier submission of the same uuid
  int64_t gateway_us = 0;  // microseconds from Submit() to the outcome, inside the gateway
  std::string reply_json;  // the reply object exactly as ordergated would send it on the wire
};

// "FILLED", "REJECTED", "UNKNOWN", "IN_FLIGHT".
const char* OutcomeStatusName(OutcomeStatus s);

}  // namespace ordergate

#endif  // ORDERGATE_OUTCOME_H_
