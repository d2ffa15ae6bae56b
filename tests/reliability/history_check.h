// The checker of a history of orders: the invariants every reliability run is judged by, the
// nemesis run's (nemesis_test.cc) and the deterministic simulation's (tests/simulation) alike, over
// what the run recorded: every reply any client received, the bridge's execution journal, each
// uuid's final record and the answers to a final resend.
//
//   1. at most once: no uuid executed twice at the bridge; what ran is the order sent (volume);
//   2. no acknowledgement lost: a uuid some client saw FILLED / REJECTED (recorded) ends with the
//      same outcome and ticket, replays it (duplicate) to a final resend, and never answered
//      anything else after it was acknowledged (but STORE_UNAVAILABLE, and what a run's
//      `ack_grace_us` allows for replies that crossed on other connections);
//   3. every order with a record resolves once the faults stop: FILLED iff executed, with the
//      journal's ticket; a uuid with no record never executed and was never acknowledged nor seen
//      UNKNOWN;
//   4. an order the run knows was only ever refused without a record never executed;
//   6. every reply has a status of the protocol: FILLED (ticket > 0), REJECTED, UNKNOWN, PENDING
//      (on the wire only: an in-process caller never sees it) or error (STORE_UNAVAILABLE, and
//      NOT_FOUND to ORDER_STATUS), and a FILLED names the journal's ticket; a conflicting body
//      gets IDEMPOTENCY_CONFLICT or STORE_UNAVAILABLE;
//   7. the gateway is not stuck: fresh orders after the faults stopped all fill.
// (5, the processes' exits, is the nemesis's own: the simulation has no processes.)
//
//   std::vector<std::string> v = CheckHistory(orders, journal, finals, {}, &counts);
#ifndef ORDERGATE_TESTS_RELIABILITY_HISTORY_CHECK_H_
#define ORDERGATE_TESTS_RELIABILITY_HISTORY_CHECK_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace ordergate::check {

struct SeenReply {
  char kind = 'o';  // 'o' the order's own body, 'c' a conflicting body, 'q' ORDER_STATUS,
                    // 'r' the final resend
  std::string status, code;
  int64_t ticket = 0;  // 0 when absent or not a positive JSON integer
  bool duplicate = false;
  bool recorded = false;  // the outcome is in the store (the in-process sink's flag; on the wire:
                          // RecordedOnTheWire)
  bool wire = false;      // through the front end (else the in-process door)
  int64_t at_us = 0;      // when the client got it (one clock per run)
  std::string raw;
};

// What a wire reply says of the store: a refusal of ordergate's (GATEWAY_BUSY, BRIDGE_DOWN,
// STORE_UNAVAILABLE), PENDING, a conflict and NOT_FOUND say nothing recorded; the rest is a record.
bool RecordedOnTheWire(const std::string& status, const std::string& code);

struct OrderHistory {
  double volume = 0;
  bool liveness = false;      // sent after the faults stopped: must fill (7)
  bool only_refused = false;  // the run knows every submission was refused, nothing recorded (4)
  std::vector<SeenReply> replies;
  int submissions = 0;  // of its own body
  int unanswered = 0;   // submissions whose reply never came (lost with a crash, or on the network)
};

struct Execution {
  int64_t ticket = 0;
  double volume = 0;
  int64_t at_us = 0;
};

struct FinalRecord {
  std::string state;  // FILLED, REJECTED, UNKNOWN, RESERVED, ABSENT, or what the run could not read
  int64_t ticket = 0;
  std::string code;
};

struct CheckOptions {
  // A reply other than the acknowledged outcome is allowed this long after the acknowledgement:
  // replies to several connections of one uuid may cross (the nemesis's clients); 0 where every
  // uuid has one connection, delivered in order (the simulation).
  int64_t ack_grace_us = 0;
  // PENDING is allowed after the acknowledgement and to a conflicting body (it says nothing
  // recorded, and the client asks again): on a shared guard a gateway answers PENDING at the
  // client's deadline while the request's reservation statement still waits on an unreachable
  // database, not knowing yet whether the record exists or whose body it holds. Off where the
  // record is always local and read at once (RocksDB, the simulation).
  bool pending_at_reservation_deadline = false;
};

struct CheckCounts {
  uint64_t orders = 0, executed = 0, duplicates = 0, acknowledged = 0, unknown_seen = 0,
           unknown_resolved = 0, filled = 0, rejected = 0, absent = 0, unresolved = 0,
           refused_only = 0, conflicts = 0, liveness = 0;
};

// The violations (empty: the history passes), each "uuid: what". A uuid missing from `finals` has
// no record (ABSENT).
std::vector<std::string> CheckHistory(const std::map<std::string, OrderHistory>& orders,
                                      const std::map<std::string, std::vector<Execution>>& journal,
                                      const std::map<std::string, FinalRecord>& finals,
                                      const CheckOptions& options, CheckCounts* counts);

}  // namespace ordergate::check

#endif  // ORDERGATE_TESTS_RELIABILITY_HISTORY_CHECK_H_
