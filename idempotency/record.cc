#include "idempotency/record.h"

namespace ordergate::idempotency {

absl::string_view StateName(RecordState s) {
  switch (s) {
    case RecordState::kAbsent:
      return "ABSENT";
    case RecordState::kReserved:
      return "RESERVED";
    case RecordState::kFilled:
      return "FILLED";
    case RecordState::kRejected:
      return "REJECTED";
    case RecordState::kUnknown:
      return "UNKNOWN";
  }
  // Only reachable through a value cast from bad bytes; never index anything with it.
  return "INVALID";
}

}  // namespace ordergate::idempotency
