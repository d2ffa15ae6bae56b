#include "idempotency/record.h"

#include <catch2/catch.hpp>
#include <random>
#include <string>

#include "idempotency/rocksdb_store.h"
#include "test_util.h"

namespace ordergate::idempotency {
namespace {

using testing::kAllEvents;
using testing::kAllStates;
using testing::Str;

Record Sample() {
  Record r;
  r.key = std::string("client\0uuid-1", 13);
  r.state = RecordState::kFilled;
  r.fingerprint = std::string("fp\0\xff", 4);
  r.reply = R"({"status":"FILLED","ticket":42})";
  r.created_unix_ms = 1'700'000'000'123;
  r.updated_unix_ms = -5;  // any int64 round-trips, even a nonsensical one
  return r;
}

TEST_CASE("NextState answers exactly the rows of the transition table and nothing else",
          "[idempotency]") {
  for (RecordState from : kAllStates) {
    for (RecordEvent e : kAllEvents) {
      std::optional<RecordState> expected;
      for (const Transition& t : kTransitionTable) {
        if (t.from == from && t.event == e) expected = t.to;
      }
      CHECK(NextState(from, e) == expected);
    }
  }
  STATIC_REQUIRE(NextState(RecordState::kReserved, RecordEvent::kOutcomeFilled) ==
                 RecordState::kFilled);
  STATIC_REQUIRE(!NextState(RecordState::kFilled, RecordEvent::kOutcomeRejected).has_value());
}

TEST_CASE("only FILLED and REJECTED are terminal", "[idempotency]") {
  CHECK(IsTerminal(RecordState::kFilled));
  CHECK(IsTerminal(RecordState::kRejected));
  CHECK_FALSE(IsTerminal(RecordState::kAbsent));
  CHECK_FALSE(IsTerminal(RecordState::kReserved));
  CHECK_FALSE(IsTerminal(RecordState::kUnknown));
}

TEST_CASE("StateName gives the protocol name of every state", "[idempotency]") {
  CHECK(Str(StateName(RecordState::kAbsent)) == "ABSENT");
  CHECK(Str(StateName(RecordState::kReserved)) == "RESERVED");
  CHECK(Str(StateName(RecordState::kFilled)) == "FILLED");
  CHECK(Str(StateName(RecordState::kRejected)) == "REJECTED");
  CHECK(Str(StateName(RecordState::kUnknown)) == "UNKNOWN");
}

TEST_CASE("an encoded record decodes to the same record, binary bytes included", "[idempotency]") {
  const Record r = Sample();
  const std::string v = EncodeRecordValue(r);
  CHECK(v.size() == 1 + 1 + 8 + 8 + 4 + r.fingerprint.size() + 4 + r.reply.size());
  CHECK(static_cast<uint8_t>(v[0]) == 1);  // version
  CHECK(static_cast<uint8_t>(v[1]) == static_cast<uint8_t>(RecordState::kFilled));
  absl::StatusOr<Record> d = DecodeRecordValue(r.key, v);
  REQUIRE(d.ok());
  CHECK(testing::SameRecord(*d, r));

  Record empty;
  empty.key = "k";
  empty.state = RecordState::kReserved;
  absl::StatusOr<Record> e = DecodeRecordValue("k", EncodeRecordValue(empty));
  REQUIRE(e.ok());
  CHECK(testing::SameRecord(*e, empty));
}

TEST_CASE("DecodeRecordValue rejects every truncation and any trailing byte as data loss",
          "[idempotency]") {
  const std::string v = EncodeRecordValue(Sample());
  for (size_t n = 0; n < v.size(); ++n) {
    absl::StatusOr<Record> d = DecodeRecordValue("k", absl::string_view(v.data(), n));
    INFO("prefix length " << n);
    CHECK(d.status().code() == absl::StatusCode::kDataLoss);
  }
  CHECK(DecodeRecordValue("k", v + "x").status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("DecodeRecordValue rejects a bad version, a bad state and oversized lengths",
          "[idempotency]") {
  const std::string good = EncodeRecordValue(Sample());
  std::string bad_version = good;
  bad_version[0] = 2;
  CHECK(DecodeRecordValue("k", bad_version).status().code() == absl::StatusCode::kDataLoss);
  for (int state : {0, 5, 255}) {
    std::string bad_state = good;
    bad_state[1] = static_cast<char>(state);
    CHECK(DecodeRecordValue("k", bad_state).status().code() == absl::StatusCode::kDataLoss);
  }
  std::string huge_fp = good;
  for (int i = 0; i < 4; ++i) huge_fp[18 + i] = '\xff';
  CHECK(DecodeRecordValue("k", huge_fp).status().code() == absl::StatusCode::kDataLoss);
  std::string huge_reply = good;
  const size_t reply_len_at = 18 + 4 + Sample().fingerprint.size();
  for (int i = 0; i < 4; ++i) huge_reply[reply_len_at + i] = '\xff';
  CHECK(DecodeRecordValue("k", huge_reply).status().code() == absl::StatusCode::kDataLoss);
}

TEST_CASE("DecodeRecordValue on random garbage never crashes and never reads out of bounds",
          "[idempotency]") {
  std::mt19937 rng(12345);
  const std::string good = EncodeRecordValue(Sample());
  for (int i = 0; i < 20000; ++i) {
    std::string v;
    if (i % 2 == 0) {
      v.resize(rng() % 64);
      for (char& c : v) c = static_cast<char>(rng());
      if (!v.empty() && i % 4 == 0) v[0] = 1;  // get past the version check sometimes
    } else {
      v = good;  // mutate a valid value: flips in the length fields are the interesting case
      v[rng() % v.size()] = static_cast<char>(rng());
      v.resize(rng() % (v.size() + 1));
    }
    absl::StatusOr<Record> d = DecodeRecordValue("k", v);
    if (d.ok()) {
      CHECK(d->fingerprint.size() + d->reply.size() + 26 == v.size());
    } else {
      CHECK(d.status().code() == absl::StatusCode::kDataLoss);
    }
  }
}

}  // namespace
}  // namespace ordergate::idempotency
