// OrderLifecycle: what the pipeline still has to do for an order it holds in memory, as one
// transition table. The durable state lives in the store (idempotency/record.h has its own table:
// RESERVED, UNKNOWN, FILLED, REJECTED); this one tracks the pipeline's side of it — whether the
// reservation is still on its way to disk, whether the order is at the bridge, whether an outcome
// learned for it is being written — and counts the orders in each phase, so that "in flight" and
// "being reserved" are derived from the table rather than kept by hand at every call site.
//
//   OrderLifecycle life;
//   Phase p = Phase::kNew;
//   life.Move(&p, LifecycleEvent::kAdmitted);            // -> kReserving
//   life.Move(&p, LifecycleEvent::kSent);                // -> kSent (reservation was durable)
//   if (!life.Move(&p, LifecycleEvent::kSent)) { ... }   // false: no such row, nothing changed
//   life.in_flight();                                    // kReserving + kSent + kSentSettling
//
// Plain code, no clock, no I/O: tests/gateway/order_lifecycle_test.cc drives every row.
// Thread-safety: none; one owner (the pipeline thread).
#ifndef ORDERGATE_GATEWAY_ORDER_LIFECYCLE_H_
#define ORDERGATE_GATEWAY_ORDER_LIFECYCLE_H_

#include <array>
#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace ordergate::gateway {

enum class Phase : uint8_t {
  kNew = 0,          // not yet known to the pipeline (before admission or recovery)
  kReserving,        // its reservation is gathered or at the journal; nothing sent
  kSent,             // RESERVED and at the bridge (sent exactly once)
  kSentSettling,     // at the bridge, an outcome learned (FILLED, REJECTED, or UNKNOWN at its
                     // bridge deadline) and being written; the first outcome learned wins
  kUnknown,          // UNKNOWN: asked about (ORDER_STATUS) until a reply resolves it; never resent
  kUnknownSettling,  // UNKNOWN, a resolution learned and being written
  kDone,             // forgotten by the pipeline: terminal and answered, or never reserved
};
inline constexpr int kPhaseCount = 7;

enum class LifecycleEvent : uint8_t {
  kAdmitted,            // kNew -> kReserving: a reservation joins the batch being gathered
  kRecoveredUnknown,    // kNew -> kUnknown: the store listed it as in flight at start-up
  kNotReserved,         // kReserving -> kDone: the store refused (kExists) or failed the batch
  kSent,                // kReserving -> kSent: durable, then sent to the bridge
  kReleased,            // kReserving -> kDone: durable but could not be sent; reservation removed
  kReleaseFailed,       // kReserving -> kUnknown: could not be sent nor released: treat as UNKNOWN
  kOutcomeLearned,      // kSent -> kSentSettling, kUnknown -> kUnknownSettling
  kOutcomeRecorded,     // k*Settling -> kDone: FILLED or REJECTED is durable; answered
  kTimedOutRecorded,    // kSentSettling -> kUnknown: UNKNOWN at the bridge deadline is durable
  kOutcomeRefused,      // k*Settling -> kDone: the store's table refused it; its record answers
  kResolvedByOperator,  // kUnknown -> kDone: an operator's resolution is durable
};
inline constexpr int kLifecycleEventCount = 11;

// The one table: the phase after `event` in `from`, or nullopt when there is no such row.
std::optional<Phase> NextPhase(Phase from, LifecycleEvent event);

absl::string_view PhaseName(Phase p);
absl::string_view LifecycleEventName(LifecycleEvent e);

// An outcome is being written for an order in this phase.
inline bool IsSettling(Phase p) {
  return p == Phase::kSentSettling || p == Phase::kUnknownSettling;
}

// The order is UNKNOWN (its reply replayed to every resubmission), whether or not a resolution
// learned for it is being written.
inline bool IsUnknown(Phase p) { return p == Phase::kUnknown || p == Phase::kUnknownSettling; }

class OrderLifecycle {
 public:
  // Moves *phase by the table and keeps the counts; false (nothing changed) when there is no row.
  bool Move(Phase* phase, LifecycleEvent event) {
    const std::optional<Phase> next = NextPhase(*phase, event);
    if (!next) return false;
    --counts_[static_cast<int>(*phase)];
    ++counts_[static_cast<int>(*next)];
    *phase = *next;
    return true;
  }
  // Orders in `p` now. kNew and kDone count moves, not orders (they start at 0 and wrap).
  uint64_t count(Phase p) const { return counts_[static_cast<int>(p)]; }
  uint64_t reserving() const { return count(Phase::kReserving); }
  // Reserved or at the bridge, not yet UNKNOWN or terminal: what bridge_max_in_flight bounds.
  uint64_t in_flight() const {
    return count(Phase::kReserving) + count(Phase::kSent) + count(Phase::kSentSettling);
  }

 private:
  std::array<uint64_t, kPhaseCount> counts_{};
};

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_ORDER_LIFECYCLE_H_
