// OrderLifecycle's transition table (gateway/order_lifecycle.h).
#include "gateway/order_lifecycle.h"

namespace ordergate::gateway {

std::optional<Phase> NextPhase(Phase from, LifecycleEvent event) {
  using E = LifecycleEvent;
  switch (from) {
    case Phase::kNew:
      if (event == E::kAdmitted) return Phase::kReserving;
      if (event == E::kRecoveredUnknown) return Phase::kUnknown;
      return std::nullopt;
    case Phase::kReserving:
      if (event == E::kSent) return Phase::kSent;
      if (event == E::kNotReserved || event == E::kReleased) return Phase::kDone;
      if (event == E::kReleaseFailed) return Phase::kUnknown;
      return std::nullopt;
    case Phase::kSent:
      if (event == E::kOutcomeLearned) return Phase::kSentSettling;
      return std::nullopt;
    case Phase::kSentSettling:
      if (event == E::kOutcomeRecorded || event == E::kOutcomeRefused) return Phase::kDone;
      if (event == E::kTimedOutRecorded) return Phase::kUnknown;
      return std::nullopt;
    case Phase::kUnknown:
      if (event == E::kOutcomeLearned) return Phase::kUnknownSettling;
      if (event == E::kResolvedByOperator) return Phase::kDone;
      return std::nullopt;
    case Phase::kUnknownSettling:
      if (event == E::kOutcomeRecorded || event == E::kOutcomeRefused) return Phase::kDone;
      return std::nullopt;
    case Phase::kDone:
      return std::nullopt;
  }
  return std::nullopt;
}

absl::string_view PhaseName(Phase p) {
  switch (p) {
    case Phase::kNew:
      return "NEW";
    case Phase::kReserving:
      return "RESERVING";
    case Phase::kSent:
      return "SENT";
    case Phase::kSentSettling:
      return "SENT_SETTLING";
    case Phase::kUnknown:
      return "UNKNOWN";
    case Phase::kUnknownSettling:
      return "UNKNOWN_SETTLING";
    case Phase::kDone:
      return "DONE";
  }
  return "?";
}

absl::string_view LifecycleEventName(LifecycleEvent e) {
  switch (e) {
    case LifecycleEvent::kAdmitted:
      return "Admitted";
    case LifecycleEvent::kRecoveredUnknown:
      return "RecoveredUnknown";
    case LifecycleEvent::kNotReserved:
      return "NotReserved";
    case LifecycleEvent::kSent:
      return "Sent";
    case LifecycleEvent::kReleased:
      return "Released";
    case LifecycleEvent::kReleaseFailed:
      return "ReleaseFailed";
    case LifecycleEvent::kOutcomeLearned:
      return "OutcomeLearned";
    case LifecycleEvent::kOutcomeRecorded:
      return "OutcomeRecorded";
    case LifecycleEvent::kTimedOutRecorded:
      return "TimedOutRecorded";
    case LifecycleEvent::kOutcomeRefused:
      return "OutcomeRefused";
    case LifecycleEvent::kResolvedByOperator:
      return "ResolvedByOperator";
  }
  return "?";
}

}  // namespace ordergate::gateway
