// Batch rules: what the pipeline does with each item of a store batch once the journal hands the
// batch back, as a plain function of what the item was for, whether the batch was written, and the
// store's result for its change. No socket, store, clock or log is touched here, so every rule is a
// row of a table test (tests/gateway/batch_rules_test.cc) and Gateway::Loop::FinishBatch only
// carries the verdict out (sends, answers, counts, audits).
//
//   const BatchVerdict v = JudgeBatchItem({.purpose = item.purpose, .batch_written = status.ok(),
//                                          .outcome = result.outcome,
//                                          .has_record = result.existing.has_value(),
//                                          .outcome_event = order->outcome_event});
//   if (v == BatchVerdict::kSend) { /* the one road to the bridge */ }
//
// The rules — the invariants live here:
//  1. the batch was not written (Store::Apply failed): nothing of it is durable. A reservation is
//     refused STORE_UNAVAILABLE and forgotten (nothing was sent: the uuid may be sent again); an
//     outcome is kept and written again later, its clients answered PENDING meanwhile — never
//     answered before it is durable;
//  2. a reservation applied: the order is sent. Nothing else sends: nothing reaches the bridge
//     before its reservation is durable;
//  3. a reservation that met a record (kExists): the uuid is spent; its waiters are answered from
//     that record (its outcome, or a conflict when their body differs). Not applied for any other
//     reason: refused STORE_UNAVAILABLE, nothing sent;
//  4. an outcome the store refused (its record moved on: another gateway settled it first on the
//     shared guard): the record's state is the answer, never this gateway's outcome;
//  5. an outcome applied: BRIDGE_TIMEOUT recorded makes the order UNKNOWN (answered so, asked about
//     later, never resent); FILLED or REJECTED recorded is answered and the order forgotten.
// Thread-safety: a pure function.
#ifndef ORDERGATE_GATEWAY_BATCH_RULES_H_
#define ORDERGATE_GATEWAY_BATCH_RULES_H_

#include <cstdint>

#include "idempotency/record.h"
#include "idempotency/store.h"

namespace ordergate::gateway {

// What one change in a store batch was for.
enum class BatchPurpose : uint8_t { kReserve, kOutcome };

enum class BatchVerdict : uint8_t {
  kSend,              // rule 2
  kAnswerFromRecord,  // rule 3: the uuid's record answers its waiters
  kRefuseUnreserved,  // rules 1 and 3: STORE_UNAVAILABLE, nothing sent, the order forgotten
  kWriteAgain,        // rule 1: the outcome is written again later; PENDING meanwhile
  kReplayRecord,      // rule 4: answered from the record the store holds (if any), forgotten
  kRecordedUnknown,   // rule 5: UNKNOWN recorded
  kRecordedOutcome,   // rule 5: FILLED / REJECTED recorded
};

struct BatchItemFacts {
  BatchPurpose purpose = BatchPurpose::kReserve;
  bool batch_written = false;  // Store::Apply returned OK for the whole batch
  idempotency::ChangeOutcome outcome = idempotency::ChangeOutcome::kApplied;  // this change's
  bool has_record = false;  // the store returned the record it holds (ChangeResult::existing)
  idempotency::RecordEvent outcome_event = idempotency::RecordEvent::kOutcomeFilled;  // kOutcome
};

inline BatchVerdict JudgeBatchItem(const BatchItemFacts& f) {
  using idempotency::ChangeOutcome;
  if (f.purpose == BatchPurpose::kReserve) {
    if (!f.batch_written) return BatchVerdict::kRefuseUnreserved;
    if (f.outcome == ChangeOutcome::kApplied) return BatchVerdict::kSend;
    if (f.outcome == ChangeOutcome::kExists && f.has_record) return BatchVerdict::kAnswerFromRecord;
    return BatchVerdict::kRefuseUnreserved;
  }
  if (!f.batch_written) return BatchVerdict::kWriteAgain;
  if (f.outcome != ChangeOutcome::kApplied) return BatchVerdict::kReplayRecord;
  if (f.outcome_event == idempotency::RecordEvent::kBridgeTimedOut) {
    return BatchVerdict::kRecordedUnknown;
  }
  return BatchVerdict::kRecordedOutcome;
}

}  // namespace ordergate::gateway

#endif  // ORDERGATE_GATEWAY_BATCH_RULES_H_
