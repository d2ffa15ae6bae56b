// ApplyChangeTo (idempotency/store.h): one change under the store's rules, on a record in memory.
#include "idempotency/store.h"

namespace ordergate::idempotency {

ChangeResult ApplyChangeTo(const Change& c, int64_t now_unix_ms, Record* cur) {
  ChangeResult res;
  if (c.event == RecordEvent::kReserve && cur->state != RecordState::kAbsent) {
    res.outcome = ChangeOutcome::kExists;
    res.state_after = cur->state;
    res.existing = *cur;
    return res;
  }
  const std::optional<RecordState> next = NextState(cur->state, c.event);
  if (!next) {
    res.outcome = ChangeOutcome::kIllegal;
    res.state_after = cur->state;
    if (cur->state != RecordState::kAbsent) res.existing = *cur;
    return res;
  }
  if (*next == RecordState::kAbsent) {
    cur->state = RecordState::kAbsent;
    cur->fingerprint.clear();
    cur->reply.clear();
    cur->created_unix_ms = cur->updated_unix_ms = 0;
  } else {
    switch (c.event) {
      case RecordEvent::kReserve:
        cur->fingerprint.assign(c.fingerprint.data(), c.fingerprint.size());
        cur->reply.clear();
        cur->created_unix_ms = now_unix_ms;
        break;
      case RecordEvent::kOutcomeFilled:
      case RecordEvent::kOutcomeRejected:
      case RecordEvent::kBridgeTimedOut:  // an optional reply to replay while UNKNOWN
        cur->reply.assign(c.reply.data(), c.reply.size());
        break;
      case RecordEvent::kRecovered:
      case RecordEvent::kReleased:
        break;
    }
    cur->state = *next;
    cur->updated_unix_ms = now_unix_ms;
  }
  res.outcome = ChangeOutcome::kApplied;
  res.state_after = *next;
  return res;
}

}  // namespace ordergate::idempotency
