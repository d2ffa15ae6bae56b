// The idempotency record and the one table of legal state transitions.
//
// The guard stores opaque keys (the gateway composes them from client identity and uuid) and opaque
// outcomes (the reply bytes the gateway will replay). It knows nothing of orders, JSON or ZeroMQ.
//
//   using namespace ordergate::idempotency;
//   std::optional<RecordState> next = NextState(RecordState::kReserved,
//   RecordEvent::kOutcomeFilled);
//   // next == RecordState::kFilled
//
// Every state change in the store goes through NextState(); nothing else can move a record.
#ifndef ORDERGATE_IDEMPOTENCY_RECORD_H_
#define ORDERGATE_IDEMPOTENCY_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace ordergate::idempotency {

// kAbsent is "no record": the state before a reservation and after a release.
enum class RecordState : uint8_t {
  kAbsent = 0,
  kReserved = 1,  // durable reservation; the order may be at the bridge
  kFilled = 2,    // terminal: the bridge executed it; reply stored
  kRejected = 3,  // terminal: the bridge refused it; reply stored
  kUnknown = 4,   // the bridge did not answer in time, or the gateway died with it in flight
};

enum class RecordEvent : uint8_t {
  kReserve = 0,  // (absent) -> RESERVED, before anything is sent
  kOutcomeFilled =
      1,  // RESERVED|UNKNOWN -> FILLED (bridge reply, late reply, ORDER_STATUS, operator)
  kOutcomeRejected = 2,  // RESERVED|UNKNOWN -> REJECTED
  kBridgeTimedOut = 3,   // RESERVED -> UNKNOWN at bridge_timeout_ms
  kRecovered = 4,  // RESERVED -> UNKNOWN when the store opens (the process died with it in flight)
  kReleased = 5,   // RESERVED -> (absent): never sent (BRIDGE_DOWN, GATEWAY_BUSY)
};

struct Transition {
  RecordState from;
  RecordEvent event;
  RecordState to;
};

// The whole table, one row per legal transition; everything not listed is illegal.
inline constexpr Transition kTransitionTable[] = {
    {RecordState::kAbsent, RecordEvent::kReserve, RecordState::kReserved},
    {RecordState::kReserved, RecordEvent::kOutcomeFilled, RecordState::kFilled},
    {RecordState::kReserved, RecordEvent::kOutcomeRejected, RecordState::kRejected},
    {RecordState::kReserved, RecordEvent::kBridgeTimedOut, RecordState::kUnknown},
    {RecordState::kReserved, RecordEvent::kRecovered, RecordState::kUnknown},
    {RecordState::kReserved, RecordEvent::kReleased, RecordState::kAbsent},
    {RecordState::kUnknown, RecordEvent::kOutcomeFilled, RecordState::kFilled},
    {RecordState::kUnknown, RecordEvent::kOutcomeRejected, RecordState::kRejected},
};

// The state `event` moves `from` to, or nullopt when the table has no such row. Pure; thread-safe.
constexpr std::optional<RecordState> NextState(RecordState from, RecordEvent event) {
  for (const Transition& t : kTransitionTable) {
    if (t.from == from && t.event == event) return t.to;
  }
  return std::nullopt;
}

constexpr bool IsTerminal(RecordState s) {
  return s == RecordState::kFilled || s == RecordState::kRejected;
}

// "RESERVED", "FILLED", ... ; "ABSENT" for kAbsent.
absl::string_view StateName(RecordState s);

// One record as stored. `fingerprint` and `reply` are opaque bytes chosen by the caller.
struct Record {
  std::string key;
  RecordState state = RecordState::kAbsent;
  std::string fingerprint;
  std::string reply;            // empty until terminal (the caller may also store one on UNKNOWN)
  int64_t created_unix_ms = 0;  // when it was reserved
  int64_t updated_unix_ms = 0;  // last change; retention counts from here
};

}  // namespace ordergate::idempotency

#endif  // ORDERGATE_IDEMPOTENCY_RECORD_H_
