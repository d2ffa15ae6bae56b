// The checker of a simulated run: the nemesis's invariants (tests/reliability/nemesis_test.cc,
// docs/RELIABILITY.md) over what the simulation recorded, i.e. every reply any client received,
// the bridge's execution journal, the store's final records and the answers to a final resend.
//
//   1. at most once: no uuid executed twice at the bridge; what ran is the order sent (volume);
//   2. no acknowledgement lost: a uuid some client saw FILLED / REJECTED (recorded) ends with the
//      same outcome and ticket in the store, replays it (duplicate) to a final resend, and never
//      answered anything else after it was acknowledged;
//   3. every order with a record resolves once the faults stop: FILLED iff executed, with the
//      journal's ticket; a uuid with no record never executed and was never acknowledged nor seen
//      UNKNOWN;
//   4. an order that only ever got refusals that record nothing never executed;
//   6. every reply has a status of the protocol: FILLED (ticket > 0), REJECTED, UNKNOWN, PENDING
//      (on the wire only: an in-process caller never sees it) or error (STORE_UNAVAILABLE, and
//      NOT_FOUND to ORDER_STATUS), and a FILLED names the journal's ticket; a conflicting body
//      gets IDEMPOTENCY_CONFLICT or a refusal that records nothing;
//   7. the gateway is not stuck: fresh orders after the faults stopped all fill.
// (5, the processes' exits, has no counterpart: the simulation has no processes.)
#ifndef ORDERGATE_TESTS_SIMULATION_HISTORY_CHECK_H_
#define ORDERGATE_TESTS_SIMULATION_HISTORY_CHECK_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "sim_bridge.h"

namespace ordergate::sim {

struct SeenReply {
  char kind = 'o';  // 'o' the order's own body, 'c' a conflicting body, 'q' ORDER_STATUS,
                    // 'r' the final resend
  std::string status, code;
  int64_t ticket = 0;
  bool duplicate = false;
  bool recorded = false;  // the outcome is in the store (the sink's flag; on the wire: not a
                          // refusal, PENDING, a conflict or NOT_FOUND)
  bool wire = false;      // through the front end (else the in-process door)
  int64_t at_us = 0;
  std::string raw;
};

struct OrderHistory {
  double volume = 0;
  bool liveness = false;  // sent after the faults stopped: must fill
  std::vector<SeenReply> replies;
  int submissions = 0;  // of its own body
  int unanswered = 0;   // submissions whose reply was lost with a crashed gateway
};

struct FinalRecord {
  std::string state;  // FILLED, REJECTED, UNKNOWN, RESERVED, ABSENT
  int64_t ticket = 0;
  std::string code;
};

struct CheckCounts {
  uint64_t orders = 0, executed = 0, duplicates = 0, acknowledged = 0, unknown_seen = 0,
           unknown_resolved = 0, filled = 0, rejected = 0, absent = 0, refused_only = 0,
           conflicts = 0, liveness = 0;
};

std::vector<std::string> CheckHistory(const std::map<std::string, OrderHistory>& orders,
                                      const std::map<std::string, std::vector<Execution>>& journal,
                                      const std::map<std::string, FinalRecord>& finals,
                                      CheckCounts* counts);

}  // namespace ordergate::sim

#endif  // ORDERGATE_TESTS_SIMULATION_HISTORY_CHECK_H_
