// The record value encoding of RocksDbStore (EncodeRecordValue / DecodeRecordValue in
// rocksdb_store.h), with the pieces the store and its compaction filter share. Internal to
// idempotency/; no rocksdb:: type appears here. Pure functions: thread-safe, never block.
#ifndef ORDERGATE_IDEMPOTENCY_RECORD_VALUE_H_
#define ORDERGATE_IDEMPOTENCY_RECORD_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "idempotency/record.h"

namespace ordergate::idempotency::internal {

// Value layout (little endian):
//   [u8 version][u8 state][i64 created_ms][i64 updated_ms][u32 fp_len][fp][u32 reply_len][reply]
// The header sits at fixed offsets so the compaction filter reads state and age without a decode.
inline constexpr uint8_t kRecordVersion = 1;
inline constexpr size_t kStateOffset = 1;
inline constexpr size_t kCreatedOffset = 2;
inline constexpr size_t kUpdatedOffset = 10;
inline constexpr size_t kHeaderSize = 18;

// A little-endian i64 at `p` (8 readable bytes). Inline: the compaction filter reads one per key.
inline int64_t GetI64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<uint8_t>(p[i])) << (8 * i);
  return static_cast<int64_t>(v);
}

// A state byte that a stored record may hold (RESERVED .. UNKNOWN; not kAbsent).
inline bool IsStoredState(uint8_t s) {
  return s >= static_cast<uint8_t>(RecordState::kReserved) &&
         s <= static_cast<uint8_t>(RecordState::kUnknown);
}

inline bool IsInFlight(RecordState s) {
  return s == RecordState::kReserved || s == RecordState::kUnknown;
}

// Replaces `out` with the encoding of one record's parts.
void EncodeParts(RecordState state, int64_t created_ms, int64_t updated_ms,
                 absl::string_view fingerprint, absl::string_view reply, std::string* out);

// Decodes `value` into `out` (key set to `key`). Why a decode failed; nullptr on success. Strict:
// trailing bytes are rejected too, since they mean the value was not written by this encoder.
const char* DecodeInto(absl::string_view key, absl::string_view value, Record* out);

}  // namespace ordergate::idempotency::internal

#endif  // ORDERGATE_IDEMPOTENCY_RECORD_VALUE_H_
