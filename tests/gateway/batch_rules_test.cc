// Every rule of the batch rules (gateway/batch_rules.h): what becomes of each item of a store batch
// once the journal gives it back.
#include "gateway/batch_rules.h"

#include <catch2/catch.hpp>

namespace {

using ordergate::gateway::BatchItemFacts;
using ordergate::gateway::BatchPurpose;
using ordergate::gateway::BatchVerdict;
using ordergate::gateway::JudgeBatchItem;
using ordergate::idempotency::ChangeOutcome;
using ordergate::idempotency::RecordEvent;

BatchVerdict Reserve(bool written, ChangeOutcome outcome, bool has_record = false) {
  return JudgeBatchItem({.purpose = BatchPurpose::kReserve,
                         .batch_written = written,
                         .outcome = outcome,
                         .has_record = has_record});
}

BatchVerdict Outcome(bool written, ChangeOutcome outcome, RecordEvent event,
                     bool has_record = false) {
  return JudgeBatchItem({.purpose = BatchPurpose::kOutcome,
                         .batch_written = written,
                         .outcome = outcome,
                         .has_record = has_record,
                         .outcome_event = event});
}

}  // namespace

TEST_CASE(
    "a reservation of a batch that was not written is refused and nothing is sent, whatever "
    "its result says",
    "[batch_rules]") {
  for (ChangeOutcome o :
       {ChangeOutcome::kApplied, ChangeOutcome::kExists, ChangeOutcome::kIllegal}) {
    CHECK(Reserve(false, o) == BatchVerdict::kRefuseUnreserved);
    CHECK(Reserve(false, o, true) == BatchVerdict::kRefuseUnreserved);
  }
}

TEST_CASE("only an applied reservation of a written batch is sent", "[batch_rules]") {
  CHECK(Reserve(true, ChangeOutcome::kApplied) == BatchVerdict::kSend);
  // Every other fact about a reservation leads anywhere but the bridge.
  for (bool written : {false, true}) {
    for (ChangeOutcome o :
         {ChangeOutcome::kApplied, ChangeOutcome::kExists, ChangeOutcome::kIllegal}) {
      for (bool has_record : {false, true}) {
        if (written && o == ChangeOutcome::kApplied) continue;
        CHECK(Reserve(written, o, has_record) != BatchVerdict::kSend);
      }
    }
  }
  // No outcome is ever sent either.
  for (bool written : {false, true}) {
    for (ChangeOutcome o :
         {ChangeOutcome::kApplied, ChangeOutcome::kExists, ChangeOutcome::kIllegal}) {
      for (RecordEvent e : {RecordEvent::kOutcomeFilled, RecordEvent::kOutcomeRejected,
                            RecordEvent::kBridgeTimedOut}) {
        CHECK(Outcome(written, o, e, true) != BatchVerdict::kSend);
      }
    }
  }
}

TEST_CASE(
    "a reservation that met a record is answered from it; one refused for another reason "
    "gets STORE_UNAVAILABLE",
    "[batch_rules]") {
  CHECK(Reserve(true, ChangeOutcome::kExists, true) == BatchVerdict::kAnswerFromRecord);
  CHECK(Reserve(true, ChangeOutcome::kExists, false) == BatchVerdict::kRefuseUnreserved);
  CHECK(Reserve(true, ChangeOutcome::kIllegal, true) == BatchVerdict::kRefuseUnreserved);
  CHECK(Reserve(true, ChangeOutcome::kIllegal, false) == BatchVerdict::kRefuseUnreserved);
}

TEST_CASE("an outcome of a batch that was not written is written again, never answered",
          "[batch_rules]") {
  for (RecordEvent e :
       {RecordEvent::kOutcomeFilled, RecordEvent::kOutcomeRejected, RecordEvent::kBridgeTimedOut}) {
    CHECK(Outcome(false, ChangeOutcome::kApplied, e) == BatchVerdict::kWriteAgain);
    CHECK(Outcome(false, ChangeOutcome::kIllegal, e, true) == BatchVerdict::kWriteAgain);
  }
}

TEST_CASE(
    "an outcome the store refused is answered from the record it holds, never from this "
    "gateway's own outcome",
    "[batch_rules]") {
  for (RecordEvent e :
       {RecordEvent::kOutcomeFilled, RecordEvent::kOutcomeRejected, RecordEvent::kBridgeTimedOut}) {
    CHECK(Outcome(true, ChangeOutcome::kIllegal, e, true) == BatchVerdict::kReplayRecord);
    CHECK(Outcome(true, ChangeOutcome::kIllegal, e, false) == BatchVerdict::kReplayRecord);
    CHECK(Outcome(true, ChangeOutcome::kExists, e, true) == BatchVerdict::kReplayRecord);
  }
}

TEST_CASE("an applied outcome is UNKNOWN for a bridge timeout and final for FILLED or REJECTED",
          "[batch_rules]") {
  CHECK(Outcome(true, ChangeOutcome::kApplied, RecordEvent::kBridgeTimedOut) ==
        BatchVerdict::kRecordedUnknown);
  CHECK(Outcome(true, ChangeOutcome::kApplied, RecordEvent::kOutcomeFilled) ==
        BatchVerdict::kRecordedOutcome);
  CHECK(Outcome(true, ChangeOutcome::kApplied, RecordEvent::kOutcomeRejected) ==
        BatchVerdict::kRecordedOutcome);
}
